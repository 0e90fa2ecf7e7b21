package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// runBlocks returns the shell of a workflow's `run:` steps (a one-line run, or the indented lines of a
// `run: |` block), one block per step.
func runBlocks(workflow string) []string {
	var out []string
	lines := strings.Split(workflow, "\n")
	runRE := regexp.MustCompile(`^(\s*)(?:- )?run:\s*(.*)$`)
	for i := 0; i < len(lines); i++ {
		m := runRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if m[2] != "|" {
			out = append(out, m[2])
			continue
		}
		indent := len(m[1]) + 2
		var body []string
		for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) >= indent) {
			i++
			if len(lines[i]) >= indent {
				body = append(body, lines[i][indent:])
			}
		}
		out = append(out, strings.Join(body, "\n"))
	}
	return out
}

// TestTheReviewWorkflowRunsRealTargetsAndFlags: the GitHub Actions example of docs/review.md runs make
// targets the Makefile has, passes kmsguard-summary a flag it has, and parses as shell, like a pasted
// block (its ${{ }} expressions are GitHub's, filled in before the shell sees them).
func TestTheReviewWorkflowRunsRealTargetsAndFlags(t *testing.T) {
	raw, err := os.ReadFile("../.github/workflows/review.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(t)
	steps := runBlocks(string(raw))
	if len(steps) < 4 {
		t.Fatalf("found %d run steps: is the extractor broken?", len(steps))
	}
	all := strings.Join(steps, "\n")
	for _, want := range []string{"make synth", "make --no-print-directory review OLD=", "REVIEW_FLAGS=--markdown", "gh pr comment"} {
		if !strings.Contains(all, want) {
			t.Errorf("the workflow no longer runs %q", want)
		}
	}
	flag := regexp.MustCompile(`REVIEW_FLAGS=--([a-z-]+)`).FindStringSubmatch(all)
	if flag == nil || !c.flags["kmsguard-summary"][flag[1]] {
		t.Errorf("REVIEW_FLAGS names a flag kmsguard-summary does not list: %v", flag)
	}
	for _, s := range steps {
		for _, p := range c.checkShell(s) {
			t.Errorf("run step %q: %s", strings.SplitN(s, "\n", 2)[0], p)
		}
	}
	// Control: the same check on a step with a target the Makefile lacks.
	if p := c.checkShell("make reveiw OLD=x"); len(p) == 0 {
		t.Error("control: an unknown target passed")
	}
}
