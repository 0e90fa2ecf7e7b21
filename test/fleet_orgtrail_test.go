package test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/constructs/detection"
	"github.com/kmsguard/kmsguard/internal/logfilter"
	"github.com/kmsguard/kmsguard/stacks"
)

// The organization trail's log group (docs/fleet.md, "The organization trail's log group").

// TestOrgTrailLogGroupCarriesTheStandaloneFiltersInTheHomeRegion: with orgTrailLogGroup the home central
// stack has the standalone metric filters but the key-scoped ones on that log group, each alarm notifying
// both destinations, and the heartbeat on it; the other region's central stack and a fleet without
// orgTrailLogGroup (the controls) have none.
func TestOrgTrailLogGroupCarriesTheStandaloneFiltersInTheHomeRegion(t *testing.T) {
	s := synthFleet(t, "fleet-orgtrail")
	home, other := s.Stacks[0], s.Stacks[1]
	if home != "KmsGuard-Central-eu-west-1" {
		t.Fatalf("home stack %s", home)
	}
	var ids []string
	for _, r := range s.resources(home, "AWS::Logs::MetricFilter") {
		p := r["Properties"].(map[string]any)
		if p["LogGroupName"] != "aws-controltower/CloudTrailLogs" {
			t.Errorf("filter %v on %v", p["FilterName"], p["LogGroupName"])
		}
		ids = append(ids, strings.TrimPrefix(p["FilterName"].(string), "KmsGuard-"))
	}
	sort.Strings(ids)
	var want []string
	// The standalone filters, and the dashboard's per-account ones (fleet_dashboard_test.go).
	for _, f := range append(stacks.OrgTrailFilters(s.Fleet.Config), stacks.FleetAccountFilters(s.Fleet.Config)...) {
		want = append(want, f.ID)
	}
	sort.Strings(want)
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("filters %v, want %v", ids, want)
	}
	for _, must := range []string{"KeyPrincipalChanges", "KeyPrincipalReplaced", "KeyPrincipalSessions", "CloudTrailChanges", "AlertPipelineChanges"} {
		if !slices.Contains(ids, must) {
			t.Errorf("no %s filter on the organization trail", must)
		}
	}
	for _, keyScoped := range []string{"KeyDenied", "KeyDisabledOrScheduledForDeletion", "KeyCalls"} {
		if slices.Contains(ids, keyScoped) {
			t.Errorf("%s names one key, which the central stack does not know", keyScoped)
		}
	}
	heartbeat := false
	for id, r := range s.resources(home, "AWS::CloudWatch::Alarm") {
		p := r["Properties"].(map[string]any)
		name, _ := p["AlarmName"].(string)
		if strings.HasSuffix(name, "UndeliveredAlerts") {
			continue
		}
		if actions, _ := p["AlarmActions"].([]any); len(actions) != 2 {
			t.Errorf("%s notifies %d destinations, want both", id, len(actions))
		}
		if name == "KmsGuard-AuditLogHeartbeat" {
			dims, _ := json.Marshal(p["Dimensions"])
			heartbeat = string(dims) == `[{"Name":"LogGroupName","Value":"aws-controltower/CloudTrailLogs"}]`
		}
	}
	if !heartbeat {
		t.Error("no heartbeat on the organization trail's log group")
	}
	if n := len(s.resources(other, "AWS::Logs::MetricFilter")); n != 0 {
		t.Errorf("control: the non-home central stack has %d metric filters", n)
	}
	if n := len(synthFleet(t, "fleet").resources("KmsGuard-Central-us-east-1", "AWS::Logs::MetricFilter")); n != 0 {
		t.Errorf("control: a fleet without orgTrailLogGroup has %d metric filters", n)
	}
	// The longest names pass the quota checker (synthFleet runs it), heartbeat included at 255 characters.
	l := synthFleet(t, "fleet-orgtrail-longest")
	if n := len(l.resources(l.Stacks[0], "AWS::Logs::MetricFilter")); n != len(want) {
		t.Errorf("longest names: %d filters, want %d", n, len(want))
	}
}

