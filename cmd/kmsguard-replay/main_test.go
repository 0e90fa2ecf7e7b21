package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const keyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func TestRun(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs.json")
	os.WriteFile(logs, []byte(`{"Records":[{"eventType":"AwsApiCall","eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":"T","userIdentity":{"arn":"arn:admin"},"resources":[{"ARN":"`+keyARN+`"}]}]}`), 0o644)

	var out, errb bytes.Buffer
	code := run([]string{"--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=arn:topic", "--json", "--show", logs}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	first, rest, _ := strings.Cut(out.String(), "\n")
	if first != "T\tkey-danger\tDisableKey\tarn:admin\t-\t-" {
		t.Errorf("show line %q", first)
	}
	var sum struct{ Records int }
	if err := json.Unmarshal([]byte(rest), &sum); err != nil || sum.Records != 1 {
		t.Errorf("json summary %q: %v", rest, err)
	}

	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{logs}, 2, "--template is required"},
		{[]string{"--template", tpl, "--key-arn", "bad", logs}, 2, "--key-arn"},
		{[]string{"--template", tpl, "--key-arn", keyARN}, 2, "no CloudTrail input"},
		{[]string{"--template", tpl, "--key-arn", keyARN, "--resolve", "x", logs}, 2, "--resolve"},
		{[]string{"--template", filepath.Join(dir, "nope"), logs}, 2, "--template"},
		{[]string{"--template", tpl, "--key-arn", keyARN, filepath.Join(dir, "missing")}, 1, "no input could be read"},
		{[]string{"--template", tpl, logs}, 0, "warning: rule KeyDangerRule: cannot resolve MasterKey.Arn (pass --key-arn)"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		if got := run(c.args, strings.NewReader(""), &o, &e); got != c.code || !strings.Contains(e.String(), c.msg) {
			t.Errorf("run(%q) = %d, stderr %q; want %d containing %q", c.args, got, e.String(), c.code, c.msg)
		}
	}
}

func TestRunStdin(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	var out, errb bytes.Buffer
	in := strings.NewReader(`{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","readOnly":true,"resources":[{"ARN":"` + keyARN + `"}]}` + "\n{bad\n")
	code := run([]string{"--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", "-"}, in, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "tier key-use: 1 events would alert") || !strings.Contains(errb.String(), "<stdin>:2:") {
		t.Errorf("exit %d\nout %s\nerr %s", code, out.String(), errb.String())
	}
}

func TestFlagsAreAcceptedAfterPaths(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs.json")
	os.WriteFile(logs, []byte(`{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":"T","userIdentity":{"arn":"arn:admin"},"resources":[{"ARN":"`+keyARN+`"}]}]}`), 0o644)
	dash := filepath.Join(dir, "-odd.json")
	os.WriteFile(dash, []byte(`{"eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":"U","resources":[{"ARN":"`+keyARN+`"}]}`), 0o644)

	var out, errb bytes.Buffer
	code := run([]string{logs, "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", "--show", "--", dash}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Both files are read (the one after "--" too) and --show, given after the first path, took effect.
	if !strings.Contains(out.String(), "T\tkey-danger\tDisableKey") || !strings.Contains(out.String(), "U\tkey-danger\tDisableKey") {
		t.Errorf("stdout %q", out.String())
	}
	if !strings.Contains(out.String(), "Read 2 records from 2 inputs") {
		t.Errorf("summary %q", out.String())
	}
}

func TestHelpExitsZeroAndBadFlagsExitTwoWithUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"logs/", "--help"}} {
		var o, e bytes.Buffer
		if code := run(args, nil, &o, &e); code != 0 || !strings.Contains(o.String(), "usage: kmsguard-replay") || e.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 0 with the usage on stdout", args, code, o.String(), e.String())
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"logs/", "--no-such-flag"}, nil, &o, &e); code != 2 || !strings.Contains(e.String(), "no-such-flag") || !strings.Contains(e.String(), "usage: kmsguard-replay") {
		t.Errorf("bad flag: exit %d, stderr %q", code, e.String())
	}
}

