package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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

// TestAFleetIsSummarizedTemplateByTemplate: make synth of a fleet (docs/fleet.md) passes every template;
// each is summarized in the order given, and a missing one fails naming it (the control: it is not
// skipped). A member template, which emails nobody, does not claim an alert topic.
func TestAFleetIsSummarizedTemplateByTemplate(t *testing.T) {
	central := "../../test/testdata/fleet-Central-us-east-1.template.json"
	regional := "../../test/testdata/fleet-Regional.template.json"
	var out, errb bytes.Buffer
	if code := run([]string{"--brief", central, regional}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	c, r := strings.Index(s, "kmsguard fleet central stack (us-east-1)"), strings.Index(s, "kmsguard fleet member (StackSet KmsGuard-Regional)")
	if c < 0 || r < c || !strings.Contains(s[:r], "Alert topic with 2 email subscription(s)") {
		t.Errorf("central then regional expected:\n%s", s)
	}
	if strings.Contains(s[r:], "Alert topic") || !strings.Contains(s[r:], "No alert topic (the rules forward to the security account); 1 alarm(s)") {
		t.Errorf("the member template's alert line:\n%s", s[r:])
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"--brief", central, "no-such.template.json"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no-such.template.json") {
		t.Errorf("a missing second template: exit %d, %q", code, errb.String())
	}
}

// TestDiffExitsOneExactlyWhenProtectionGetsWeaker: --diff exits 0 when nothing got weaker, 1 when something
// did (and names it in every format), 2 for bad usage; the golden compared with itself is the control.
func TestDiffExitsOneExactlyWhenProtectionGetsWeaker(t *testing.T) {
	hardened := "../../test/testdata/hardened.template.json"
	var out, errb bytes.Buffer
	if code := run([]string{"--diff", golden, golden}, &out, &errb); code != 0 || !strings.Contains(out.String(), "no security-relevant change") {
		t.Fatalf("control, the same template: exit %d\n%s%s", code, out.String(), errb.String())
	}
	// hardened → default: the MFA requirement and the network restriction go, key-use alerts come back.
	for _, format := range []string{"", "--markdown", "--json"} {
		out.Reset()
		errb.Reset()
		args := []string{"--diff", hardened, golden}
		if format != "" {
			args = append([]string{format}, args...)
		}
		code := run(args, &out, &errb)
		o := out.String()
		if code != 1 || !strings.Contains(o, "mariadb-prod") || errb.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q\n%s", format, code, errb.String(), o)
		}
		switch format {
		case "":
			if !strings.Contains(o, "PROTECTION WEAKER") || !strings.Contains(o, "! [key policies] ") {
				t.Errorf("text:\n%s", o)
			}
		case "--markdown":
			if !strings.Contains(o, "**Protection gets weaker:") || !strings.Contains(o, "- **") {
				t.Errorf("markdown:\n%s", o)
			}
		case "--json":
			var doc struct {
				Weaker   bool
				Findings []struct{ Weaker bool }
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil || !doc.Weaker || len(doc.Findings) == 0 || !doc.Findings[0].Weaker {
				t.Errorf("json: %v\n%s", err, o)
			}
		}
	}
}

// TestDiffBadUsageExitsTwoAndSaysWhy: a wrong number of files, a format without --diff, two formats, a
// missing file or a file that is not a kmsguard template exit 2 with the reason on stderr and nothing on
// stdout.
func TestDiffBadUsageExitsTwoAndSaysWhy(t *testing.T) {
	notTemplate := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notTemplate, []byte(`{"Resources": {}}`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--diff", golden}, "wants two template files"},
		{[]string{"--markdown", golden}, "go with --diff"},
		{[]string{"--diff", "--markdown", "--json", golden, golden}, "choose one"},
		{[]string{"--diff", golden, "no-such.template.json"}, "no-such.template.json"},
		{[]string{"--diff", golden, notTemplate}, "not a kmsguard template"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out.String(), errb.String(), c.want)
		}
	}
}
