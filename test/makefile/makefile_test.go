// Package makefile runs the Makefile's operator targets (make synth, make diff) the way README.md tells a
// new user to, in a copy of this checkout with its own cdk.json, against the real CDK CLI.
package makefile

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// freshClone keeps the committed cdk.json in the copy.
const freshClone = ""

// checkout copies the tracked and new (not ignored) files of this checkout into a temporary directory,
// keeping their modification times, links node_modules, and writes cdk.json with the given context (or keeps the committed one for freshClone). It
// refuses to go on when make would reinstall node_modules (that directory may be shared).
func checkout(t *testing.T, context string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "cdk")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the CDK CLI is not installed (make setup): %v", err)
		}
		t.Skipf("the CDK CLI is not installed (make setup): %v", err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := checkoutDir(t)
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" || f == "node_modules" {
			continue
		}
		copyFile(t, filepath.Join(root, f), filepath.Join(dir, f))
	}
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if context != freshClone {
		if err := os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(`{"app":"go run ./bin","context":`+context+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("make", "-C", dir, "-q", "node_modules/.kmsguard-installed").Run(); err != nil {
		t.Skip("node_modules is older than package-lock.json: run make setup first (not done here: node_modules may be shared)")
	}
	return dir
}

// sameDir is the one directory every test's checkout is made in, emptied before each (the tests run one
// after another): Go's build cache keys a module's packages by their directory, so a checkout in the same
// place reuses the previous one's compiled packages instead of recompiling the module for each test.
var sameDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kmsguard-checkout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sameDir = filepath.Join(dir, "kmsguard")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkoutDir empties sameDir for t and returns it; t must not run in parallel with another test that
// makes a checkout.
func checkoutDir(t *testing.T) string {
	t.Helper()
	if err := os.RemoveAll(sameDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sameDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return sameDir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	st, err := os.Lstat(from)
	if err != nil {
		if os.IsNotExist(err) { // deleted in the work tree but not yet committed
			return
		}
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() {
		return
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	os.Chtimes(to, st.ModTime(), st.ModTime())
}

// noCredentials is the environment of a user without AWS credentials (and no instance metadata).
func noCredentials(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || k == "HOME" || k == "CDK_DEFAULT_ACCOUNT" {
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(dir, ".home")
	os.MkdirAll(home, 0o700)
	gocache, _ := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	v := strings.Split(strings.TrimSpace(string(gocache)), "\n")
	env = append(env, "HOME="+home, "AWS_EC2_METADATA_DISABLED=true", "GOCACHE="+v[0], "GOMODCACHE="+v[1], "GOPATH="+v[2])
	// jsii unpacks aws-cdk-lib (tens of thousands of files) into a package cache under HOME on first use:
	// with the fresh HOME above, every make in every test would unpack it again (about 20 s each). The
	// cache the user's own HOME has, or would have, serves instead; it holds no credentials.
	if _, set := os.LookupEnv("JSII_RUNTIME_PACKAGE_CACHE_ROOT"); !set {
		if cache, err := os.UserCacheDir(); err == nil {
			env = append(env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT="+filepath.Join(cache, "aws", "jsii", "package-cache"))
		}
	}
	return env
}

func make_(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", dir}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const customContext = `{"stackName":"OpsCheck","alertEmails":[],"allowedCidrs":[]}`

// TestMakeSynthFollowsStackNameAndStaysShort: with stackName set in cdk.json, make synth summarizes that
// stack (never a stale KmsGuard template left by an earlier run), keeps the configuration warnings, and a
// warm run prints at most 50 lines without the CDK's noise.
func TestMakeSynthFollowsStackNameAndStaysShort(t *testing.T) {
	dir := checkout(t, customContext)
	env := noCredentials(dir)
	// A stale template of the default stack name, as an earlier run would have left it.
	os.MkdirAll(filepath.Join(dir, "cdk.out"), 0o755)
	copyFile(t, "../testdata/hardened.template.json", filepath.Join(dir, "cdk.out", "KmsGuard.template.json"))
	copyFile(t, "../testdata/hardened.template.json", filepath.Join(dir, "cdk.out", "OpsCheck.template.json"))

	out, err := make_(t, dir, env, "synth")
	if err != nil {
		t.Fatalf("make synth: %v\n%s", err, out)
	}
	for _, want := range []string{"OpsCheck-key-danger-1", "alias/mariadb-encryption",
		"using the EXAMPLE configuration (-c example=true", "EXAMPLE configuration (example=true): alertEmails=alerts@example.com, allowedCidrs=192.0.2.0/24",
		"Never deploy it", "resources would be deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("make synth output lacks %q:\n%s", want, out)
		}
	}
	// The hardened golden (a different alias and rule prefix) must not be what was summarized.
	for _, stale := range []string{"KmsGuard-key-danger", "alias/prod/mariadb"} {
		if strings.Contains(out, stale) {
			t.Errorf("make synth printed the stale template (%q):\n%s", stale, out)
		}
	}
	checkShortAndQuiet(t, "make synth", out)
	// Everything make synth wrote (cdk.out/, out/) and the log make demo writes are ignored by git, so a
	// user's git status stays clean.
	created := append(newFiles(t, dir), ".demo/demo.log")
	if len(created) < 3 {
		t.Fatalf("make synth created only %v: is newFiles broken?", created)
	}
	if stray := notIgnored(t, created); len(stray) > 0 {
		t.Errorf("build output not ignored by git (add it to .gitignore): %v", stray)
	}
}

// newFiles lists the files under dir that checkout did not copy (what make wrote), relative to dir.
func newFiles(t *testing.T, dir string) []string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	copied := map[string]bool{}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		copied[f] = true
	}
	var created []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, path)
		if err != nil || rel == "node_modules" || rel == ".home" {
			if d != nil && d.IsDir() && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !copied[filepath.ToSlash(rel)] {
			created = append(created, filepath.ToSlash(rel))
		}
		return nil
	})
	return created
}

// notIgnored returns the paths this repository's .gitignore does not ignore.
func notIgnored(t *testing.T, paths []string) []string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	cmd := exec.Command("git", "-C", root, "check-ignore", "--no-index", "--stdin")
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	out, _ := cmd.Output() // exit 1 when none is ignored
	ignored := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ignored[l] = true
	}
	var stray []string
	for _, p := range paths {
		if !ignored[p] {
			stray = append(stray, p)
		}
	}
	return stray
}

