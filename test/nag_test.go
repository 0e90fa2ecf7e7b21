package test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	constructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/stacks"
)

// nagFinding is one annotation that cdk-nag (or anything else) left on the stack at warning or error level.
type nagFinding struct{ level, path, text string }

// nagSynth synthesizes one configuration with the AwsSolutions and NIST 800-53 R5 packs applied as aspects
// (stacks.NagPacks, the same packs `make synth` reports with) and returns every warning and error. The
// shared synth cache is not used: aspects must be added before the app synthesizes. extra, if set, adds
// resources to the stack first (for the control test).
func nagSynth(t *testing.T, name string, extra func(*stacks.GuardStack)) (*stacks.GuardStack, []nagFinding) {
	t.Helper()
	cfg, err := stacks.ParseConfig(configs[name])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	outdir, err := os.MkdirTemp(synthRoot, "nag-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	app := stacks.NewApp(outdir, false)
	g := stacks.NewGuardStack(app, cfg)
	if extra != nil {
		extra(g)
	}
	for _, pack := range stacks.NagPacks(false) {
		awscdk.Aspects_Of(app).Add(pack, nil)
	}
	app.Synth(nil)
	ann := assertions.Annotations_FromStack(g.Stack)
	var out []nagFinding
	collect := func(level string, msgs *[]*cxapi.SynthesisMessage) {
		for _, m := range *msgs {
			out = append(out, nagFinding{level, *m.Id, fmt.Sprint(m.Entry.Data)})
		}
	}
	collect("error", ann.FindError(jsii.String("*"), assertions.Match_AnyValue()))
	collect("warning", ann.FindWarning(jsii.String("*"), assertions.Match_AnyValue()))
	return g, out
}

// kmsguardOwn reports the stack's own configuration warnings (stacks.warnAboutWeakSettings), which tell
// the operator about a choice they made; they are tested in the stack tests, not here.
func kmsguardOwn(f nagFinding) bool {
	return f.level == "warning" && strings.Contains(f.text, "[ack: kmsguard:")
}

// TestNagPacks fails on any AwsSolutions or NIST 800-53 R5 finding in any configuration. Accepted
// exceptions are suppressions on single resources, with reasons, in stacks/nag.go.
func TestNagPacks(t *testing.T) {
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			_, findings := nagSynth(t, name, nil)
			for _, f := range findings {
				if kmsguardOwn(f) {
					continue
				}
				text := f.text
				if len(text) > 400 {
					text = text[:400] + "..."
				}
				t.Errorf("%s %s: %s", f.level, f.path, text)
			}
		})
	}
}

// TestNagPacksCatchFindings is the control: the same harness must report a plainly non-compliant resource,
// or a green TestNagPacks would prove nothing (packs not applied, annotations not read).
func TestNagPacksCatchFindings(t *testing.T) {
	_, findings := nagSynth(t, "hardened", func(g *stacks.GuardStack) {
		awss3.NewCfnBucket(g.Stack, jsii.String("NagControlBucket"), &awss3.CfnBucketProps{})
	})
	want := map[string]bool{"AwsSolutions-S1": false, "AwsSolutions-S10": false, "NIST.800.53.R5-S3BucketLoggingEnabled": false}
	for _, f := range findings {
		if !strings.Contains(f.path, "NagControlBucket") {
			if !kmsguardOwn(f) {
				t.Errorf("finding outside the control bucket: %s %s: %.300s", f.level, f.path, f.text)
			}
			continue
		}
		for rule := range want {
			if strings.HasPrefix(f.text, rule+":") {
				want[rule] = true
			}
		}
	}
	for rule, seen := range want {
		if !seen {
			t.Errorf("cdk-nag did not report %s on an unencrypted, unlogged bucket with no TLS policy", rule)
		}
	}
}

// TestNagSuppressionsAreOnTheirResources checks that every accepted finding reached its resource's
// metadata (cdk_nag.rules_to_suppress) with its reason, that no resource carries a suppression that
// stacks/nag.go does not declare, and that nothing is suppressed stack-wide.
func TestNagSuppressionsAreOnTheirResources(t *testing.T) {
	for _, name := range []string{"default", "hardened", "existing-users"} {
		s := synth(t, name)
		have := map[string]map[string]string{} // logical id -> rule -> reason
		for id, r := range s.JSON["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rr := range rules {
				rule := rr.(map[string]any)
				if have[id] == nil {
					have[id] = map[string]string{}
				}
				have[id][rule["id"].(string)] = rule["reason"].(string)
			}
		}
		want := map[string]map[string]string{}
		for rel, sups := range s.Stack.NagSuppressions() {
			id := logicalID(t, s, rel)
			want[id] = map[string]string{}
			for _, sup := range sups {
				want[id][sup.Rule] = sup.Reason
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("%s: suppressions in the template\n  %v\ndiffer from stacks/nag.go\n  %v", name, have, want)
		}
		if md, ok := s.JSON["Metadata"].(map[string]any); ok && md["cdk_nag"] != nil {
			t.Errorf("%s: stack-wide cdk-nag suppression found: %v", name, md["cdk_nag"])
		}
	}
}

// logicalID resolves a construct path relative to the stack to the logical id of its CloudFormation
// resource (the construct itself or, for an L2 construct, its default child).
func logicalID(t *testing.T, s *Synth, rel string) string {
	t.Helper()
	var c constructs.IConstruct = s.Stack.Stack
	for _, id := range strings.Split(rel, "/") {
		c = c.Node().TryFindChild(jsii.String(id))
		if c == nil {
			t.Fatalf("%s: no construct %s", s.Name, rel)
		}
	}
	if d := c.Node().DefaultChild(); d != nil {
		c = d
	}
	cfn, ok := c.(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%s: %s is not a CloudFormation resource", s.Name, rel)
	}
	return *s.Stack.Stack.GetLogicalId(cfn)
}

// TestNagSuppressionsDocumented keeps docs/checks.md honest: every rule suppressed anywhere is listed there.
func TestNagSuppressionsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "checks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"default", "hardened"} {
		for rel, sups := range synth(t, name).Stack.NagSuppressions() {
			for _, sup := range sups {
				if !strings.Contains(string(doc), sup.Rule) || !strings.Contains(string(doc), rel) {
					t.Errorf("docs/checks.md does not list %s on %s", sup.Rule, rel)
				}
			}
		}
	}
}
