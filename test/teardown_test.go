package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kmsguard/kmsguard/internal/motoserver"
	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// kept names what real AWS keeps after `cdk destroy` (docs/teardown.md).
type kept struct {
	keys     []string // master, audit, and each alert destination's
	alias    string
	buckets  []string // the trail bucket, the access-log bucket
	logGroup string
	s3       *s3.Client
	kms      *kms.Client
	logs     *cloudwatchlogs.Client
}

// keptSetup creates on moto what real AWS keeps after `cdk destroy` (moto's own stack deletion removes
// everything, so the resources are made directly): the four keys (master, audit, and each alert
// destination's) with the alias, the trail bucket (versioned, Object Lock governance retention, SSE-KMS,
// server access logging) with locked log files and a delete marker, the access-log bucket with access logs,
// and the KMS-encrypted log group. It writes dir/kmsguard-kept.env as step 1 of docs/teardown.md does.
// The set-up and the check (kept.check) call the AWS SDK in this process; only the documented block runs
// the AWS CLI, as a user would (each CLI call is a Python process of about a CPU-second: docs/checks.md,
// "Test time").
func keptSetup(t *testing.T, endpoint, dir string) *kept {
	t.Helper()
	ctx := context.Background()
	cfg := testmoto.Config(t, endpoint)
	k := &kept{
		alias:    "alias/mariadb-encryption",
		buckets:  []string{"kmsguard-auditttrailbucket-abc123", "kmsguard-audittrailaccesslogbucket-def456"},
		logGroup: "/kmsguard/cloudtrail/mariadb-encryption-key/0a1b2c3d-1111-2222-3333-444455556666",
		s3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		kms:      kms.NewFromConfig(cfg),
		logs:     cloudwatchlogs.NewFromConfig(cfg),
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating the kept resources: %s: %v", what, err)
		}
	}
	for range 4 {
		out, err := k.kms.CreateKey(ctx, &kms.CreateKeyInput{})
		must("kms create-key", err)
		k.keys = append(k.keys, *out.KeyMetadata.KeyId)
	}
	master, audit := k.keys[0], k.keys[1]
	trail, access := k.buckets[0], k.buckets[1]
	_, err := k.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(k.alias), TargetKeyId: aws.String(master)})
	must("kms create-alias", err)
	_, err = k.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(access)})
	must("create the access-log bucket", err)
	_, err = k.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(access),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	must("put-bucket-versioning", err)
	// The stack's access-log bucket policy is deleted by cdk destroy; moto needs one to accept the logging set-up.
	_, err = k.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(access), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},` +
			`"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + access + `/*"}]}`)})
	must("put-bucket-policy", err)
	_, err = k.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(trail), ObjectLockEnabledForBucket: aws.Bool(true)})
	must("create the trail bucket", err)
	_, err = k.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(trail),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(365)}}}})
	must("put-object-lock-configuration", err)
	_, err = k.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(trail),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(audit)},
			BucketKeyEnabled:                   aws.Bool(true)}}}})
	must("put-bucket-encryption", err)
	_, err = k.s3.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: aws.String(trail),
		BucketLoggingStatus: &s3types.BucketLoggingStatus{LoggingEnabled: &s3types.LoggingEnabled{TargetBucket: aws.String(access), TargetPrefix: aws.String("trail-bucket/")}}})
	must("put-bucket-logging", err)
	for i := 1; i <= 3; i++ {
		_, err = k.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(trail),
			Key: aws.String(fmt.Sprintf("AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/0%d/log%d.json.gz", i, i)), Body: strings.NewReader(`{"Records":[]}` + "\n"),
			ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}) // Object Lock needs a checksum or Content-MD5
		must("put a log file", err)
		_, err = k.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(access),
			Key: aws.String(fmt.Sprintf("trail-bucket/2026-01-0%d-access", i)), Body: strings.NewReader(`{"Records":[]}` + "\n")})
		must("put an access log", err)
	}
	_, err = k.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(trail), Key: aws.String("AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/01/log1.json.gz")})
	must("delete-object (a delete marker)", err)
	_, err = k.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(k.logGroup),
		KmsKeyId: aws.String("arn:aws:kms:" + testmoto.Region + ":123456789012:key/" + audit)})
	must("create-log-group", err)
	_, err = k.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(k.logGroup), RetentionInDays: aws.Int32(365)})
	must("put-retention-policy", err)
	env := fmt.Sprintf("KEYS=%q\nALIAS=%q\nBUCKETS=%q\nLOG_GROUP=%q\n", strings.Join(k.keys, " "), k.alias, strings.Join(k.buckets, " "), k.logGroup)
	if err := os.WriteFile(filepath.Join(dir, "kmsguard-kept.env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// check prints one line per kmsguard resource still there, except the keys in PendingDeletion (which
// docs/teardown.md says must wait), and one "waiting" line per key.
func (k *kept) check(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	buckets, err := k.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets.Buckets {
		if slices.Contains(k.buckets, *b.Name) {
			fmt.Fprintf(&out, "left: bucket %s\n", *b.Name)
		}
	}
	groups, err := k.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(k.logGroup)})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.LogGroups {
		if *g.LogGroupName == k.logGroup {
			fmt.Fprintf(&out, "left: log group %s\n", *g.LogGroupName)
		}
	}
	aliases, err := k.kms.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aliases.Aliases {
		if *a.AliasName == k.alias {
			fmt.Fprintf(&out, "left: alias %s\n", *a.AliasName)
		}
	}
	for _, key := range k.keys {
		d, err := k.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if st := d.KeyMetadata.KeyState; st == kmstypes.KeyStatePendingDeletion {
			fmt.Fprintf(&out, "waiting: key %s\n", key)
		} else {
			fmt.Fprintf(&out, "left: key %s (%s)\n", key, st)
		}
	}
	return out.String()
}

// teardownBlock is the "# teardown: after cdk destroy" shell block of docs/teardown.md.
func teardownBlock(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "teardown.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "```sh\n# teardown: after cdk destroy\n")
	if !ok {
		t.Fatal("docs/teardown.md has no ```sh block starting with '# teardown: after cdk destroy'")
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("docs/teardown.md: the teardown block is not closed")
	}
	return block
}