// TestOrgTrailFiltersCountMemberIAMChangesFromAnyRegion: a member account's new access key for the server
// user, recorded by the organization trail in us-east-1 (IAM's region), is counted by KeyPrincipalChanges
// on the log group, matched with internal/logfilter; the same call for another user (the control) is not.
func TestOrgTrailFiltersCountMemberIAMChangesFromAnyRegion(t *testing.T) {
	cfg := synthFleet(t, "fleet-orgtrail").Fleet.Config
	filter, err := logfilter.Parse(filterPattern(t, stacks.OrgTrailFilters(cfg), "KeyPrincipalChanges"))
	if err != nil {
		t.Fatal(err)
	}
	record := func(user string) map[string]any {
		return map[string]any{
			"eventVersion": "1.08", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
			"recipientAccountId": "111122223333", "readOnly": false,
			"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/x"},
			"requestParameters": map[string]any{"userName": user},
		}
	}
	if ok, err := filter.Match(record(cfg.ServerUserName)); err != nil || !ok {
		t.Errorf("KeyPrincipalChanges does not count a new access key of %s: %v", cfg.ServerUserName, err)
	}
	if ok, _ := filter.Match(record("someone-else")); ok {
		t.Error("control: KeyPrincipalChanges counts another user's access key")
	}
}

// TestOrgTrailLogGroupIsInTheHomeTamperTier: the home central stack's audit-tamper rules watch the
// organization trail's log group (its metric filters, subscriptions, retention); the other region's (the
// control) do not name it.
func TestOrgTrailLogGroupIsInTheHomeTamperTier(t *testing.T) {
	s := synthFleet(t, "fleet-orgtrail")
	text := func(stack string) string {
		var b strings.Builder
		for _, r := range s.resources(stack, "AWS::Events::Rule") {
			if r["Properties"].(map[string]any)["EventBusName"] != nil {
				continue
			}
			raw, _ := json.Marshal(r["Properties"].(map[string]any)["EventPattern"])
			b.Write(raw)
		}
		return b.String()
	}
	home := text(s.Stacks[0])
	if !strings.Contains(home, `"DeleteMetricFilter"`) || !strings.Contains(home, `"logGroupName":["aws-controltower/CloudTrailLogs"`) {
		t.Error("the home central stack's tamper rules do not watch the organization trail's log group")
	}
	if strings.Contains(text(s.Stacks[1]), "aws-controltower/CloudTrailLogs") {
		t.Error("control: the other region's tamper rules name the home region's log group")
	}
}

// TestOverlongOrgTrailLogGroupIsRefusedByName: a 255-character log group name at the longest stack name
// takes the home tamper pattern that names it over kmsguard's budget; the quota check refuses the fleet,
// naming orgTrailLogGroup. The control is fleet-orgtrail-longest's 200 characters, which passes (synthFleet).
func TestOverlongOrgTrailLogGroupIsRefusedByName(t *testing.T) {
	synthFleet(t, "fleet-orgtrail-longest")
	ctx := map[string]any{}
	for k, v := range fleetConfigs["fleet-orgtrail-longest"] {
		ctx[k] = v
	}
	ctx["orgTrailLogGroup"] = "aws-controltower/" + strings.Repeat("L", 238)
	cfg, err := stacks.ParseConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	app := stacks.NewApp(dir, false)
	f, err := stacks.NewFleet(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	app.Synth(nil)
	if err := f.WriteTemplates(dir); err != nil {
		t.Fatal(err)
	}
	err = stacks.CheckFleetQuotas(f, dir)
	if err == nil || !strings.Contains(err.Error(), "orgTrailLogGroup") {
		t.Errorf("the overlong log group was not refused by name: %v", err)
	}
}

// filterPattern is the pattern of the metric filter id among filters; a missing id fails the test.
func filterPattern(t *testing.T, filters []detection.MetricFilter, id string) string {
	t.Helper()
	for _, f := range filters {
		if f.ID == id {
			return f.Pattern
		}
	}
	t.Fatalf("no metric filter %s", id)
	return ""
}