// TestEmitAthenaPrintsTheTableAndOneQueryPerTier: --emit athena prints the
// CREATE TABLE statement for the trail's layout and one query per tier of
// the template, with the values --outputs, --resolve and --key-arn supply.
func TestEmitAthenaPrintsTheTableAndOneQueryPerTier(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	base := []string{"--emit", "athena", "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=arn:aws:sns:eu-west-1:111122223333:alerts", "--from", "2025-05-01"}
	var out, errb bytes.Buffer
	if code := run(append(base, "s3://trail-bucket/prod"), nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS kmsguard_cloudtrail (",
		"LOCATION 's3://trail-bucket/prod/AWSLogs/'",
		"'projection.account.values'='111122223333'", // from --key-arn
		"'projection.region.values'='eu-west-1'",
		"-- tier key-danger:", "-- tier key-use:", "-- tier denied:", "-- tier TamperRule:",
		"'arn:aws:sns:eu-west-1:111122223333:alerts'",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "\nSELECT "); n != 4 {
		t.Errorf("%d queries, want one per tier (4)", n)
	}

	out.Reset()
	errb.Reset()
	org := append(slices.Clone(base), "--org", "o-a1b2c3d4e5", "--accounts", "111122223333,444455556666", "--regions", "eu-west-1,us-east-1", "--to", "2025-05-31", "--table", "ct_org", "s3://trail-bucket")
	if code := run(org, nil, &out, &errb); code != 0 {
		t.Fatalf("org: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS ct_org (",
		"'storage.location.template'='s3://trail-bucket/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${timestamp}'",
		"'projection.account.values'='111122223333,444455556666'",
		"'projection.timestamp.range'='2025/05/01,2025/05/31'",
		`"timestamp" BETWEEN '2025/05/01' AND '2025/05/31'`,
		"FROM ct_org",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("org: output lacks %q", want)
		}
	}
}

// TestEmitAthenaRefusesWhatWouldGiveAWrongQuery: unknown pattern values, a
// missing or local path, a bad organization id, flags that do nothing and
// an unknown output are errors (exit 2) naming the flag, with nothing on
// stdout.
func TestEmitAthenaRefusesWhatWouldGiveAWrongQuery(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	ok := []string{"--emit", "athena", "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", "--from", "2025-05-01"}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--emit", "athena", "--template", tpl, "--key-arn", keyARN, "--from", "2025-05-01", "s3://b-1/p"}, "1 pattern values are unknown and would silently match nothing in the queries:\n  rule TamperRule: cannot resolve AlertTopic"},
		{append(slices.Clone(ok), "logs/"), "--from applies to s3:// inputs only"},
		{append(slices.Clone(ok), "s3://b-1/p", "s3://b-2/p"), "give the trail bucket as one s3://BUCKET/PREFIX"},
		{append(slices.Clone(ok), "--org", "o-x", "s3://b-1/p"), `organization id "o-x"`},
		{append(slices.Clone(ok), "--show", "s3://b-1/p"), "--show does nothing with --emit athena"},
		{[]string{"--emit", "csv", "--template", tpl, "s3://b-1/p"}, `--emit "csv": the only output is athena`},
		{[]string{"--template", tpl, "--org", "o-a1b2c3d4e5", "logs/"}, "--org applies to --emit athena only"},
		{[]string{"--emit", "athena", "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x", "s3://b-1/p"}, "from: give the first day"},
	} {
		var o, e bytes.Buffer
		if code := run(c.args, nil, &o, &e); code != 2 || !strings.Contains(e.String(), c.msg) || o.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %d bytes, stderr %q; want 2 containing %q", c.args, code, o.Len(), e.String(), c.msg)
		}
	}
}
