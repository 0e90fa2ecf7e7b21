package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// The red-team suite (README.md, "What kmsguard does not protect against", and "Two alert destinations"): each
// attack an administrator of the account could make on the alert paths is a CloudTrail record, and it must
// raise an alert on a route the attack did not touch, ending in a destination the attack did not touch.
// Which routes and destinations an attack touches is derived from the synthesized template — each rule's
// targets, each target's dead-letter queue, each topic's KmsMasterKeyId — never from a hand-written list.

// redTeamDir holds the attacks, one JSON Lines file per family of attacks.
const redTeamDir = "testdata/redteam"

// redTeamConfigs are the configurations the attacks are replayed through.
var redTeamConfigs = []string{"default", "hardened"}

// redTeamAttack is one attack: a corpus entry (a labelled CloudTrail record, or an aws.kms event) with what it
// disables in Touches, each entry one of {"topic": ARN}, {"key": ARN}, {"rule": name}, {"queue": URL} or
// {"subscription": topic ARN} (the attacker removed or silenced that topic's subscribers).
type redTeamAttack struct {
	corpusEntry
	File string
}

func loadRedTeam(t *testing.T) []redTeamAttack {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(redTeamDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no attack files in %s: %v", redTeamDir, err)
	}
	var out []redTeamAttack
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var a redTeamAttack
			if err := json.Unmarshal(line, &a.corpusEntry); err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			a.File, a.Line = filepath.ToSlash(path), n
			out = append(out, a)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return out
}

// ruleTarget is one (rule, target) pair of the template: the topic it publishes to and its dead-letter queue,
// by logical id.
type ruleTarget struct{ topic, queue string }

// alertPaths is what the template says about routes and destinations, by logical id, with the resolved
// names an attack record uses.
type alertPaths struct {
	ruleName map[string]string       // rule → Name
	targets  map[string][]ruleTarget // rule → its targets
	topicKey map[string]string       // topic → KmsMasterKeyId's key
	topicArn map[string]string       // topic → ARN
	keyArn   map[string]string       // key → ARN
	queueURL map[string]string       // queue → URL
}

func readAlertPaths(t *testing.T, s *Synth, tplJSON []byte, res replay.Resolver) alertPaths {
	t.Helper()
	tpl, err := cfntemplate.Parse(tplJSON)
	if err != nil {
		t.Fatal(err)
	}
	masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	r := &cfntemplate.Resolver{Template: tpl, Values: res.Values,
		Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: "us-east-1", AccountID: fakeAccount},
		Fallback: func(ref cfntemplate.Ref) (string, bool) {
			if ref.ID == masterID && ref.Attr == "Arn" {
				return fakeMasterKeyArn, true
			}
			return "", false
		}}
	p := alertPaths{ruleName: map[string]string{}, targets: map[string][]ruleTarget{}, topicKey: map[string]string{},
		topicArn: map[string]string{}, keyArn: map[string]string{}, queueURL: map[string]string{}}
	str := func(what string, v any) string {
		out, unresolved := r.String(v)
		if len(unresolved) > 0 {
			t.Fatalf("%s: %s: unresolved %v", s.Name, what, unresolved)
		}
		return out
	}
	refID := func(what string, v any) string {
		ref, ok := cfntemplate.RefOf(v)
		if !ok {
			t.Fatalf("%s: %s is not a reference to a resource of the template: %v", s.Name, what, v)
		}
		return ref.ID
	}
	for _, id := range tpl.OfType("AWS::KMS::Key") {
		p.keyArn[id] = str(id+".Arn", map[string]any{"Fn::GetAtt": []any{id, "Arn"}})
	}
	for _, id := range tpl.OfType("AWS::SQS::Queue") {
		p.queueURL[id] = str(id, map[string]any{"Ref": id})
	}
	for _, id := range tpl.OfType("AWS::SNS::Topic") {
		p.topicArn[id] = str(id, map[string]any{"Ref": id})
		props := tpl.Resources[id].Properties
		if props["KmsMasterKeyId"] == nil {
			t.Errorf("%s: topic %s has no KmsMasterKeyId", s.Name, id)
			continue
		}
		p.topicKey[id] = refID(id+".KmsMasterKeyId", props["KmsMasterKeyId"])
	}
	for _, id := range tpl.OfType("AWS::Events::Rule") {
		props := tpl.Resources[id].Properties
		p.ruleName[id] = str(id+".Name", props["Name"])
		targets, _ := props["Targets"].([]any)
		for i, raw := range targets {
			tg := raw.(map[string]any)
			rt := ruleTarget{topic: refID(fmt.Sprintf("%s.Targets[%d].Arn", id, i), tg["Arn"])}
			if _, isTopic := p.topicArn[rt.topic]; !isTopic {
				t.Errorf("%s: rule %s target %d is not one of the template's topics", s.Name, id, i)
			}
			if dlc, ok := tg["DeadLetterConfig"].(map[string]any); ok {
				rt.queue = refID(fmt.Sprintf("%s.Targets[%d].DeadLetterConfig", id, i), dlc["Arn"])
			}
			p.targets[id] = append(p.targets[id], rt)
		}
	}
	return p
}

