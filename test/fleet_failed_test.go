package test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// The StackSets' failed stack instances (docs/fleet.md, "Failed stack instances"): the home central stack
// alerts on CloudFormation's StackSet StackInstance Status Change events of its StackSets.

const fleetManagementAccount = "444455556666"

// stackInstanceStatusChange is a CloudFormation StackSet StackInstance Status Change event as AWS documents
// it (CloudFormation User Guide, "StackSet Stack Instance Status Change event detail"), for a stack
// instance of stackSet (created in the management account, in home) in the member account and region.
func stackInstanceStatusChange(home, stackSet, status, detailed string) map[string]any {
	arn := "arn:aws:cloudformation:" + home + ":" + fleetManagementAccount + ":stackset/" + stackSet + ":e5f54eea-d041-44ad-94f8-b8268aca1e59"
	return map[string]any{
		"version": "0", "id": "42h6hb90-hg0w-11op-b01v-0xhnh0934z09", "detail-type": "CloudFormation StackSet StackInstance Status Change",
		"source": "aws.cloudformation", "account": fleetManagementAccount, "time": "2026-10-02T17:04:40Z", "region": home,
		"resources": []any{arn},
		"detail": map[string]any{
			"stack-set-arn": arn,
			"stack-id":      "arn:aws:cloudformation:" + fleetMemberRegion + ":" + fleetMemberAccount + ":stack/StackSet-" + stackSet + "-0a1b2c3d/11112222-3333-4444-5555-666677778888",
			"action":        "CREATE",
			"status-details": map[string]any{"status": status, "detailed-status": detailed,
				"status-reason": "ResourceLogicalId:ReplicaKey, ResourceType:AWS::KMS::ReplicaKey, ResourceStatusReason:Secrets Manager can't find the specified secret."},
		},
	}
}