// forMoto removes the one documented command moto 5.2.1 does not implement (PutLogGroupDeletionProtection;
// moto does not enforce deletion protection either, so the delete that follows still runs). Everything
// else runs exactly as written.
func forMoto(t *testing.T, block string) string {
	t.Helper()
	var out []string
	removed := 0
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "aws logs put-log-group-deletion-protection ") {
			removed++
			continue
		}
		out = append(out, line)
	}
	if removed != 1 {
		t.Fatalf("expected exactly one put-log-group-deletion-protection command in the teardown block, found %d", removed)
	}
	return strings.Join(out, "\n")
}

func runShell(t *testing.T, dir string, env []string, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		err = errors.New(err.Error() + ": " + stderr.String())
	}
	return out.String(), err
}

// TestTeardownRemovesEverythingButWhatMustWait runs docs/teardown.md's cleanup on moto against the
// resources as AWS keeps them, and expects nothing of kmsguard's left but the keys in PendingDeletion.
// The control runs the same block without --bypass-governance-retention: the Object-Locked trail bucket
// then survives, and the check must say so.
func TestTeardownRemovesEverythingButWhatMustWait(t *testing.T) {
	// Parallel: the cleanup is a long run of AWS CLI calls against moto servers of its own, and nothing
	// else in this package touches them; it overlaps with the in-process synths, which mostly wait on the
	// CDK's process.
	t.Parallel()
	if testing.Short() {
		t.Skip("moto teardown skipped with -short")
	}
	for _, tool := range []string{"moto_server", "aws"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not on PATH and CI=true", tool)
			}
			t.Skipf("%s not on PATH; CI=true makes this a failure", tool)
		}
	}
	block := forMoto(t, teardownBlock(t))
	if !strings.Contains(block, "--bypass-governance-retention") {
		t.Fatal("the teardown block no longer bypasses governance retention; update the control below")
	}
	for _, tc := range []struct {
		name, script, want string
	}{
		{"documented cleanup", block, ""},
		{"control: without bypassing governance retention", strings.ReplaceAll(block, " --bypass-governance-retention", ""),
			"left: bucket kmsguard-auditttrailbucket-abc123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own moto server; a port taken in between is retried on another
			srv, err := motoserver.Start(motoserver.Options{ReadyTimeout: 60 * time.Second, Attempts: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			dir := t.TempDir()
			// Path-style S3 addressing for an endpoint on 127.0.0.1; a later entry wins over testmoto.Env's.
			cfg := filepath.Join(dir, "aws-config")
			if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			env := append(testmoto.Env(t, srv.Endpoint()), "AWS_DEFAULT_REGION="+testmoto.Region, "AWS_CONFIG_FILE="+cfg)
			k := keptSetup(t, srv.Endpoint(), dir)
			if out := k.check(t); strings.Count(out, "left: ") != 8 {
				t.Fatalf("setup: want 8 kept resources (2 buckets, the log group, the alias, 4 keys), got:\n%s", out)
			}
			out, runErr := runShell(t, dir, env, "set -e\n"+tc.script)
			left := k.check(t)
			if tc.want == "" {
				if runErr != nil {
					t.Fatalf("the documented cleanup failed: %v\n%s", runErr, out)
				}
				if strings.Contains(left, "left: ") || strings.Count(left, "waiting: key ") != 4 {
					t.Errorf("after the documented cleanup, want only the four keys waiting, got:\n%s", left)
				}
				return
			}
			if !strings.Contains(left, tc.want) {
				t.Errorf("the control was not caught: want %q, got:\n%s (cleanup: %v)", tc.want, left, runErr)
			}
		})
	}
}