// TestNotIgnoredFindsAStrayFile is the control for the build-output check: a file no pattern covers is
// reported, a cdk.out file is not.
func TestNotIgnoredFindsAStrayFile(t *testing.T) {
	got := notIgnored(t, []string{"cdk.out/OpsCheck.template.json", "stray-build-output.txt"})
	if len(got) != 1 || got[0] != "stray-build-output.txt" {
		t.Errorf("notIgnored = %v, want [stray-build-output.txt]", got)
	}
}

// synthNoise is what the CDK CLI and jsii print on every synth that the user need not read.
var synthNoise = []string{"program.js", "feature flags are not configured", "is deprecated", "Error"}

// checkShortAndQuiet: a warm make synth prints at most 50 lines (Go's build cache is the machine's, so
// the run is warm) and none of synthNoise.
func checkShortAndQuiet(t *testing.T, what, out string) {
	t.Helper()
	for _, p := range shortAndQuietProblems(out) {
		t.Errorf("%s %s:\n%s", what, p, out)
	}
}

func shortAndQuietProblems(out string) []string {
	var problems []string
	for _, noise := range synthNoise {
		if strings.Contains(out, noise) {
			problems = append(problems, fmt.Sprintf("printed noise %q", noise))
		}
	}
	if n := strings.Count(strings.TrimRight(out, "\n"), "\n") + 1; n > 50 {
		problems = append(problems, fmt.Sprintf("printed %d lines, more than 50", n))
	}
	return problems
}

