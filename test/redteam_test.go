package test

// Red-team tests: each attack README.md's "Detection" answers, written as the CloudTrail record
// (or KMS EventBridge event) AWS documents for it, in testdata/redteam/attacks.jsonl, replayed through the
// synthesized rules. Each must raise its tier. An attack marked "undetected" (tier none) is one the trail
// cannot see at all; the file says why and what stops it instead.
//
// Each attack also says what it disables ("touches": a topic, a key, a rule, a queue, a topic's
// subscriptions), so that a route-and-destination check can require the alert to travel on something the
// attack left intact.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/replay"
)

const attacksPath = "testdata/redteam/attacks.jsonl"

// attackKinds are the kinds of thing an attack may disable.
var attackKinds = []string{"topic", "key", "rule", "queue", "subscription"}

// redTeamPlaceholders are the ${NAME}s an attack may use: the corpus's, and the rules that watch EventBridge
// rule changes, by name (their numbers follow the template, so they are read from it).
var redTeamPlaceholders = append(slices.Clone(knownPlaceholders), "EVENTS_WATCH_RULE", "EVENTS_WATCH_ATTEMPT_RULE")

// redTeamVars are corpusVars plus the names of the audit-tamper rules that watch DisableRule: the success
// rule and its attempt twin.
func redTeamVars(t *testing.T, s *Synth) map[string]string {
	t.Helper()
	vars := corpusVars(t, s)
	for id, r := range detectionRules(t, s) {
		props := r["Properties"].(map[string]any)
		pattern, _ := json.Marshal(props["EventPattern"])
		if ruleTier(r) != "audit-tamper" || !strings.Contains(string(pattern), `"DisableRule"`) {
			continue
		}
		name, _ := props["Name"].(string)
		if strings.HasSuffix(name, "-audit-tamper-watchdog") {
			continue // the watchdog watches the rule watchers (README.md, "Two alert destinations")
		}
		key := "EVENTS_WATCH_RULE"
		if strings.Contains(string(pattern), `"anything-but"`) {
			key = "EVENTS_WATCH_ATTEMPT_RULE"
		}
		if prev, dup := vars[key]; dup {
			t.Fatalf("%s: two audit-tamper rules for %s: %s and %s (%s)", s.Name, key, prev, name, id)
		}
		vars[key] = name
	}
	for _, k := range []string{"EVENTS_WATCH_RULE", "EVENTS_WATCH_ATTEMPT_RULE"} {
		if vars[k] == "" {
			t.Fatalf("%s: no audit-tamper rule for %s", s.Name, k)
		}
	}
	return vars
}

