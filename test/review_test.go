package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/review"
)

// reviewConfigs are the one-change variants the review test compares with a configuration of
// test/synth_test.go. They are kept out of configs so the other stack tests (cdk-nag, cfn-lint, every
// configuration's key policy) do not synthesize them again.
var reviewConfigs = map[string]map[string]any{
	// ip-only without its second range
	"review-one-range": {"allowedCidrs": "203.0.113.0/24", "alertEmails": "dba@example.com"},
	// mfa without requireMfa
	"review-mfa-off": {"allowedCidrs": "203.0.113.0/24", "alertEmails": "dba@example.com"},
	// existing-users with a third key user
	"review-key-user-added": {
		"keyUserArns":     "arn:aws:iam::111122223333:user/db/mariadb-prod,arn:aws:iam::111122223333:role/mariadb-replica,arn:aws:iam::111122223333:user/reporting-app",
		"adminRequireMfa": false,
		"allowedCidrs":    "203.0.113.0/24",
		"alertEmails":     "dba@example.com",
	},
	// ip-only with notifyKeyUse=false
	"review-no-key-use": {"allowedCidrs": "203.0.113.0/24, 198.51.100.7/32", "alertEmails": "dba@example.com", "notifyKeyUse": false},
	// ip-only with adminRequireMfa=false
	"review-admin-mfa-off": {"allowedCidrs": "203.0.113.0/24, 198.51.100.7/32", "alertEmails": "dba@example.com", "adminRequireMfa": false},
	// ip-only with another alias: a harmless rename
	"review-alias-renamed": {"allowedCidrs": "203.0.113.0/24, 198.51.100.7/32", "alertEmails": "dba@example.com", "keyAlias": "alias/mariadb-db-key"},
}

// reviewSynth synthesizes a review variant once per test process, beside synth's cache.
func reviewSynth(t *testing.T, name string) *Synth {
	t.Helper()
	ctx, ok := reviewConfigs[name]
	if !ok {
		return synth(t, name)
	}
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	s, err := synthesize(name, ctx, filepath.Join(synthRoot, name))
	if err != nil {
		t.Fatalf("synth %s: %v", name, err)
	}
	synthCache[name] = s
	return s
}

type reviewOutput struct {
	Weaker   bool `json:"weaker"`
	Findings []struct {
		Area   string `json:"area"`
		Weaker bool   `json:"weaker"`
		Text   string `json:"text"`
	} `json:"findings"`
}

