package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// cfnLintIgnored are the cfn-lint checks this project accepts, each with its reason; every other error,
// warning and informational check runs. An entry here must also be listed in docs/checks.md
// (TestCfnLintIgnoresDocumented).
var cfnLintIgnored = map[string]string{
	"I1022": "informational style hint (prefer Fn::Sub over Fn::Join with an empty delimiter): the CDK renders every " +
		"string that mixes text and tokens (partition, account, region, GetAtt) as Fn::Join with \"\"; both evaluate " +
		"to the same string, and the template is generated, not hand-written",
}

// requireTool finds a third-party checker on PATH. In CI (CI=true) a missing tool fails the build, so a
// green CI always means the check ran; on a developer machine without it the test is skipped, loudly.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found on PATH and CI=true: %s", name, install)
		}
		t.Skipf("%s not found on PATH (%s); CI=true makes this a failure", name, install)
	}
	return p
}

type cfnLintMatch struct {
	Rule struct {
		ID          string `json:"Id"`
		Description string `json:"Description"`
	} `json:"Rule"`
	Filename string `json:"Filename"`
	Location struct {
		Start struct {
			LineNumber int `json:"LineNumber"`
		} `json:"Start"`
		Path []any `json:"Path"`
	} `json:"Location"`
	Message string `json:"Message"`
	Level   string `json:"Level"`
}

// runCfnLint lints files in one cfn-lint process (its start-up is most of its cost) and returns the matches.
func runCfnLint(t *testing.T, bin string, files []string) []cfnLintMatch {
	t.Helper()
	args := []string{"--format", "json", "--include-checks", "I"}
	ids := make([]string, 0, len(cfnLintIgnored))
	for id := range cfnLintIgnored {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		args = append(args, "--ignore-checks")
		args = append(args, ids...)
	}
	args = append(args, "--")
	args = append(args, files...)
	out, err := exec.Command(bin, args...).Output()
	// cfn-lint's exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational); any
	// other failure (1, or no JSON) is the tool itself failing.
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode()&1 != 0 {
		t.Fatalf("cfn-lint failed: %v\n%s", err, ee.Stderr)
	} else if err != nil && !ok {
		t.Fatalf("cfn-lint: %v", err)
	}
	var matches []cfnLintMatch
	if err := json.Unmarshal(out, &matches); err != nil {
		t.Fatalf("cfn-lint output is not JSON (%v):\n%s", err, out)
	}
	return matches
}

// lintRun is one cfn-lint process over every template the cfn-lint tests check: each configuration's
// standalone template, the fleet's templates (TestCfnLintFleet) and the control's broken template, so
// cfn-lint starts once (its start-up is a few seconds) and its run overlaps the syntheses of other tests
// (the three tests are parallel: docs/checks.md, "Test time"). It runs on the first test's call; each test
// then reads the matches of its own files.
var lintRun struct {
	once       sync.Once
	done       bool
	standalone []string
	fleet      []string
	broken     string
	byFile     map[string][]cfnLintMatch
}

// lintAll runs lintRun on first use and fails t when that run did not complete (in whichever test ran it).
func lintAll(t *testing.T) {
	t.Helper()
	bin := requireTool(t, "cfn-lint", "pip install cfn-lint==1.51.0")
	lintRun.once.Do(func() {
		dir, err := os.MkdirTemp(synthRoot, "cfn-lint-")
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, 0, len(configs))
		for n := range configs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			f := filepath.Join(dir, name+".template.json")
			if err := os.WriteFile(f, synth(t, name).Bytes, 0o600); err != nil {
				t.Fatal(err)
			}
			lintRun.standalone = append(lintRun.standalone, f)
		}
		// The default fleet and the longest variant of each feature (multi-Region key, organization trail,
		// roles): each longest variant has every resource its shorter configuration has, at the longest names.
		for _, name := range []string{"fleet", "fleet-longest", "fleet-mrk-longest", "fleet-orgtrail-longest", "fleet-roles-longest"} {
			s := synthFleet(t, name)
			for _, n := range s.Stacks {
				lintRun.fleet = append(lintRun.fleet, filepath.Join(s.Dir, n+".template.json"))
			}
		}
		lintRun.broken = brokenTemplate(t, dir)
		files := append(append(append([]string{}, lintRun.standalone...), lintRun.fleet...), lintRun.broken)
		lintRun.byFile = map[string][]cfnLintMatch{}
		for _, m := range runCfnLint(t, bin, files) {
			lintRun.byFile[m.Filename] = append(lintRun.byFile[m.Filename], m)
		}
		lintRun.done = true
	})
	if !lintRun.done {
		t.Fatal("the shared cfn-lint run did not complete (see the test that ran it)")
	}
}

// brokenTemplate writes the default template with a known mistake into dir: an unknown property, and a
// property of the wrong type.
func brokenTemplate(t *testing.T, dir string) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(synth(t, "default").Bytes, &doc); err != nil {
		t.Fatal(err)
	}
	id, _ := synth(t, "default").resourceWithMetadata(t, "kmsguard:role", "master-key")
	props := doc["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any) // a private copy
	props["EnableKeyRotation"] = "sometimes"
	props["KeyRotationEnabled"] = true
	raw, _ := json.MarshalIndent(doc, "", " ")
	f := filepath.Join(dir, "broken.template.json")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCfnLint runs the machine's cfn-lint (AWS resource specification, schema and best-practice rules) on
// every configuration's synthesized template, exactly as cdk synth writes it, including informational
// checks. Any match fails.
func TestCfnLint(t *testing.T) {
	t.Parallel()
	lintAll(t)
	if len(lintRun.standalone) != len(configs) {
		t.Fatalf("linted %d standalone templates, want one per configuration (%d)", len(lintRun.standalone), len(configs))
	}
	for _, f := range lintRun.standalone {
		for _, m := range lintRun.byFile[f] {
			t.Errorf("%s:%d %s %s %s (at %v)", filepath.Base(m.Filename), m.Location.Start.LineNumber,
				m.Level, m.Rule.ID, m.Message, m.Location.Path)
		}
	}
}

// TestCfnLintCatchesFindings is the control: the same cfn-lint invocation must report a template with a
// known mistake (an unknown property, and a property of the wrong type), or a green TestCfnLint proves
// nothing.
func TestCfnLintCatchesFindings(t *testing.T) {
	t.Parallel()
	lintAll(t)
	seen := map[string]bool{}
	for _, m := range lintRun.byFile[lintRun.broken] {
		seen[m.Rule.ID] = true
	}
	for _, id := range []string{"E3002", "E3012"} {
		if !seen[id] {
			t.Errorf("cfn-lint did not report %s on a broken template (reported %v)", id, seen)
		}
	}
}

// TestCfnLintIgnoresDocumented: every ignored cfn-lint check is in docs/checks.md with its reason.
func TestCfnLintIgnoresDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "checks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for id, reason := range cfnLintIgnored {
		if strings.TrimSpace(reason) == "" || !strings.Contains(string(doc), id) {
			t.Errorf("ignored cfn-lint check %s must have a reason here and be listed in docs/checks.md", id)
		}
	}
}