// touched turns an attack's touches into the logical ids of what it disables; an entry naming nothing in the
// template is an error in the attack, not a pass.
func (p alertPaths) touched(t *testing.T, a redTeamAttack, vars map[string]string, strict bool) (rules, topics, keys, queues map[string]bool) {
	rules, topics, keys, queues = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	find := func(kind, value string, in map[string]string, into map[string]bool) {
		for id, v := range in {
			if v == value {
				into[id] = true
				return
			}
		}
		if strict {
			t.Errorf("%s:%d %q: touches %s %q, which is not in the template", a.File, a.Line, a.Name, kind, value)
		}
	}
	for _, entry := range a.Touches {
		for kind, raw := range entry {
			value := string(substitute(t, a.File, a.corpusEntry, []byte(raw), vars))
			switch kind {
			case "rule":
				find(kind, value, p.ruleName, rules)
			case "topic", "subscription":
				find(kind, value, p.topicArn, topics)
			case "key":
				find(kind, value, p.keyArn, keys)
			case "queue":
				find(kind, value, p.queueURL, queues)
			default:
				t.Errorf("%s:%d %q: unknown touches kind %q", a.File, a.Line, a.Name, kind)
			}
		}
	}
	return rules, topics, keys, queues
}

// untouchedRoutes lists the "rule → topic" routes that match the attack and that it leaves working: the rule
// is not touched, and neither is the target's topic, the topic's key or the target's dead-letter queue.
func (p alertPaths) untouchedRoutes(rules replay.Rules, ev replay.Event, tRules, tTopics, tKeys, tQueues map[string]bool) []string {
	var out []string
	for _, r := range rules {
		if !r.Matches(ev) || tRules[r.LogicalID] {
			continue
		}
		for _, tg := range p.targets[r.LogicalID] {
			if tTopics[tg.topic] || tKeys[p.topicKey[tg.topic]] || (tg.queue != "" && tQueues[tg.queue]) {
				continue
			}
			out = append(out, r.LogicalID+" → "+tg.topic)
		}
	}
	sort.Strings(out)
	return out
}

// redTeamFailures replays every attack through one template and returns the attacks that no untouched
// route reports.
// strict is off for the controls, whose templates lack what some attacks touch.
func redTeamFailures(t *testing.T, s *Synth, tplJSON []byte, attacks []redTeamAttack, strict bool) (failures []string, checked int) {
	t.Helper()
	res := detectionResolver(t, s)
	rules, warnings, err := replay.LoadRules(tplJSON, res)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%s: LoadRules: %v %v", s.Name, err, warnings)
	}
	paths := readAlertPaths(t, s, tplJSON, res)
	vars := redTeamVars(t, s)
	for _, a := range attacks {
		// An attack kmsguard cannot see (tier none, with the reason in its "undetected") has no route to check.
		if !a.appliesTo(s.Name) || len(a.expected(s.Name)) == 0 {
			continue
		}
		ev, record, ok := a.event(t, a.File, vars)
		if !ok {
			continue
		}
		checked++
		tr, tt, tk, tq := paths.touched(t, a, vars, strict)
		if routes := paths.untouchedRoutes(rules, ev, tr, tt, tk, tq); len(routes) == 0 {
			failures = append(failures, fmt.Sprintf("%s:%d %q (%s %s): no untouched route reports it", a.File, a.Line, a.Name,
				record["eventSource"], record["eventName"]))
		}
	}
	return failures, checked
}