// runReview runs the kmsguard-summary binary on two templates and returns its exit status and JSON.
func runReview(t *testing.T, bin string, oldT, newT []byte) (int, reviewOutput) {
	t.Helper()
	dir := t.TempDir()
	o, n := filepath.Join(dir, "old.template.json"), filepath.Join(dir, "new.template.json")
	if err := os.WriteFile(o, oldT, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n, newT, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--diff", "--json", o, n)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	var out reviewOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("exit %d, output is not JSON: %v\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	return code, out
}

func buildSummary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kmsguard-summary")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kmsguard-summary").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func editTemplate(t *testing.T, raw []byte, edit func(resources map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc["Resources"].(map[string]any))
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reviewPair is one change and what the review must say about it. want lists findings (weaker ones
// prefixed "WEAKER ") that must all be there; exact says nothing else may be; check adds assertions that
// are derived from the templates or the corpus labels.
type reviewPair struct {
	name, old, new string
	edit           func(t *testing.T, resources map[string]any) // derive NEW from OLD's JSON instead of a config
	code           int
	want           []string
	exact          bool
	check          func(t *testing.T, o *Synth, got []string)
}

// TestReviewNamesEachConfigChangeAndFailsWhenProtectionGetsWeaker runs kmsguard-summary --diff on pairs
// of real synths that differ by one change, written from README.md's configuration table: each pair's
// findings and exit status are what the change means, and the harmless rename weakens nothing. Where no
// setting makes the change (a tier rule dropped, a deletion policy loosened), NEW is OLD's synthesized JSON
// edited by the test. The identity pair is the control: the same template twice has no finding at all.
func TestReviewNamesEachConfigChangeAndFailsWhenProtectionGetsWeaker(t *testing.T) {
	bin := buildSummary(t)
	corpus := loadCorpus(t)
	labelled := func(tier, eventName string) []string {
		var out []string
		for _, e := range corpus {
			if e.Tier != tier || len(e.Configs) > 0 || len(e.Record) == 0 {
				continue
			}
			var rec struct {
				EventName string `json:"eventName"`
			}
			json.Unmarshal(e.Record, &rec)
			if eventName == "" || rec.EventName == eventName {
				out = append(out, e.Name)
			}
		}
		if len(out) == 0 {
			t.Fatalf("the corpus has no %s record labelled %s", eventName, tier)
		}
		return out
	}
	onlyWeakerIn := func(area, tier string) func(t *testing.T, o *Synth, got []string) {
		return func(t *testing.T, o *Synth, got []string) {
			for _, g := range got {
				if strings.HasPrefix(g, "WEAKER ") && (!strings.Contains(g, "["+area+"]") || !strings.Contains(g, "(tier "+tier+")")) {
					t.Errorf("weaker finding outside %s, tier %s: %s", area, tier, g)
				}
			}
		}
	}
	pairs := []reviewPair{
		{name: "same template (control)", old: "ip-only", new: "ip-only", code: 0, exact: true},
		{name: "network range removed", old: "ip-only", new: "review-one-range", code: 0, exact: true, want: []string{
			"[key policies] MDBEnc can no longer Decrypt from 198.51.100.7/32",
			"[key policies] MDBEnc can no longer GenerateDataKeyWithoutPlaintext from 198.51.100.7/32",
		}},
		{name: "network range added", old: "review-one-range", new: "ip-only", code: 1, exact: true, want: []string{
			"WEAKER [key policies] MDBEnc can now Decrypt from 198.51.100.7/32",
			"WEAKER [key policies] MDBEnc can now GenerateDataKeyWithoutPlaintext from 198.51.100.7/32",
		}},
		{name: "MFA off", old: "mfa", new: "review-mfa-off", code: 1, exact: true, want: []string{
			"WEAKER [key policies] MDBEnc no longer needs MFA for Decrypt from 203.0.113.0/24",
			"WEAKER [key policies] MDBEnc no longer needs MFA for GenerateDataKeyWithoutPlaintext from 203.0.113.0/24",
		}},
		{name: "admin MFA off", old: "ip-only", new: "review-admin-mfa-off", code: 1, exact: true, want: []string{
			"WEAKER [key policies] the admin MDBEncAdmin no longer needs MFA for EnableKey",
			"WEAKER [key policies] the admin MDBEncAdmin no longer needs MFA for DisableKey",
		}},
		{name: "key user added", old: "existing-users", new: "review-key-user-added", code: 1, want: []string{
			"WEAKER [key policies] reporting-app can now Decrypt from 203.0.113.0/24",
			"WEAKER [key policies] reporting-app can now GenerateDataKeyWithoutPlaintext from 203.0.113.0/24",
		}, check: func(t *testing.T, _ *Synth, got []string) {
			for _, g := range got {
				if strings.HasPrefix(g, "WEAKER ") && !strings.Contains(g, "reporting-app can now") {
					t.Errorf("unexpected weaker finding: %s", g)
				}
			}
		}},
		{name: "notifyKeyUse=false", old: "ip-only", new: "review-no-key-use", code: 1, want: prefixEach("WEAKER [alert coverage] ", suffixEach(labelled("key-use", ""), " no longer alerts (tier key-use)")),
			check: onlyWeakerIn("alert coverage", "key-use")},
		{name: "notifyKeyUse=true again", old: "review-no-key-use", new: "ip-only", code: 0, want: prefixEach("[alert coverage] ", suffixEach(labelled("key-use", ""), " now alerts (tier key-use)"))},
		{name: "tier rule dropped", old: "ip-only", code: 1, edit: func(t *testing.T, res map[string]any) {
			dropped := 0
			for id, r := range res {
				m := r.(map[string]any)
				pattern, _ := json.Marshal(m["Properties"].(map[string]any)["EventPattern"])
				if m["Type"] == "AWS::Events::Rule" && m["Metadata"].(map[string]any)["kmsguard:tier"] == "audit-tamper" && bytes.Contains(pattern, []byte(`"StopLogging"`)) {
					delete(res, id)
					dropped++
				}
			}
			if dropped == 0 {
				t.Fatal("no audit-tamper rule names StopLogging: nothing to drop")
			}
		}, want: append(prefixEach("WEAKER [alert coverage] ", suffixEach(labelled("audit-tamper", "StopLogging"), " no longer alerts (tier audit-tamper)")),
			"WEAKER [alert coverage] cloudtrail StopLogging no longer alerts (tier audit-tamper)"),
			check: func(t *testing.T, _ *Synth, got []string) {
				for _, g := range got {
					if strings.HasPrefix(g, "WEAKER ") && !strings.Contains(g, "[alert coverage]") {
						t.Errorf("unexpected weaker finding: %s", g)
					}
				}
			}},
		{name: "deletion policy loosened", old: "ip-only", code: 1, exact: true, edit: func(t *testing.T, res map[string]any) {
			for _, r := range res {
				m := r.(map[string]any)
				if md, _ := m["Metadata"].(map[string]any); md["kmsguard:role"] == "master-key" {
					m["DeletionPolicy"], m["UpdateReplacePolicy"] = "Delete", "Delete"
				}
			}
		}, check: func(t *testing.T, o *Synth, got []string) {
			id, key := o.resourceWithMetadata(t, "kmsguard:role", "master-key")
			want := []string{
				"WEAKER [lifecycle] the master key (" + id + "): DeletionPolicy loosened from " + key["DeletionPolicy"].(string) + " to Delete",
				"WEAKER [lifecycle] the master key (" + id + "): UpdateReplacePolicy loosened from " + key["UpdateReplacePolicy"].(string) + " to Delete",
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{name: "security destination dropped from every rule", old: "hardened", code: 1, edit: func(t *testing.T, res map[string]any) {
			// The second destination's topic is the one encrypted with the security topic's key.
			var topic string
			for id, r := range res {
				m := r.(map[string]any)
				if m["Type"] != "AWS::SNS::Topic" {
					continue
				}
				key, _ := m["Properties"].(map[string]any)["KmsMasterKeyId"].(map[string]any)["Fn::GetAtt"].([]any)
				if k, ok := res[key[0].(string)].(map[string]any); ok && k["Metadata"].(map[string]any)["kmsguard:role"] == "security-alerts-key" {
					topic = id
				}
			}
			if topic == "" {
				t.Fatal("hardened has no topic encrypted with the security topic's key")
			}
			dropped := 0
			for _, r := range res {
				m := r.(map[string]any)
				if m["Type"] != "AWS::Events::Rule" {
					continue
				}
				props := m["Properties"].(map[string]any)
				var kept []any
				for _, tg := range props["Targets"].([]any) {
					if ref, _ := tg.(map[string]any)["Arn"].(map[string]any); ref["Ref"] == topic {
						dropped++
						continue
					}
					kept = append(kept, tg)
				}
				props["Targets"] = kept
			}
			if dropped == 0 {
				t.Fatal("no rule targets the security topic: nothing to drop")
			}
		}, want: []string{
			// README.md ("Two alert destinations"): a key-danger alert reaches both destinations; the attack on
			// the alert topic's key is then reported by the security destination alone, which is now gone.
			"WEAKER [alert coverage] DisableKey on the master key now reaches only one destination (alerts) (was 2 destinations (alerts, security))",
			"WEAKER [alert coverage] the attack \"DisableKey on the alert topic's key\" now reaches no destination (was only one destination (security))",
		}, check: func(t *testing.T, _ *Synth, got []string) {
			for _, g := range got {
				if !strings.HasPrefix(g, "WEAKER [alert coverage] ") || !strings.Contains(g, " now reaches ") {
					t.Errorf("dropping targets changes only where alerts arrive, got %s", g)
				}
			}
		}},
		{name: "harmless rename", old: "ip-only", new: "review-alias-renamed", code: 0, want: []string{
			"[lifecycle] MasterKeyAlias",
		}, check: func(t *testing.T, _ *Synth, got []string) {
			for _, g := range got {
				if strings.HasPrefix(g, "WEAKER ") {
					t.Errorf("a rename of the alias weakens nothing, got %s", g)
				}
			}
		}},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			o := reviewSynth(t, p.old)
			newT := o.Bytes
			if p.edit != nil {
				newT = editTemplate(t, o.Bytes, func(r map[string]any) { p.edit(t, r) })
			} else {
				newT = reviewSynth(t, p.new).Bytes
			}
			code, out := runReview(t, bin, o.Bytes, newT)
			var got []string
			for _, f := range out.Findings {
				w := ""
				if f.Weaker {
					w = "WEAKER "
				}
				got = append(got, w+"["+f.Area+"] "+f.Text)
			}
			if code != p.code || out.Weaker != (p.code == 1) {
				t.Errorf("exit %d (weaker %v), want %d", code, out.Weaker, p.code)
			}
			for _, w := range p.want {
				found := false
				for _, g := range got {
					found = found || g == w || (strings.HasSuffix(w, "MasterKeyAlias") && strings.HasPrefix(g, w))
				}
				if !found {
					t.Errorf("missing finding %q", w)
				}
			}
			if p.exact && p.check == nil && len(got) != len(p.want) {
				t.Errorf("want exactly %d finding(s), got %d: %q", len(p.want), len(got), got)
			}
			if p.check != nil {
				p.check(t, o, got)
			}
			if t.Failed() {
				t.Logf("findings:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

func prefixEach(p string, s []string) []string {
	var out []string
	for _, x := range s {
		out = append(out, p+x)
	}
	return out
}

func suffixEach(s []string, suffix string) []string {
	var out []string
	for _, x := range s {
		out = append(out, x+suffix)
	}
	return out
}

// TestReviewReadsTheCorpusAsTheDetectionTestDoes: the review fills the corpus and resolves the rules at run
// time from the template alone (no configuration, no test helpers); replayed that way, every labelled record
// must raise exactly its label in each corpus configuration, as TestEveryLabelledRecordRaisesExactlyItsTier
// requires of the test suite's own replay. The control is the same comparison on the hardened template
// with its key-use labels swapped for the default's: notifyKeyUse=false must make it fail.
func TestReviewReadsTheCorpusAsTheDetectionTestDoes(t *testing.T) {
	corpus := loadCorpus(t)
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			got, err := review.CorpusTiers(synth(t, config).Bytes)
			if err != nil {
				t.Fatal(err)
			}
			mismatch := func(labelsOf string) int {
				n := 0
				for _, e := range corpus {
					if !e.appliesTo(config) {
						continue
					}
					tiers, ok := got[e.Name]
					if !ok {
						t.Fatalf("the review did not replay %q", e.Name)
					}
					if !slices.Equal(tiers, e.expected(labelsOf)) {
						n++
						if labelsOf == config {
							t.Errorf("%q: the review's replay raises %v, the label says %v", e.Name, tiers, e.expected(config))
						}
					}
				}
				return n
			}
			mismatch(config)
			if config == "hardened" && mismatch("default") == 0 {
				t.Error("control: the hardened template (notifyKeyUse=false) matched the default's labels")
			}
		})
	}
}

// TestReviewSeesEveryAttackReachAnUntouchedDestination: the review derives routes and what an attack
// disables from the template alone; replayed that way, every red-team attack that must alert still reaches
// a destination in each red-team configuration, as TestEveryAttackAlertsOnARouteAndDestinationItDidNotTouch
// requires. The control is the default template with the security destination's targets removed: some
// attack must then reach none.
func TestReviewSeesEveryAttackReachAnUntouchedDestination(t *testing.T) {
	attacks := loadRedTeam(t)
	unreported := func(config string, tpl []byte) []string {
		got, err := review.AttackDestinations(tpl)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range attacks {
			if !a.appliesTo(config) || len(a.expected(config)) == 0 {
				continue
			}
			dests, ok := got[a.Name]
			if !ok {
				t.Fatalf("the review did not replay the attack %q", a.Name)
			}
			if len(dests) == 0 {
				out = append(out, a.Name)
			}
		}
		return out
	}
	for _, config := range redTeamConfigs {
		if u := unreported(config, synth(t, config).Bytes); len(u) > 0 {
			t.Errorf("%s: the review sees no destination for %q", config, u)
		}
	}
	s := synth(t, "default")
	securityKey, _ := s.resourceWithMetadata(t, "kmsguard:role", "security-alerts-key")
	one := editTemplate(t, s.Bytes, func(res map[string]any) {
		var topic string
		for id, r := range res {
			m := r.(map[string]any)
			if key, ok := m["Properties"].(map[string]any)["KmsMasterKeyId"].(map[string]any); ok && m["Type"] == "AWS::SNS::Topic" &&
				key["Fn::GetAtt"].([]any)[0] == securityKey {
				topic = id
			}
		}
		for _, r := range res {
			m := r.(map[string]any)
			if m["Type"] != "AWS::Events::Rule" {
				continue
			}
			props := m["Properties"].(map[string]any)
			var kept []any
			for _, tg := range props["Targets"].([]any) {
				if ref, _ := tg.(map[string]any)["Arn"].(map[string]any); ref["Ref"] != topic {
					kept = append(kept, tg)
				}
			}
			props["Targets"] = kept
		}
	})
	if len(unreported("default", one)) == 0 {
		t.Error("control: with one destination every attack still reached one")
	}
}
