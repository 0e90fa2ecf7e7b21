package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// runApp runs the real CDK app (bin/) the way the CDK CLI does: context in CDK_CONTEXT_JSON, output
// directory in CDK_OUTDIR.
// Its tests run in parallel (t.Parallel): the app is a process of its own, with its own jsii runtime, so
// they use the second core while the in-process syntheses run one at a time.
func runApp(t *testing.T, context map[string]any) (string, string, error) {
	t.Helper()
	bin, err := appBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := json.Marshal(context)
	outdir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+outdir)
	out, err := cmd.CombinedOutput()
	return outdir, string(out), err
}

// appBinary builds bin/ once per test process, into synthRoot (removed by TestMain).
var appBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(synthRoot, "kmsguard-app")
	if out, err := exec.Command("go", "build", "-o", bin, "../bin").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ../bin: %w\n%s", err, out)
	}
	return bin, nil
})

func TestBadConfigWritesNoTemplate(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	outdir, out, err := runApp(t, map[string]any{
		"allowedCidrs":     "0.0.0.0/0",
		"alertEmails":      "not-an-email",
		"allowedCidr":      "203.0.113.0/24",
		"logRetentionDays": "366",
	})
	if err == nil {
		t.Fatalf("bad config must fail the synth; output:\n%s", out)
	}
	for _, key := range []string{"allowedCidrs:", "alertEmails:", "allowedCidr:", "logRetentionDays:", "4 configuration problem(s)"} {
		if !strings.Contains(out, key) {
			t.Errorf("output does not mention %q:\n%s", key, out)
		}
	}
	entries, _ := os.ReadDir(outdir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".template.json") {
			t.Errorf("a template was written despite the bad config: %s", e.Name())
		}
	}
}

func TestGoodConfigWritesTheTemplate(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	outdir, out, err := runApp(t, configs["ip-only"])
	if err != nil {
		t.Fatalf("synth failed: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(outdir, "KmsGuard.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := synth(t, "ip-only").Bytes; string(raw) != string(want) {
		t.Errorf("bin/ and the test harness synthesize different templates for the same config")
	}
}
