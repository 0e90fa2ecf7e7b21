package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsguard/kmsguard/internal/motoserver"
	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// keptSetup creates on moto what real AWS keeps after `cdk destroy` (moto's own stack deletion removes
// everything, so the resources are made directly): the four keys (master, audit, and each alert destination's) with the alias, the trail bucket
// (versioned, Object Lock governance retention, SSE-KMS, server access logging) with locked log files and a
// delete marker, the access-log bucket with access logs, and the KMS-encrypted log group. It writes
// kmsguard-kept.env as step 1 of docs/teardown.md does.
const keptSetup = `set -e
k() { aws kms create-key --query KeyMetadata.KeyId --output text; }
MASTER=$(k); AUDIT=$(k); TOPIC=$(k); SECURITY_TOPIC=$(k)
aws kms create-alias --alias-name alias/mariadb-encryption --target-key-id "$MASTER"
TRAIL=kmsguard-auditttrailbucket-abc123; ACCESS=kmsguard-audittrailaccesslogbucket-def456
aws s3api create-bucket --bucket "$ACCESS" > /dev/null
aws s3api put-bucket-versioning --bucket "$ACCESS" --versioning-configuration Status=Enabled
# (the stack's access-log bucket policy is deleted by cdk destroy; moto needs one to accept the logging setup)
aws s3api put-bucket-policy --bucket "$ACCESS" --policy \
  "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"logging.s3.amazonaws.com\"},\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::$ACCESS/*\"}]}"
aws s3api create-bucket --bucket "$TRAIL" --object-lock-enabled-for-bucket > /dev/null
aws s3api put-object-lock-configuration --bucket "$TRAIL" --object-lock-configuration \
  '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":365}}}'
aws s3api put-bucket-encryption --bucket "$TRAIL" --server-side-encryption-configuration \
  "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$AUDIT\"},\"BucketKeyEnabled\":true}]}"
aws s3api put-bucket-logging --bucket "$TRAIL" --bucket-logging-status \
  "{\"LoggingEnabled\":{\"TargetBucket\":\"$ACCESS\",\"TargetPrefix\":\"trail-bucket/\"}}"
for i in 1 2 3; do
  echo '{"Records":[]}' > /tmp/kmsguard-teardown-$$.json
  aws s3api put-object --bucket "$TRAIL" --key "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/0$i/log$i.json.gz" --body /tmp/kmsguard-teardown-$$.json > /dev/null
  aws s3api put-object --bucket "$ACCESS" --key "trail-bucket/2026-01-0$i-access" --body /tmp/kmsguard-teardown-$$.json > /dev/null
done
aws s3api delete-object --bucket "$TRAIL" --key AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/01/log1.json.gz > /dev/null
rm -f /tmp/kmsguard-teardown-$$.json
LOG_GROUP=/kmsguard/cloudtrail/mariadb-encryption-key/0a1b2c3d-1111-2222-3333-444455556666
aws logs create-log-group --log-group-name "$LOG_GROUP" --kms-key-id "arn:aws:kms:us-east-1:123456789012:key/$AUDIT"
aws logs put-retention-policy --log-group-name "$LOG_GROUP" --retention-in-days 365
printf 'KEYS="%s"\nALIAS="%s"\nBUCKETS="%s"\nLOG_GROUP="%s"\n' "$MASTER $AUDIT $TOPIC $SECURITY_TOPIC" alias/mariadb-encryption "$TRAIL $ACCESS" "$LOG_GROUP" > kmsguard-kept.env
`

// keptCheck prints one line per kmsguard resource still there, except the keys in PendingDeletion (which
// docs/teardown.md says must wait), and one "waiting" line per key.
const keptCheck = `set -e
. ./kmsguard-kept.env
for b in $(aws s3api list-buckets --query 'Buckets[].Name' --output text); do
  case " $BUCKETS " in *" $b "*) echo "left: bucket $b";; esac
done
for g in $(aws logs describe-log-groups --query 'logGroups[].logGroupName' --output text); do
  [ "$g" = "$LOG_GROUP" ] && echo "left: log group $g"
done
for a in $(aws kms list-aliases --query 'Aliases[].AliasName' --output text); do
  [ "$a" = "$ALIAS" ] && echo "left: alias $a"
done
for key in $KEYS; do
  state=$(aws kms describe-key --key-id "$key" --query KeyMetadata.KeyState --output text)
  if [ "$state" = PendingDeletion ]; then echo "waiting: key $key"; else echo "left: key $key ($state)"; fi
done
true
`

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
			if out, err := runShell(t, dir, env, keptSetup); err != nil {
				t.Fatalf("creating the kept resources: %v\n%s", err, out)
			}
			if out, _ := runShell(t, dir, env, keptCheck); strings.Count(out, "left: ") != 8 {
				t.Fatalf("setup: want 8 kept resources (2 buckets, the log group, the alias, 4 keys), got:\n%s", out)
			}
			out, runErr := runShell(t, dir, env, "set -e\n"+tc.script)
			left, err := runShell(t, dir, env, keptCheck)
			if err != nil {
				t.Fatal(err)
			}
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
