package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs the real CDK app (bin/) the way the CDK CLI does: context in CDK_CONTEXT_JSON, output
// directory in CDK_OUTDIR.
func runApp(t *testing.T, context map[string]any) (string, string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kmsguard-app")
	if out, err := exec.Command("go", "build", "-o", bin, "../bin").CombinedOutput(); err != nil {
		t.Fatalf("go build ../bin: %v\n%s", err, out)
	}
	ctx, _ := json.Marshal(context)
	outdir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+outdir)
	out, err := cmd.CombinedOutput()
	return outdir, string(out), err
}

func TestBadConfigWritesNoTemplate(t *testing.T) {
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