// TestEveryAttackAlertsOnARouteAndDestinationItDidNotTouch is the red-team suite.
func TestEveryAttackAlertsOnARouteAndDestinationItDidNotTouch(t *testing.T) {
	attacks := loadRedTeam(t)
	for _, config := range redTeamConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			failures, checked := redTeamFailures(t, s, s.Bytes, attacks, true)
			for _, f := range failures {
				t.Error(f)
			}
			if checked == 0 {
				t.Fatalf("no attack applies to %s", config)
			}
			t.Logf("%s: %d attacks, each reported on an untouched route", config, checked)
		})
	}
}

// TestOneDestinationAloneLeavesAttacksUnreported is the control: the same attacks against the template with
// every rule target of the security destination removed must leave some attack unreported (an attack on the
// other destination then has nowhere left to go).
func TestOneDestinationAloneLeavesAttacksUnreported(t *testing.T) {
	s := synth(t, "default")
	securityKey, _ := s.resourceWithMetadata(t, "kmsguard:role", "security-alerts-key")
	var doc map[string]any
	if err := json.Unmarshal(s.Bytes, &doc); err != nil {
		t.Fatal(err)
	}
	resources := doc["Resources"].(map[string]any)
	var securityTopic string
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::SNS::Topic" {
			continue
		}
		if ref, ok := cfntemplate.RefOf(res["Properties"].(map[string]any)["KmsMasterKeyId"]); ok && ref.ID == securityKey {
			securityTopic = id
		}
	}
	if securityTopic == "" {
		t.Fatal("no topic encrypted with the security-alerts key")
	}
	removed := 0
	for _, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		props := res["Properties"].(map[string]any)
		var kept []any
		for _, tg := range props["Targets"].([]any) {
			if ref, _ := cfntemplate.RefOf(tg.(map[string]any)["Arn"]); ref.ID == securityTopic {
				removed++
				continue
			}
			kept = append(kept, tg)
		}
		props["Targets"] = kept
	}
	if removed == 0 {
		t.Fatal("no rule targets the security destination")
	}
	oneDestination, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	failures, _ := redTeamFailures(t, s, oneDestination, loadRedTeam(t), false)
	if len(failures) == 0 {
		t.Fatalf("with the security destination's %d rule targets removed, every attack was still reported: the suite cannot tell one destination from two", removed)
	}
	t.Logf("control: %d attacks unreported with one destination, e.g. %s", len(failures), strings.Join(failures[:min(2, len(failures))], "; "))
}

// TestWithoutTheWatchdogDisablingTheRuleWatcherGoesUnreported is the control for the two tamper routes that
// watch each other: the same attacks against the template without the watchdog rule must leave the attack
// on the rule that watches rule changes unreported.
func TestWithoutTheWatchdogDisablingTheRuleWatcherGoesUnreported(t *testing.T) {
	s := synth(t, "default")
	var doc map[string]any
	if err := json.Unmarshal(s.Bytes, &doc); err != nil {
		t.Fatal(err)
	}
	resources := doc["Resources"].(map[string]any)
	removed := 0
	for id, r := range resources {
		res := r.(map[string]any)
		if name, _ := res["Properties"].(map[string]any)["Name"].(string); res["Type"] == "AWS::Events::Rule" && strings.HasSuffix(name, "-audit-tamper-watchdog") {
			delete(resources, id)
			removed++
		}
	}
	if removed != 1 {
		t.Fatalf("want one watchdog rule, removed %d", removed)
	}
	noWatchdog, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	failures, _ := redTeamFailures(t, s, noWatchdog, loadRedTeam(t), false)
	if !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, "events.amazonaws.com DisableRule") }) {
		t.Fatalf("without the watchdog every rule change was still reported (%v): the suite cannot see a rule that watches itself", failures)
	}
}