// TestRedTeamAttacksAreWellFormed: every attack is a full documented record with its source, says what
// it disables (a list, possibly empty, of known kinds), and is undetected exactly when its tier is none;
// every attack of the threat model is there.
func TestRedTeamAttacksAreWellFormed(t *testing.T) {
	attacks := loadEntries(t, attacksPath)
	seen := map[entryKey]bool{}
	names := map[string]int{}
	for _, e := range attacks {
		where := fmt.Sprintf("%s:%d %q", attacksPath, e.Line, e.Name)
		if prev, dup := names[e.Name]; dup {
			t.Errorf("%s: same name as line %d", where, prev)
		}
		names[e.Name] = e.Line
		k, ok := checkEntryShape(t, attacksPath, e, redTeamPlaceholders)
		if ok {
			seen[k] = true
		}
		if e.Touches == nil {
			t.Errorf(`%s: no "touches" (write [] for an attack that disables nothing)`, where)
		}
		for _, touch := range e.Touches {
			for kind, v := range touch {
				if !slices.Contains(attackKinds, kind) || v == "" || len(touch) != 1 {
					t.Errorf("%s: touches entry %v: want one of %v with a value", where, touch, attackKinds)
				}
			}
		}
		if (e.Tier == "none") != (e.Undetected != "") {
			t.Errorf("%s: tier %s with undetected %q: an attack raises a tier, or says why it cannot", where, e.Tier, e.Undetected)
		}
	}
	need := func(tier, source string, names ...string) {
		for _, n := range names {
			if !seen[entryKey{tier, source, n}] {
				t.Errorf("coverage: no %s attack for %s %s", tier, source, n)
			}
		}
	}
	need("audit-tamper/ok", "kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "DeleteKey")
	need("key-danger/ok", "kms.amazonaws.com", "PutKeyPolicy", "ScheduleKeyDeletion")
	need("audit-tamper/ok", "sns.amazonaws.com", "SetTopicAttributes", "DeleteTopic", "Subscribe", "Unsubscribe", "SetSubscriptionAttributes",
		"PutDataProtectionPolicy")
	need("audit-tamper/ok", "events.amazonaws.com", "DisableRule", "DeleteRule", "RemoveTargets", "PutTargets", "PutRule")
	need("audit-tamper/ok", "sqs.amazonaws.com", "DeleteQueue", "PurgeQueue", "SetQueueAttributes")
	need("audit-tamper/ok", "cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail")
	need("audit-tamper/failed", "cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
	need("audit-tamper/ok", "cloudformation.amazonaws.com", "DeleteStack", "UpdateStack", "CreateChangeSet", "ExecuteChangeSet",
		"SetStackPolicy", "UpdateTerminationProtection")
	need("audit-tamper/ok", "iam.amazonaws.com", "UpdateAssumeRolePolicy", "AttachRolePolicy", "PutRolePermissionsBoundary", "CreatePolicyVersion")
	need("key-danger/ok", "iam.amazonaws.com", "UpdateAssumeRolePolicy", "AttachRolePolicy", "PutRolePolicy", "CreateAccessKey",
		"CreateLoginProfile", "UpdateLoginProfile", "EnableMFADevice")
	need("key-danger/ok", "sts.amazonaws.com", "GetSessionToken")
	need("audit-tamper/ok", "logs.amazonaws.com", "PutSubscriptionFilter", "PutTransformer", "AssociateKmsKey", "DisassociateKmsKey",
		"PutDataProtectionPolicy", "PutAccountPolicy")
	need("audit-tamper/ok", "s3.amazonaws.com", "PutBucketPolicy", "DeleteBucketPolicy", "PutObjectLockConfiguration")
	need("audit-tamper/ok", "s3.amazonaws.com", "DeleteObject", "DeleteObjects", "PutObjectRetention")
	need("key-danger/ok", "aws.kms", "KMS CMK Deletion", "KMS Imported Key Material Expiration")
	need("audit-tamper/ok", "aws.kms", "KMS CMK Deletion")
	need("key-use/ok", "kms.amazonaws.com", "Decrypt")
	t.Logf("%d attacks", len(attacks))
}

// deployedValues are the deploy-time values the resolver gives this template's topics, keys and queues:
// what an attack can touch in it.
func deployedValues(res replay.Resolver) map[string]bool {
	out := map[string]bool{fakeMasterKeyArn: true}
	for _, v := range res.Values {
		out[v] = true
	}
	return out
}

// destinationValues are the fake deploy-time values of both destinations' topics, keys and queues.
var destinationValues = []string{fakeTopicArn, fakeAlertsKeyArn, fakeDeadLetterQueueURL, fakeSecurityTopicArn, fakeSecurityKeyArn, fakeSecurityDLQURL}

// notDeployed returns what an attack touches or names that this template does not have (the second
// destination before it exists): such an attack cannot be replayed here.
func notDeployed(e corpusEntry, vars map[string]string, deployed map[string]bool) []string {
	var out []string
	for _, touch := range e.Touches {
		for kind, v := range touch {
			v = placeholderRE.ReplaceAllStringFunc(v, func(m string) string { return vars[m[2:len(m)-1]] })
			if kind == "rule" {
				continue // rule names come from the template
			}
			if !deployed[v] {
				out = append(out, kind+" "+v)
			}
		}
	}
	for _, v := range destinationValues {
		if !deployed[v] && strings.Contains(string(e.raw()), v) && !slices.Contains(out, "topic "+v) {
			out = append(out, v)
		}
	}
	return out
}

// replayAttacks replays every attack that applies to s through rules and returns the ones that did not
// raise exactly their tier, and the ones skipped because the template lacks what they touch.
func replayAttacks(t *testing.T, s *Synth, rules replay.Rules, attacks []corpusEntry) (wrong, skipped []string) {
	t.Helper()
	vars := redTeamVars(t, s)
	deployed := deployedValues(detectionResolver(t, s))
	for _, e := range attacks {
		if !e.appliesTo(s.Name) {
			continue
		}
		if missing := notDeployed(e, vars, deployed); len(missing) > 0 {
			skipped = append(skipped, fmt.Sprintf("%q (no %s)", e.Name, strings.Join(missing, ", ")))
			continue
		}
		ev, _, ok := e.event(t, attacksPath, vars)
		if !ok {
			continue
		}
		if got, want := rules.Tiers(ev), e.expected(s.Name); !slices.Equal(got, want) {
			wrong = append(wrong, fmt.Sprintf("%s:%d %q: want %s, got %s", attacksPath, e.Line, e.Name, tierList(want), tierList(got)))
		}
	}
	return wrong, skipped
}

// TestRedTeamAttacksRaiseTheirTier replays every attack through the synthesized rules of each configuration:
// each raises exactly its tier (none only for the undetectable ones). Attacks on a destination the
// template does not have are skipped and listed; every attack on the first destination runs. The control
// removes the audit-tamper rules and expects attacks to go unreported.
func TestRedTeamAttacksRaiseTheirTier(t *testing.T) {
	attacks := loadEntries(t, attacksPath)
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			rules := loadDetectionRules(t, s)
			wrong, skipped := replayAttacks(t, s, rules, attacks)
			for _, w := range wrong {
				t.Error(w)
			}
			for _, sk := range skipped {
				if !strings.Contains(sk, fakeSecurityTopicArn) && !strings.Contains(sk, fakeSecurityKeyArn) && !strings.Contains(sk, fakeSecurityDLQURL) {
					t.Errorf("skipped an attack that touches only the first destination: %s", sk)
				}
			}
			t.Logf("%s: %d attacks, %d skipped (not in this template): %v", config, len(attacks), len(skipped), skipped)

			// Control: without the audit-tamper rules, the attacks on the pipeline go unreported.
			var control replay.Rules
			for _, r := range rules {
				if r.Tier != "audit-tamper" {
					control = append(control, r)
				}
			}
			if missed, _ := replayAttacks(t, s, control, attacks); len(missed) < 10 {
				t.Errorf("control: without the audit-tamper rules only %d attacks went unreported: the replay cannot see a missed attack", len(missed))
			}
		})
	}
}