// TestSynthOutputCheckCatchesNoiseAndLength is the control: 51 lines, a jsii location line or the CDK's
// feature-flag count fail; 50 quiet lines pass.
func TestSynthOutputCheckCatchesNoiseAndLength(t *testing.T) {
	for name, out := range map[string]string{
		"51 lines":   strings.Repeat("line\n", 51),
		"jsii noise": "== cdk synth\n(node:1) at /tmp/jsii-runtime.1/lib/program.js:1:5591\n",
		"flag count": "NOTICES 84 feature flags are not configured\n",
	} {
		if len(shortAndQuietProblems(out)) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
	if p := shortAndQuietProblems(strings.Repeat("line\n", 50)); len(p) != 0 {
		t.Errorf("50 quiet lines were reported: %v", p)
	}
}

// TestMakeDiffSaysWhatItComparesAndReportsADifference: without credentials make diff compares with the
// golden offline, says so first, and reports a difference in plain words instead of a make error.
func TestMakeDiffSaysWhatItComparesAndReportsADifference(t *testing.T) {
	dir := checkout(t, customContext)
	out, err := make_(t, dir, noCredentials(dir), "diff")
	if err != nil {
		t.Fatalf("make diff failed on a difference: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "against the committed golden test/testdata/example.template.json: no AWS credentials") {
		t.Errorf("first line does not say what is compared: %q", lines[0])
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "DIFFERENT from the committed golden") {
		t.Errorf("last line does not report the difference: %q", last)
	}
	if !strings.Contains(out, "OpsCheck") || strings.Contains(out, "Error 1") {
		t.Errorf("make diff output:\n%s", out)
	}
}

// TestAFreshCloneSynthesizesTheExampleButCannotDeployIt: with the committed cdk.json, make diff builds the
// example configuration and finds it identical to the committed example golden (what a reviewer reads),
// while a plain cdk deploy, which synthesizes the same app without the example, stops before anything
// reaches AWS and names both safeguards and how to record opting out.
func TestAFreshCloneSynthesizesTheExampleButCannotDeployIt(t *testing.T) {
	dir := checkout(t, freshClone)
	env := noCredentials(dir)
	out, err := make_(t, dir, env, "synth")
	if err != nil {
		t.Fatalf("make synth on a fresh clone: %v\n%s", err, out)
	}
	checkShortAndQuiet(t, "make synth on a fresh clone", out)
	out, err = make_(t, dir, env, "diff")
	if err != nil || !strings.Contains(out, "using the EXAMPLE configuration") || !strings.Contains(out, "make diff: no differences from the committed golden test/testdata/example.template.json") {
		t.Errorf("make diff on a fresh clone: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "cdk"), "deploy", "--require-approval", "never", "--no-notices")
	cmd.Dir, cmd.Env = dir, env
	raw, err := cmd.CombinedOutput()
	deploy := string(raw)
	if err == nil {
		t.Fatalf("cdk deploy of a fresh clone succeeded:\n%s", deploy)
	}
	for _, want := range []string{"alertEmails: not set", `"acceptRisks": ["no-alert-subscriber"]`,
		"allowedCidrs: neither allowedCidrs nor allowedVpcEndpoints is set", `"acceptRisks": ["any-network"]`, "nothing was synthesized"} {
		if !strings.Contains(deploy, want) {
			t.Errorf("cdk deploy refusal lacks %q:\n%s", want, deploy)
		}
	}
}

// TestMakeReviewComparesTheWorkingTreeWithATemplateOnAFreshClone: on a fresh clone make review synthesizes
// the example configuration and reviews it against the template OLD names, printing the review alone on
// stdout and what it compares on stderr. Against the default golden (no network restriction) the example
// only takes calls away, so nothing is weaker and make succeeds; the control is that the review did find
// those changes, so an empty review would fail this test.
func TestMakeReviewComparesTheWorkingTreeWithATemplateOnAFreshClone(t *testing.T) {
	dir := checkout(t, freshClone)
	cmd := exec.Command("make", "--no-print-directory", "-C", dir, "review", "OLD=test/testdata/default.template.json")
	cmd.Env = noCredentials(dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("make review: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"kmsguard review: test/testdata/default.template.json → cdk.out/KmsGuard.template.json",
		"nothing got weaker", "MDBEnc can no longer Decrypt from any network"} {
		if !strings.Contains(out, want) {
			t.Errorf("make review stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(stderr.String(), "== make review: stack KmsGuard (cdk.json) against test/testdata/default.template.json") ||
		strings.Contains(out, "==") || strings.Contains(out, "WARNING") {
		t.Errorf("what is compared belongs on stderr, the review alone on stdout:\nstdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
}

// fleetContext is a fleet (deployment=org, docs/fleet.md) with its own stack name.
const fleetContext = `{"deployment":"org","organizationId":"o-a1b2c3d4e5","securityAccount":"123456789012",` +
	`"targetOus":["ou-ab12-cdefgh34"],"regions":["us-east-1","eu-west-1"],"stackName":"Fleet",` +
	`"alertEmails":["dba@example.org"],"allowedCidrs":["203.0.113.0/24"]}`

// TestMakeSynthReviewAndDiffOfAFleet: with deployment=org in cdk.json, make synth writes and summarizes the
// central stacks and both StackSet templates; make review OLD=DIR reviews each against its namesake in an
// earlier synth, and fails naming what got weaker (planted: the earlier central stack had one more rule,
// and a region the fleet no longer has) while the unchanged templates report no change; make diff without
// credentials says the fleet has no offline baseline, as an error, not a silent empty diff.
func TestMakeSynthReviewAndDiffOfAFleet(t *testing.T) {
	dir := checkout(t, fleetContext)
	env := noCredentials(dir)
	out, err := make_(t, dir, env, "synth")
	if err != nil {
		t.Fatalf("make synth: %v\n%s", err, out)
	}
	for _, want := range []string{"== cdk synth of the fleet Fleet (cdk.json context, deployment=org; docs/fleet.md): Fleet-Central-us-east-1 Fleet-Central-eu-west-1 Fleet-Identity Fleet-Regional",
		"kmsguard fleet central stack (us-east-1)", "kmsguard fleet central stack (eu-west-1)",
		"kmsguard fleet member identities (StackSet Fleet-Identity)", "kmsguard fleet member (StackSet Fleet-Regional)"} {
		if !strings.Contains(out, want) {
			t.Errorf("make synth of a fleet lacks %q:\n%s", want, out)
		}
	}
	// The earlier synth: a copy of cdk.out with one more rule in the home central stack, and the template
	// of a region since removed.
	before := filepath.Join(dir, "cdk.out.before")
	for _, n := range []string{"Fleet-Central-us-east-1", "Fleet-Central-eu-west-1", "Fleet-Identity", "Fleet-Regional"} {
		copyFile(t, filepath.Join(dir, "cdk.out", n+".template.json"), filepath.Join(before, n+".template.json"))
	}
	copyFile(t, filepath.Join(dir, "cdk.out", "Fleet-Central-eu-west-1.template.json"), filepath.Join(before, "Fleet-Central-ap-south-1.template.json"))
	home := filepath.Join(before, "Fleet-Central-us-east-1.template.json")
	raw, _ := os.ReadFile(home)
	var tpl map[string]any
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	resources := tpl["Resources"].(map[string]any)
	planted := false
	for _, r := range resources {
		if r.(map[string]any)["Type"] == "AWS::Events::Rule" {
			resources["PlantedRule"] = r
			planted = true
			break
		}
	}
	if !planted {
		t.Fatal("no rule in the home central stack")
	}
	raw, _ = json.Marshal(tpl)
	os.WriteFile(home, raw, 0o644)

	cmd := exec.Command("make", "--no-print-directory", "-C", dir, "review", "OLD=cdk.out.before")
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	review := stdout.String()
	if err == nil {
		t.Errorf("make review succeeded although a rule and a region are gone:\n%s\n%s", review, stderr.String())
	}
	for _, want := range []string{
		"! [alert coverage] PlantedRule (AWS::Events::Rule) is gone from the template: the alerts it raises stop",
		"! kmsguard review: Fleet-Central-ap-south-1 is gone",
		"kmsguard review: cdk.out.before/Fleet-Regional.template.json → cdk.out/Fleet-Regional.template.json\nno security-relevant change",
		"kmsguard review: cdk.out.before/Fleet-Identity.template.json → cdk.out/Fleet-Identity.template.json\nscope: lifecycle and alert paths only (no master key in this template)\nno security-relevant change",
	} {
		if !strings.Contains(review, want) {
			t.Errorf("make review of a fleet lacks %q:\n%s\nstderr:\n%s", want, review, stderr.String())
		}
	}
	if strings.Count(review, "PROTECTION WEAKER") != 1 {
		t.Errorf("only the home central stack got weaker:\n%s", review)
	}
	if stray := notIgnored(t, []string{"cdk.out.before/Fleet-Regional.template.json"}); len(stray) > 0 {
		t.Errorf("the earlier synth docs/fleet.md suggests keeping is not ignored by git: %v", stray)
	}

	out, err = make_(t, dir, env, "diff")
	if err == nil || !strings.Contains(out, "has no offline baseline") || !strings.Contains(out, "make review OLD=DIR") {
		t.Errorf("make diff of a fleet without credentials: %v\n%s", err, out)
	}
}
