package review

import (
	"encoding/json"
	"strings"
	"testing"
)

// central builds a small fleet central template (docs/fleet.md): a rendering rule with two targets, an
// alarm, a subscription and the regional StackSet with auto-deployment, one OU and two regions.
func central() map[string]any {
	return map[string]any{"Description": "kmsguard fleet central stack (us-east-1): test", "Resources": map[string]any{
		"Topic": map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{}},
		"Sub": map[string]any{"Type": "AWS::SNS::Subscription", "Properties": map[string]any{
			"Protocol": "email", "Endpoint": "sec@example.org", "TopicArn": map[string]any{"Ref": "Topic"}}},
		"Render": map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
			"Name": "F-central-key-danger-1", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
			"EventPattern": map[string]any{"detail": map[string]any{"eventName": []any{"DisableKey"}}},
			"Targets": []any{map[string]any{"Id": "alerts", "Arn": map[string]any{"Ref": "Topic"}},
				map[string]any{"Id": "security", "Arn": map[string]any{"Ref": "Topic"}}}}},
		"Alarm": map[string]any{"Type": "AWS::CloudWatch::Alarm", "Properties": map[string]any{
			"AlarmName": "F-UndeliveredAlerts", "AlarmActions": []any{map[string]any{"Ref": "Topic"}}}},
		"Regional": map[string]any{"Type": "AWS::CloudFormation::StackSet", "Properties": map[string]any{
			"StackSetName": "F-Regional", "TemplateBody": "{}",
			"AutoDeployment": map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": true},
			"StackInstancesGroup": []any{map[string]any{"Regions": []any{"us-east-1", "eu-west-1"},
				"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{"ou-ab12-cdefgh34"}}}}}},
	}}
}

func clone(t map[string]any) map[string]any {
	b, _ := json.Marshal(t)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// TestAFleetTemplateWithoutAKeyIsReviewedForItsAlertPaths: a fleet's central stacks and identity StackSet
// hold no master key, so make review compares their lifecycle and alert paths. Each case removes, disables
// or narrows one path and must be reported as weaker; the unchanged pair (the control) reports nothing,
// and a new rule or a changed member template is named without being called weaker.
func TestAFleetTemplateWithoutAKeyIsReviewedForItsAlertPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		want   string
	}{
		{"unchanged", func(map[string]any) {}, ""},
		{"rule removed", func(c map[string]any) { delete(c["Resources"].(map[string]any), "Render") },
			"WEAKER Render (AWS::Events::Rule) is gone from the template: the alerts it raises stop"},
		{"rule disabled", func(c map[string]any) { props(c, "Render")["State"] = "DISABLED" },
			"WEAKER Render (AWS::Events::Rule): State ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS → DISABLED: it receives fewer events"},
		{"read-only events lost", func(c map[string]any) { props(c, "Render")["State"] = "ENABLED" },
			"WEAKER Render (AWS::Events::Rule): State ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS → ENABLED: it receives fewer events"},
		{"target removed", func(c map[string]any) { props(c, "Render")["Targets"] = props(c, "Render")["Targets"].([]any)[:1] },
			"WEAKER Render (AWS::Events::Rule): target(s) security removed: their alerts stop"},
		{"subscription removed", func(c map[string]any) { delete(c["Resources"].(map[string]any), "Sub") },
			"WEAKER Sub (AWS::SNS::Subscription) is gone from the template: that subscriber gets no more alerts"},
		{"alarm muted", func(c map[string]any) { props(c, "Alarm")["ActionsEnabled"] = false },
			"WEAKER Alarm (AWS::CloudWatch::Alarm): ActionsEnabled turned off: it alarms without notifying"},
		{"auto-deployment off", func(c map[string]any) { props(c, "Regional")["AutoDeployment"].(map[string]any)["Enabled"] = false },
			"WEAKER Regional (AWS::CloudFormation::StackSet): automatic deployment turned off: accounts that join a target OU are no longer protected"},
		{"region dropped", func(c map[string]any) {
			props(c, "Regional")["StackInstancesGroup"].([]any)[0].(map[string]any)["Regions"] = []any{"us-east-1"}
		}, "WEAKER Regional (AWS::CloudFormation::StackSet): no longer deployed in eu-west-1: CloudFormation deletes those regions' stack instances"},
		{"member template changed", func(c map[string]any) { props(c, "Regional")["TemplateBody"] = `{"x":1}` },
			"Regional (AWS::CloudFormation::StackSet): its member template changed: review that template's pair (make review reviews each StackSet template)"},
		{"rule added", func(c map[string]any) {
			c["Resources"].(map[string]any)["Extra"] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{"Name": "x"}}
		}, "Extra (AWS::Events::Rule) is new"},
	} {
		old, new := central(), central()
		tc.change(new)
		r := diff(t, old, new)
		got := texts(r)
		if r.Scope != ScopeNoKey {
			t.Errorf("%s: scope %q", tc.name, r.Scope)
		}
		if tc.want == "" {
			if len(got) != 0 {
				t.Errorf("%s: findings %q", tc.name, got)
			}
			continue
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: findings %q, want exactly %q", tc.name, got, tc.want)
		}
		if r.Weaker() != strings.HasPrefix(tc.want, "WEAKER") {
			t.Errorf("%s: Weaker() = %v", tc.name, r.Weaker())
		}
	}
}

// TestAFleetTemplateIsNotComparedWithAKeyTemplate: the regional template (master key) and a central stack
// are different templates; reviewing one against the other is an error, and a template without a key
// that does not name itself a kmsguard fleet template is still refused as not kmsguard's.
func TestAFleetTemplateIsNotComparedWithAKeyTemplate(t *testing.T) {
	withKey, _ := json.Marshal(tiny("203.0.113.0/24"))
	keyless, _ := json.Marshal(central())
	if _, err := Diff("regional.json", withKey, "central.json", keyless); err == nil || !strings.Contains(err.Error(), "not the same kind") {
		t.Errorf("key vs keyless: %v", err)
	}
	other := clone(central())
	other["Description"] = "someone else's stack"
	raw, _ := json.Marshal(other)
	if _, err := Diff("a.json", raw, "b.json", raw); err == nil || !strings.Contains(err.Error(), "not a kmsguard template") {
		t.Errorf("a template that is not kmsguard's: %v", err)
	}
}
