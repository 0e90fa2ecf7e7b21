package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/quota"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// TestEveryConfigurationFitsTheQuotasAtTheLongestNames: each test configuration, the worst case
// (longest-names) included, synthesizes with no quota finding (synthesize runs the same check as every
// `cdk synth`), and its largest event pattern stays within kmsguard's 1,536-character budget.
func TestEveryConfigurationFitsTheQuotasAtTheLongestNames(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		s := synth(t, name)
		r := quota.Check(s.Tpl, check.MaxStackName)
		if len(r.Findings) > 0 {
			t.Errorf("%s: %v", name, r.Findings)
		}
		if r.Usage.LargestEventPattern > quota.EventPatternBudget || r.Usage.LargestEventPattern == 0 {
			t.Errorf("%s: largest event pattern %d characters (%s)", name, r.Usage.LargestEventPattern, r.Usage.LargestPatternRule)
		}
		t.Logf("%s: %+v", name, r.Usage)
	}
}

// TestOverflowingConfigIsRefusedAtSynthNamingTheSetting: a configuration whose key users would make a
// rule or filter too long for AWS fails `cdk synth` with the setting named, before anything can deploy.
func TestOverflowingConfigIsRefusedAtSynthNamingTheSetting(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	_, out, err := runApp(t, map[string]any{"keyUserArns": longKeyUsers(30), "alertEmails": "dba@example.com", "allowedCidrs": "203.0.113.0/24"})
	if err == nil {
		t.Fatalf("30 long key users synthesized without a quota error:\n%s", out)
	}
	for _, want := range []string{"AWS quota(s) at deploy time", "- keyUserArns", "Name fewer key users"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Control: three of the same users fit (the longest-names configuration).
	if _, out, err := runApp(t, map[string]any{"keyUserArns": longKeyUsers(3), "alertEmails": "dba@example.com", "allowedCidrs": "203.0.113.0/24"}); err != nil {
		t.Errorf("three long key users refused: %v\n%s", err, out)
	}
}

// TestTooManyBreakGlassPrincipalsAreRefusedAtSynth: every lock names every break-glass principal in every
// policy it adds to, so enough long ones overflow a policy's size quota; synth names breakGlassArns. The
// control is the longest-names configuration (three of them, and two deploy roles), which fits
// (TestEveryConfigurationFitsTheQuotasAtTheLongestNames).
func TestTooManyBreakGlassPrincipalsAreRefusedAtSynth(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	var many []any
	for i := 0; i < 12; i++ {
		many = append(many, fmt.Sprintf("arn:aws:iam::111122223333:role/%s/%s%02d", strings.Repeat("p", 400), strings.Repeat("b", 62), i))
	}
	_, out, err := runApp(t, map[string]any{"breakGlassArns": many, "alertEmails": "dba@example.com", "allowedCidrs": "203.0.113.0/24"})
	if err == nil {
		t.Fatalf("12 break-glass principals with 470-character ARNs synthesized without a quota error:\n%s", out)
	}
	for _, want := range []string{"AWS quota(s) at deploy time", "policy size (bytes)", "- breakGlassArns", "break-glass principals"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// longestRules compiles a template's rules with every reference at its longest value, and each renamed
// literal (old → new) replaced.
func longestRules(t *testing.T, tpl *cfntemplate.Template, renamed map[string]string) replay.Rules {
	t.Helper()
	r := cfntemplate.Longest(tpl, check.MaxStackName, distinctKeys(tpl))
	var rules replay.Rules
	for _, id := range tpl.OfType("AWS::Events::Rule") {
		res := tpl.Resources[id]
		resolved, unresolved := r.Resolve(res.Properties["EventPattern"])
		if len(unresolved) > 0 {
			t.Fatalf("rule %s: unresolved %v", id, unresolved)
		}
		pj, _ := json.Marshal(resolved)
		for old, new := range renamed {
			pj = []byte(strings.ReplaceAll(string(pj), old, new))
		}
		p, err := ep.Compile(pj)
		if err != nil {
			t.Fatalf("rule %s: %v", id, err)
		}
		tier, _ := res.Metadata["kmsguard:tier"].(string)
		state, _ := res.Properties["State"].(string)
		rules = append(rules, replay.Rule{LogicalID: id, Tier: tier, State: replay.State(state), Pattern: p, PatternJSON: pj})
	}
	return rules
}

// distinctKeys pins each KMS key of a template to its own id, as long as the longest: the checker gives
// every key the same longest id, which would make the master key and the audit key one key here.
func distinctKeys(tpl *cfntemplate.Template) map[string]string {
	values := map[string]string{}
	for i, id := range tpl.OfType("AWS::KMS::Key") {
		role, _ := tpl.Resources[id].Metadata["kmsguard:role"].(string)
		keyID := fmt.Sprintf("%08x-12ab-34cd-56ef-1234567890ab", len(role)*1000+i) // the same role, the same id in both templates
		if role == "" {
			keyID = fmt.Sprintf("%08x-0000-34cd-56ef-1234567890ab", i)
		}
		values[id] = keyID
		values[id+".KeyId"] = keyID
		values[id+".Arn"] = "arn:" + cfntemplate.LongestPartition + ":kms:" + cfntemplate.LongestRegion + ":" + cfntemplate.LongestAccountID + ":key/" + keyID
	}
	return values
}

// branchEvents returns, for every rule, one generated event per alternative of its pattern.
func branchEvents(t *testing.T, rules replay.Rules) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, r := range rules {
		var pattern map[string]any
		_ = json.Unmarshal(r.PatternJSON, &pattern)
		ex, err := ep.Examples(pattern)
		if err != nil {
			t.Fatalf("rule %s: %v", r.LogicalID, err)
		}
		out[r.LogicalID+" ("+r.Tier+")"] = ex
	}
	return out
}

// lostAlternatives returns every generated event that raises different tiers under the new rules than
// under the old ones.
func lostAlternatives(t *testing.T, old, new replay.Rules, events map[string][]map[string]any) []string {
	return tierChanges(t, old, new, events, func(map[string]any, []string, []string) bool { return false })
}

// tierChanges returns every generated event that raises different tiers under the new rules than under the
// old ones, except the changes intended reports as intended.
func tierChanges(t *testing.T, old, new replay.Rules, events map[string][]map[string]any,
	intended func(detail map[string]any, before, after []string) bool) []string {
	t.Helper()
	var lost []string
	for _, rule := range slices.Sorted(maps.Keys(events)) {
		for _, e := range events[rule] {
			v, err := ep.ValueOf(e)
			if err != nil {
				t.Fatal(err)
			}
			ev := replay.Event{Value: v, Delivered: true}
			detail, _ := e["detail"].(map[string]any)
			if before, after := old.Tiers(ev), new.Tiers(ev); !slices.Equal(before, after) && !intended(detail, before, after) {
				b, _ := json.Marshal(e["detail"])
				lost = append(lost, fmt.Sprintf("%s: %s: tiers %v before, %v now", rule, b, before, after))
			}
		}
	}
	return lost
}

// documentedDenialSpellings are the denial codes README.md says the "failed call" rules leave to the denied
// tier; a denial spelled otherwise alerts in both tiers (a duplicate, never a miss).
var documentedDenialSpellings = []string{"AccessDenied", "AccessDeniedException", "AuthorizationError", "Client.AccessDenied",
	"Client.UnauthorizedOperation", "UnauthorizedOperation", "DisabledException", "KMSInvalidStateException"}

// cryptographicCalls are the calls README.md's key-use tier takes: the data-plane operations of a symmetric
// encryption key.
var cryptographicCalls = []string{"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
	"GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "ReEncrypt"}

// intendedSinceTheSplit reports whether a change of tiers is one the README documents since the rules were
// split: (1) key use means use: a successful call on the key that is not cryptographic no longer raises
// key-use, and nothing else; (2) attempts: a failure that is not a documented denial now also raises the
// tier of what it touches, next to denied when its code is a denial spelling the README does not list; (3)
// new coverage: an event that raised nothing may now raise one tier; (4) KMS's records of a key's end
// (DeleteKey, DeleteExpiredKeyMaterial) are key-danger, never key-use; (5) SNS's PutDataProtectionPolicy was
// matched by requestParameters.topicArn, which its records never carry (the API names the topic ResourceArn,
// docs/aws-facts.md): that alternative matched nothing real and now matches resourceArn. Every tier raised
// before is still raised, and no event raises two tiers except the documented duplicate of (2).
func intendedSinceTheSplit(detail map[string]any, before, after []string) bool {
	name, _ := detail["eventName"].(string)
	code, hasCode := detail["errorCode"].(string)
	if req, _ := detail["requestParameters"].(map[string]any); name == "PutDataProtectionPolicy" &&
		detail["eventSource"] == "sns.amazonaws.com" && req["topicArn"] != nil && len(after) == 0 {
		return true
	}
	if slices.Equal(before, []string{"key-use"}) && len(after) == 0 {
		return !slices.Contains(cryptographicCalls, name)
	}
	// KMS's own record of a key's end (DeleteKey, DeleteExpiredKeyMaterial) is key-danger, whatever its
	// detail type; so are the multi-Region actions ReplicateKey and UpdatePrimaryRegion (README.md, the
	// key-danger tier), which the old key-use rule took as any call on the key.
	if slices.Equal(before, []string{"key-use"}) && slices.Equal(after, []string{"key-danger"}) {
		return name == "DeleteKey" || name == "DeleteExpiredKeyMaterial" || name == "ReplicateKey" || name == "UpdatePrimaryRegion"
	}
	for _, tier := range before {
		if !slices.Contains(after, tier) {
			return false
		}
	}
	if len(after) <= 1 {
		return true
	}
	return len(after) == 2 && slices.Contains(after, "denied") && (slices.Contains(after, "audit-tamper") || slices.Contains(after, "key-danger")) &&
		hasCode && !slices.Contains(documentedDenialSpellings, code)
}

// TestNoAlertLostInTheSplit: the rules were reshaped to fit EventBridge's pattern quota, and have grown
// since. For every alternative of the rules before the split (test/testdata/before-split, each $or branch,
// list value and operator), a generated event raises the same tiers under today's rules, and every
// alternative of today's rules raises under the old rules what it raises now, except the changes README.md
// documents (intendedSinceTheSplit): key use is the cryptographic calls only, a failed tamper call that is
// not a denial alerts, and new coverage. A control drops one branch from today's rules and must be caught;
// another checks that the documented exceptions do not excuse a lost alert.
func TestNoAlertLostInTheSplit(t *testing.T) {
	for _, name := range []string{"default", "hardened"} {
		t.Run(name, func(t *testing.T) {
			before, err := cfntemplate.Load("testdata/before-split/" + name + ".template.json")
			if err != nil {
				t.Fatal(err)
			}
			// The audit log group was renamed on purpose since (docs/teardown.md: its name now ends in the
			// stack's id, so a retained leftover never blocks a retry): the old rules are read with the new name.
			nowTpl := synth(t, name).Tpl
			renamed := map[string]string{}
			oldLG, newLG := before.OfType("AWS::Logs::LogGroup"), nowTpl.OfType("AWS::Logs::LogGroup")
			if len(oldLG) != 1 || len(newLG) != 1 {
				t.Fatalf("want one log group before and now: %v %v", oldLG, newLG)
			}
			oldName, _ := before.Resources[oldLG[0]].Properties["LogGroupName"].(string)
			newName, u := cfntemplate.Longest(nowTpl, check.MaxStackName, nil).String(nowTpl.Resources[newLG[0]].Properties["LogGroupName"])
			if oldName == "" || len(u) > 0 {
				t.Fatalf("log group names: %q, %q %v", oldName, newName, u)
			}
			renamed[oldName] = newName
			old := longestRules(t, before, renamed)
			now := longestRules(t, nowTpl, nil)
			events := branchEvents(t, old)
			n := 0
			for _, ev := range events {
				n += len(ev)
			}
			if n < len(old) {
				t.Fatalf("only %d events for %d rules", n, len(old))
			}
			for _, l := range tierChanges(t, old, now, events, intendedSinceTheSplit) {
				t.Errorf("lost: %s", l)
			}
			for _, l := range tierChanges(t, old, now, branchEvents(t, now), intendedSinceTheSplit) {
				t.Errorf("changed: %s", l)
			}
			t.Logf("%s: %d alternatives of %d old rules replayed through %d rules", name, n, len(old), len(now))

			// Control: today's rules without one event name of one tamper rule lose an alternative.
			control := slices.Clone(now)
			for i, r := range control {
				if r.Tier != "audit-tamper" {
					continue
				}
				var pattern map[string]any
				_ = json.Unmarshal(r.PatternJSON, &pattern)
				detail, _ := pattern["detail"].(map[string]any)
				branches, _ := detail["$or"].([]any)
				if len(branches) == 0 || !reflect.DeepEqual(detail["errorCode"], []any{map[string]any{"exists": false}}) {
					continue // a success rule with alternatives: the old rules' events are successes
				}
				branch := branches[0].(map[string]any)
				names := branch["eventName"].([]any)
				branch["eventName"] = names[:len(names)-1]
				pj, _ := json.Marshal(pattern)
				p, err := ep.Compile(pj)
				if err != nil {
					t.Fatal(err)
				}
				control[i].Pattern, control[i].PatternJSON = p, pj
				break
			}
			if len(tierChanges(t, old, control, events, intendedSinceTheSplit)) == 0 {
				t.Errorf("control: dropping an event name of a tamper rule lost nothing: the check cannot see a lost alert")
			}
			// Control: the exceptions do not excuse an alert that moved to another tier or vanished.
			for _, c := range []struct{ before, after []string }{{[]string{"audit-tamper"}, nil}, {[]string{"denied"}, []string{"audit-tamper"}},
				{[]string{"key-use"}, []string{"key-danger"}}, {nil, []string{"audit-tamper", "denied"}}} {
				if intendedSinceTheSplit(map[string]any{"eventName": "StopLogging", "errorCode": "AccessDenied"}, c.before, c.after) {
					t.Errorf("control: %v -> %v is excused", c.before, c.after)
				}
			}
		})
	}
}
