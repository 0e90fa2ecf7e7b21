package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kmsguard/kmsguard/internal/testmoto"
)

func TestMain(m *testing.M) {
	testmoto.Main(m)
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// trailBucket makes bucket on moto's S3 with objects (key → uncompressed body, stored gzipped) and points
// this test's environment at moto, as an operator's AWS_ENDPOINT_URL would.
func trailBucket(t *testing.T, bucket string, objects map[string]string) {
	t.Helper()
	endpoint := testmoto.Endpoint(t)
	client := s3.NewFromConfig(testmoto.Config(t, endpoint), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for key, body := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(gzipped(body))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range testmoto.Env(t, endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestReplayReadsATrailBucketWithFilters(t *testing.T) {
	rec := func(day string) string {
		return `{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":"2024-05-` + day + `T10:00:00Z","recipientAccountId":"111122223333","awsRegion":"eu-west-1","resources":[{"ARN":"` + keyARN + `"}]}]}`
	}
	trailBucket(t, "cmd-trail", map[string]string{
		"AWSLogs/o-org1/111122223333/CloudTrail/eu-west-1/2024/05/01/a.json.gz":                                       rec("01"),
		"AWSLogs/o-org1/111122223333/CloudTrail/eu-west-1/2024/05/02/b.json.gz":                                       rec("02"),
		"AWSLogs/o-org1/111122223333/CloudTrail-Digest/eu-west-1/2024/05/02/111122223333_CloudTrail-Digest_x.json.gz": `{}`,
	})
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	var out, errb bytes.Buffer
	code := run([]string{"s3://cmd-trail/", "--from", "2024-05-02", "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", "--show"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"2024-05-02T10:00:00Z\tkey-danger", "Read 1 records from 1 inputs", "1 CloudTrail digest files skipped", "111122223333 eu-west-1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "2024-05-01T") {
		t.Errorf("--from did not exclude May 1:\n%s", out.String())
	}
}

func TestBucketFlagErrorsNameTheFlag(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	base := []string{"--template", tpl, "--key-arn", keyARN}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"s3://b/", "--from", "May 1"}, `--from "May 1": want a day as YYYY-MM-DD`},
		{[]string{"s3://b/", "--from", "2024-05-02", "--to", "2024-05-01"}, "--to 2024-05-01 is before --from 2024-05-02"},
		{[]string{"s3://b/", "--accounts", "1234"}, `--accounts: "1234" is not a 12-digit account id`},
		{[]string{"logs/", "--regions", "eu-west-1"}, "--regions applies to s3:// inputs only"},
		{[]string{"logs/", "--regions", "eu-west-1", "--accounts", "111122223333", "--from", "2024-05-01"},
			"--accounts, --from, --regions apply to s3:// inputs only"},
		{[]string{"s3://", "--regions", "eu-west-1"}, "want s3://BUCKET"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		if code := run(append(c.args, base...), nil, &o, &e); code != 2 || !strings.Contains(e.String(), c.msg) {
			t.Errorf("run(%q) = %d, stderr %q; want 2 with %q", c.args, code, e.String(), c.msg)
		}
	}
}

func TestInterruptPrintsThePartialSummary(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	logs := filepath.Join(t.TempDir(), "logs.json")
	os.WriteFile(logs, []byte(`{"eventName":"A"}`), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came before the first file
	var out, errb bytes.Buffer
	code := runContext(ctx, []string{"--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", logs}, nil, &out, &errb)
	if code != 130 || !strings.Contains(out.String(), "Read 0 records") || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("exit %d\nout %s\nerr %s", code, out.String(), errb.String())
	}
}