// eventField follows an input transformer path ($.a.b-c) into event.
func eventField(event map[string]any, path string) (any, bool) {
	var v any = event
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestFailedStackInstanceOfTheFleetAlertsBothDestinations: on the home region's central stack, a failed
// (FAILED, INOPERABLE) stack instance of each StackSet fires exactly that StackSet's rule, on the security
// account's default bus, to both destinations; the email fills every field from AWS's documented event and
// carries the retry command for that StackSet as the delegated administrator. The controls: the same
// event for a SUCCEEDED instance, for a StackSet of another name, and the other region's central stack,
// which has no such rule.
func TestFailedStackInstanceOfTheFleetAlertsBothDestinations(t *testing.T) {
	s := synthFleet(t, "fleet")
	cfg := s.Fleet.Config
	home := cfg.HomeRegion()
	rules := s.resources(s.Stacks[0], "AWS::Events::Rule")
	res, err := replay.NewResolver("arn:aws:kms:" + home + ":999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	if err != nil {
		t.Fatal(err)
	}
	compiled, _, err := replay.LoadRules(s.Files[s.Stacks[0]], res)
	if err != nil {
		t.Fatal(err)
	}
	// fired lists the home template's rules on the default bus (every one, with its intrinsics resolved)
	// that take event; the rules on the tier buses see only what members forward.
	fired := func(event map[string]any) []string {
		v, err := ep.ValueOf(event)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range compiled {
			if rules[r.LogicalID]["Properties"].(map[string]any)["EventBusName"] == nil && r.Matches(replay.Event{Value: v, Delivered: true}) {
				ids = append(ids, r.LogicalID)
			}
		}
		sort.Strings(ids)
		return ids
	}
	for set, want := range map[string]string{cfg.RegionalStackSetName(): "failedregional", cfg.IdentityStackSetName(): "failedidentity"} {
		for _, detailed := range []string{"FAILED", "INOPERABLE"} {
			if got := fired(stackInstanceStatusChange(home, set, "OUTDATED", detailed)); !slices.Equal(got, []string{want}) {
				t.Errorf("%s %s fires %v, want [%s]", set, detailed, got, want)
			}
		}
		if got := fired(stackInstanceStatusChange(home, set, "CURRENT", "SUCCEEDED")); len(got) > 0 {
			t.Errorf("control: a SUCCEEDED instance of %s fires %v", set, got)
		}
		p := rules[want]["Properties"].(map[string]any)
		if p["EventBusName"] != nil || p["State"] != "ENABLED" || p["Name"] != "KmsGuard-failed-"+strings.TrimPrefix(want, "failed") {
			t.Errorf("%s: bus %v, state %v, name %v", want, p["EventBusName"], p["State"], p["Name"])
		}
		targets := p["Targets"].([]any)
		if len(targets) != 2 {
			t.Errorf("%s: %d destinations, want both", want, len(targets))
		}
		event := stackInstanceStatusChange(home, set, "OUTDATED", "FAILED")
		for _, tg := range targets {
			it := tg.(map[string]any)["InputTransformer"].(map[string]any)
			for k, path := range it["InputPathsMap"].(map[string]any) {
				if _, ok := eventField(event, path.(string)); !ok {
					t.Errorf("%s: %s reads %s, which AWS's event does not have", want, k, path)
				}
			}
			tpl := it["InputTemplate"].(string)
			for _, needle := range []string{"<stackId>", "<reason>", "<detailed>", set,
				"aws cloudformation update-stack-instances --region " + home + " --stack-set-name " + set + " --call-as DELEGATED_ADMIN --deployment-targets Accounts=ACCOUNT --regions REGION"} {
				if !strings.Contains(tpl, needle) {
					t.Errorf("%s: the email does not show %q", want, needle)
				}
			}
		}
	}
	for _, other := range []string{"KmsGuard-RegionalCopy", "Other-Regional", "KmsGuard"} {
		if got := fired(stackInstanceStatusChange(home, other, "OUTDATED", "FAILED")); len(got) > 0 {
			t.Errorf("control: a failed instance of the StackSet %s fires %v", other, got)
		}
	}
	if got := fired(stackInstanceStatusChange("eu-central-1", cfg.RegionalStackSetName(), "OUTDATED", "FAILED")); len(got) > 0 {
		t.Errorf("control: a StackSet of that name in another region fires %v", got)
	}
	for id := range s.resources(s.Stacks[1], "AWS::Events::Rule") {
		if strings.HasPrefix(id, "failed") {
			t.Errorf("the %s central stack has the failed-instance rule %s; the StackSets live in the home region", s.Stacks[1], id)
		}
	}
}

// TestFailedInstanceRuleNamesFitAtTheLongestNames: at the longest stackName the rule names stay within
// EventBridge's 64 characters (the quota checker runs on the synth too; here the name is read directly).
func TestFailedInstanceRuleNamesFitAtTheLongestNames(t *testing.T) {
	s := synthFleet(t, "fleet-longest")
	n := 0
	for id, r := range s.resources(s.Stacks[0], "AWS::Events::Rule") {
		if !strings.HasPrefix(id, "failed") {
			continue
		}
		n++
		name := r["Properties"].(map[string]any)["Name"].(string)
		if len(name) > 64 || !strings.HasPrefix(name, s.Fleet.Config.StackName+"-") {
			t.Errorf("%s: rule name %q (%d characters)", id, name, len(name))
		}
	}
	if n != 2 {
		t.Errorf("%d failed-instance rules at the longest names, want 2", n)
	}
}

// TestDisablingTheFailedInstanceRuleAlerts: disabling, deleting or emptying a failed-instance rule raises
// the central audit-tamper tier, replayed through the home central template's own rules; the control is
// the same calls on a rule of another name.
func TestDisablingTheFailedInstanceRuleAlerts(t *testing.T) {
	s := synthFleet(t, "fleet")
	res, err := replay.NewResolver("arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := replay.LoadRules(s.Files[s.Stacks[0]], res)
	if err != nil {
		t.Fatal(err)
	}
	// The security account's own CloudTrail records reach its default bus only; the rules on the tier buses
	// see what members forward.
	defaultBus := s.resources(s.Stacks[0], "AWS::Events::Rule")
	var rules replay.Rules
	for _, r := range all {
		if defaultBus[r.LogicalID]["Properties"].(map[string]any)["EventBusName"] == nil {
			rules = append(rules, r)
		}
	}
	call := func(name string, params map[string]any) replay.Event {
		ev, err := replay.WrapRecord(map[string]any{
			"eventVersion": "1.08", "eventSource": "events.amazonaws.com", "eventName": name, "eventType": "AwsApiCall",
			"awsRegion": "us-east-1", "recipientAccountId": "999988887777", "readOnly": false,
			"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::999988887777:assumed-role/Admin/x"},
			"requestParameters": params, "eventID": "e1", "eventTime": "2026-10-02T17:04:40Z",
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	var names []string
	for _, r := range s.Fleet.Central[0].FailedInstanceRules {
		names = append(names, *r.Name())
	}
	if len(names) != 2 {
		t.Fatalf("failed-instance rules %v", names)
	}
	for _, name := range append(names, "Other-rule") {
		for _, ev := range []replay.Event{
			call("DisableRule", map[string]any{"name": name}),
			call("DeleteRule", map[string]any{"name": name}),
			call("RemoveTargets", map[string]any{"rule": name, "ids": []any{"SecurityTopic"}}),
		} {
			got := slices.Contains(rules.Tiers(ev), "audit-tamper")
			if want := name != "Other-rule"; got != want {
				var which []string
				for _, r := range rules {
					if r.Matches(ev) {
						which = append(which, r.LogicalID)
					}
				}
				raw, _ := json.Marshal(ev.Record())
				t.Errorf("%s: audit-tamper %v, want %v (rules %v; %.300s)", name, got, want, which, raw)
			}
		}
	}
}
