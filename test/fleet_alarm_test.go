package test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/replay"
	"github.com/kmsguard/kmsguard/stacks"
)

// The members' undelivered-forwards alarm (docs/fleet.md, "Undelivered forwards"): the member alarms on its
// dead-letter queue, forwards the alarm's state changes to the central audit-tamper bus, and the centre
// renders them.

const (
	fleetMemberAccount = "111122223333"
	fleetMemberRegion  = "eu-west-1"
	fleetMemberKeyArn  = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// alarmStateChange is a CloudWatch Alarm State Change event as AWS documents it (CloudWatch User Guide,
// "Alarm events and EventBridge"), for alarm name in the member account.
func alarmStateChange(name, state, previous string) map[string]any {
	return map[string]any{
		"version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
		"source": "aws.cloudwatch", "account": fleetMemberAccount, "time": "2026-10-02T17:04:40Z", "region": fleetMemberRegion,
		"resources": []any{"arn:aws:cloudwatch:" + fleetMemberRegion + ":" + fleetMemberAccount + ":alarm:" + name},
		"detail": map[string]any{
			"alarmName":     name,
			"state":         map[string]any{"value": state, "reason": "Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0).", "timestamp": "2026-10-02T17:04:40.985+0000"},
			"previousState": map[string]any{"value": previous, "reason": "Threshold Crossed", "timestamp": "2026-10-02T16:59:40.985+0000"},
		},
	}
}

func matches(t *testing.T, pattern any, event map[string]any) bool {
	t.Helper()
	raw, err := json.Marshal(pattern)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ep.Compile(raw)
	if err != nil {
		t.Fatalf("pattern %s: %v", raw, err)
	}
	ok, err := p.MatchAny(event)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestMemberAlarmsOnUndeliveredForwardsAndForwardsItCentrally: the regional template alarms on the first
// message in its UndeliveredForwards queue, and a rule on the default bus forwards that alarm's state
// changes (and no other alarm's, and not its creation) to the central audit-tamper bus with the forwarding
// role. The controls are another alarm's state change and the alarm's first INSUFFICIENT_DATA to OK.
func TestMemberAlarmsOnUndeliveredForwardsAndForwardsItCentrally(t *testing.T) {
	s := synthFleet(t, "fleet")
	const n = "KmsGuard-Regional"
	queueID := ""
	for id := range s.resources(n, "AWS::SQS::Queue") {
		queueID = id
	}
	alarms := s.resources(n, "AWS::CloudWatch::Alarm")
	if len(alarms) != 1 {
		t.Fatalf("%d alarms in the member template, want 1", len(alarms))
	}
	for id, a := range alarms {
		p := a["Properties"].(map[string]any)
		dims, _ := json.Marshal(p["Dimensions"])
		if p["AlarmName"] != "KmsGuard-UndeliveredForwards" || p["MetricName"] != "ApproximateNumberOfMessagesVisible" ||
			p["Namespace"] != "AWS/SQS" || p["Threshold"] != 1.0 || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" ||
			string(dims) != `[{"Name":"QueueName","Value":{"Fn::GetAtt":["`+queueID+`","QueueName"]}}]` {
			t.Errorf("member alarm %s: %v", id, p)
		}
	}
	var forward map[string]any
	for _, r := range s.resources(n, "AWS::Events::Rule") {
		p := r["Properties"].(map[string]any)
		if src, _ := json.Marshal(p["EventPattern"].(map[string]any)["source"]); string(src) == `["aws.cloudwatch"]` {
			if forward != nil {
				t.Fatal("two member rules forward CloudWatch events")
			}
			forward = p
		}
	}
	if forward == nil {
		t.Fatal("no member rule forwards the alarm's state changes")
	}
	res, _ := json.Marshal(forward["EventPattern"].(map[string]any)["resources"])
	if string(res) != `[{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":cloudwatch:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":alarm:KmsGuard-UndeliveredForwards"]]}]` ||
		forward["State"] != "ENABLED" || forward["Name"] != "KmsGuard-undelivered-alarm" {
		t.Errorf("member alarm forward: %v", forward)
	}
	tg := forward["Targets"].([]any)[0].(map[string]any)
	arn, _ := json.Marshal(tg["Arn"])
	role, _ := json.Marshal(tg["RoleArn"])
	if !strings.Contains(string(arn), ":999988887777:event-bus/KmsGuard-audit-tamper\"") || !strings.Contains(string(role), "ForwardRole") || tg["InputTransformer"] != nil {
		t.Errorf("member alarm forward target %v", tg)
	}
	// The template's pattern is UndeliveredAlarmPattern with the alarm's ARN: match events against it.
	pattern := stacks.UndeliveredAlarmPattern("arn:aws:cloudwatch:" + fleetMemberRegion + ":" + fleetMemberAccount + ":alarm:KmsGuard-UndeliveredForwards")
	if !matches(t, pattern, alarmStateChange("KmsGuard-UndeliveredForwards", "ALARM", "OK")) {
		t.Error("the member rule does not forward the alarm going into ALARM")
	}
	if !matches(t, pattern, alarmStateChange("KmsGuard-UndeliveredForwards", "OK", "ALARM")) {
		t.Error("the member rule does not forward the alarm's recovery")
	}
	if matches(t, pattern, alarmStateChange("KmsGuard-UndeliveredForwards", "OK", "INSUFFICIENT_DATA")) {
		t.Error("control: the alarm's creation (INSUFFICIENT_DATA to OK) is forwarded")
	}
	if matches(t, pattern, alarmStateChange("SomeoneElses-Alarm", "ALARM", "OK")) {
		t.Error("control: another alarm's state change is forwarded")
	}
}

// TestCentralRendersMemberUndeliveredAlarms: on the audit-tamper bus, the members' alarm state change is
// rendered by its own rule, with the alarm's name, ARN, account, region and state, to both destinations;
// the CloudTrail renderings of that bus leave it alone (one email per event). The control is the CloudTrail
// rendering pattern without its alarm exclusion, which would render the alarm as a CloudTrail call too.
func TestCentralRendersMemberUndeliveredAlarms(t *testing.T) {
	s := synthFleet(t, "fleet")
	event := alarmStateChange("KmsGuard-UndeliveredForwards", "ALARM", "OK")
	for _, n := range s.Stacks[:2] {
		var fired []string
		var alarmRule map[string]any
		for id, r := range s.resources(n, "AWS::Events::Rule") {
			p := r["Properties"].(map[string]any)
			bus, _ := json.Marshal(p["EventBusName"])
			if !strings.Contains(string(bus), "audittamperbus") {
				continue
			}
			if matches(t, p["EventPattern"], event) {
				fired = append(fired, id)
				alarmRule = p
			}
			if id == "centralaudittamper1" {
				bare := map[string]any{}
				for k, v := range p["EventPattern"].(map[string]any) {
					if k != "detail-type" {
						bare[k] = v
					}
				}
				if !matches(t, bare, event) {
					t.Errorf("control: %s without its alarm exclusion does not match the alarm either; the test shows nothing", id)
				}
			}
		}
		if len(fired) != 1 || fired[0] != "centralundelivered" {
			t.Fatalf("%s: the member alarm event fires %v, want only centralundelivered", n, fired)
		}
		if matches(t, alarmRule["EventPattern"], alarmStateChange("SomeoneElses-Alarm", "ALARM", "OK")) {
			t.Errorf("%s: control: another alarm's state change is rendered", n)
		}
		targets := alarmRule["Targets"].([]any)
		if len(targets) != 2 {
			t.Errorf("%s: the alarm goes to %d destinations, want both", n, len(targets))
		}
		for _, tg := range targets {
			it := tg.(map[string]any)["InputTransformer"].(map[string]any)
			paths := it["InputPathsMap"].(map[string]any)
			for k, want := range map[string]string{"alarm": "$.detail.alarmName", "alarmArn": "$.resources[0]", "state": "$.detail.state.value",
				"account": "$.account", "region": "$.region"} {
				if paths[k] != want {
					t.Errorf("%s: %s is %v, want %s", n, k, paths[k], want)
				}
			}
			tpl := it["InputTemplate"].(string)
			for _, ph := range []string{"<alarm>", "<alarmArn>", "<state>", "<account>", "<region>"} {
				if !strings.Contains(tpl, ph) {
					t.Errorf("%s: the alarm email does not show %s", n, ph)
				}
			}
		}
	}
}

// TestMemberTamperTierWatchesTheUndeliveredAlarm: deleting or disabling the member's alarm, or disabling
// the rule that forwards it, raises the member's audit-tamper tier (replayed through the regional
// template's rules); the control is the same call on an alarm and a rule of another name.
func TestMemberTamperTierWatchesTheUndeliveredAlarm(t *testing.T) {
	s := synthFleet(t, "fleet")
	res, err := replay.NewResolver(fleetMemberKeyArn)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := replay.LoadRules(s.Files["KmsGuard-Regional"], res)
	if err != nil {
		t.Fatal(err)
	}
	call := func(source, name string, params map[string]any) replay.Event {
		ev, err := replay.WrapRecord(map[string]any{
			"eventVersion": "1.08", "eventSource": source, "eventName": name, "eventType": "AwsApiCall",
			"awsRegion": fleetMemberRegion, "recipientAccountId": fleetMemberAccount, "readOnly": false,
			"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/x"},
			"requestParameters": params, "eventID": "e1", "eventTime": "2026-10-02T17:04:40Z",
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	for name, c := range map[string]struct {
		ev   replay.Event
		want bool
	}{
		"DeleteAlarms":               {call("monitoring.amazonaws.com", "DeleteAlarms", map[string]any{"alarmNames": []any{"KmsGuard-UndeliveredForwards"}}), true},
		"DisableAlarmActions":        {call("monitoring.amazonaws.com", "DisableAlarmActions", map[string]any{"alarmNames": []any{"KmsGuard-UndeliveredForwards"}}), true},
		"PutMetricAlarm":             {call("monitoring.amazonaws.com", "PutMetricAlarm", map[string]any{"alarmName": "KmsGuard-UndeliveredForwards"}), true},
		"DisableRule of the forward": {call("events.amazonaws.com", "DisableRule", map[string]any{"name": "KmsGuard-undelivered-alarm"}), true},
		"control: another alarm":     {call("monitoring.amazonaws.com", "DeleteAlarms", map[string]any{"alarmNames": []any{"Other-Alarm"}}), false},
		"control: another rule":      {call("events.amazonaws.com", "DisableRule", map[string]any{"name": "Other-rule"}), false},
	} {
		got := slices.Contains(rules.Tiers(c.ev), "audit-tamper")
		if got != c.want {
			t.Errorf("%s: audit-tamper %v, want %v (tiers %v)", name, got, c.want, rules.Tiers(c.ev))
		}
	}
}
