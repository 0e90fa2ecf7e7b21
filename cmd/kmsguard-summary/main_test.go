package main

import (
	"bytes"
	"strings"
	"testing"
)

const golden = "../../test/testdata/default.template.json"

func TestBriefSummaryLeavesOutOnlyTheTypeCounts(t *testing.T) {
	var full, brief, errb bytes.Buffer
	if code := run([]string{golden}, &full, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run([]string{"--brief", golden}, &brief, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(full.String(), "Resources by type:") || !strings.Contains(full.String(), "AWS::KMS::Key") {
		t.Fatalf("control: the full summary has no type counts:\n%s", full.String())
	}
	b := brief.String()
	if strings.Contains(b, "Resources by type:") || strings.Contains(b, "AWS::KMS::Key") {
		t.Errorf("--brief still lists types:\n%s", b)
	}
	for _, want := range []string{"resources would be deployed", "Master key", "Outputs:", "key-danger"} {
		if !strings.Contains(b, want) {
			t.Errorf("--brief lost %q:\n%s", want, b)
		}
	}
}

func TestSummaryOfAMissingFileFailsWithItsName(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"no-such.template.json"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no-such.template.json") {
		t.Fatalf("exit %d, %q", code, errb.String())
	}
}
