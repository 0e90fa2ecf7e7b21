package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/stacks"
)

// validatedSynth synthesizes with the CDK's built-in CloudFormation validation on (off in bin/ for
// speed) and strict errors, and returns the panic message of a failed synth and the validation report.
func validatedSynth(t *testing.T, name string, mutate func(*stacks.GuardStack)) (failure string, report string) {
	t.Helper()
	cfg, err := stacks.ParseConfig(configs[name])
	if err != nil {
		t.Fatal(err)
	}
	outdir := t.TempDir()
	app := stacks.NewApp(outdir, true)
	g := stacks.NewGuardStack(app, cfg)
	if mutate != nil {
		mutate(g)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				failure = strings.TrimSpace(strings.Split(fmtAny(r), "\n")[0])
			}
		}()
		app.Synth(nil)
	}()
	raw, _ := os.ReadFile(filepath.Join(outdir, "validation-report.json"))
	return failure, string(raw)
}

func fmtAny(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBuiltinCloudFormationValidation runs the CDK's own template validation (the gate that `cdk synth`
// skips, see stacks.NewApp) on representative configurations.
func TestBuiltinCloudFormationValidation(t *testing.T) {
	for _, name := range []string{"default", "hardened"} {
		failure, report := validatedSynth(t, name, nil)
		if failure != "" {
			t.Errorf("%s: built-in validation failed: %s\n%s", name, failure, report)
		}
		var parsed struct {
			PluginReports []struct {
				Violations []any `json:"violations"`
			} `json:"pluginReports"`
		}
		if err := json.Unmarshal([]byte(report), &parsed); err != nil {
			t.Fatalf("%s: validation report: %v", name, err)
		}
		for _, pr := range parsed.PluginReports {
			if len(pr.Violations) > 0 {
				t.Errorf("%s: validation report has findings:\n%s", name, report)
			}
		}
	}
}

// TestBuiltinCloudFormationValidationCatchesFindings proves the gate is live: an invalid property value
// must fail the validated synth.
func TestBuiltinCloudFormationValidationCatchesFindings(t *testing.T) {
	failure, report := validatedSynth(t, "default", func(g *stacks.GuardStack) {
		g.MasterKey.Key.AddPropertyOverride(jsii.String("KeySpec"), "NOT_A_KEY_SPEC")
		g.MasterKey.Key.AddPropertyOverride(jsii.String("PendingWindowInDays"), 3)
	})
	t.Logf("failure: %q", failure)
	if failure == "" && !strings.Contains(report, "violation") {
		t.Fatalf("an invalid KeySpec and PendingWindowInDays passed the built-in validation; report:\n%s", report)
	}
}
