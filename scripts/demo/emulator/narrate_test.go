package emulator

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const (
	testKeyARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	testAdmin  = "arn:aws:iam::123456789012:user/MDBEncAdmin"
)

// goldenOutputs is a `cdk deploy --outputs-file` of the default golden template with moto-like values.
func goldenOutputs(t *testing.T) ([]byte, []byte) {
	t.Helper()
	tpl, err := os.ReadFile("../../../test/testdata/default.template.json")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]map[string]string{"KmsGuard": {
		"KeyArn": testKeyARN, "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "AdminUserArn": testAdmin,
		"ServerUserArn": "arn:aws:iam::123456789012:user/MDBEnc",
	}})
	return tpl, out
}

// TestDemoNamesTheAlertsItsCallsRaiseOnAWS: the demo's kms-manage-key run (status, disable, enable) is a
// key-danger email for every MFA session and for the disable and the enable, and nothing for the status
// read, as the README's Detection section and docs/testing-alerts.md say.
func TestDemoNamesTheAlertsItsCallsRaiseOnAWS(t *testing.T) {
	tpl, outputs := goldenOutputs(t)
	alerts, err := ExpectedAlerts(tpl, outputs, testAdmin, testKeyARN, ManageKeyCalls([]string{"status", "disable", "enable"}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"GetSessionToken": "key-danger", "DescribeKey": "", "DisableKey": "key-danger", "EnableKey": "key-danger"}
	if len(alerts) != 6 {
		t.Fatalf("%d calls replayed, want 6", len(alerts))
	}
	for _, a := range alerts {
		if got := strings.Join(a.Tiers, "+"); got != want[a.Call.EventName] {
			t.Errorf("%s (%s): tiers %q, want %q", a.Call.EventName, a.Call.Command, got, want[a.Call.EventName])
		}
	}
	lines := AlertLines(alerts)
	text := strings.Join(lines, "\n")
	for _, s := range []string{"3x GetSessionToken -> key-danger email (rule KmsGuard-key-danger-", "1x DescribeKey -> no alert",
		"1x DisableKey -> key-danger", "key-danger email, first line: \"[CRITICAL] kmsguard key-danger: GetSessionToken on"} {
		if !strings.Contains(text, s) {
			t.Errorf("narration lacks %q:\n%s", s, text)
		}
	}
	if len(lines) > 6 {
		t.Errorf("narration of the alerts is %d lines, want at most 6:\n%s", len(lines), text)
	}
}

// TestDemoAlertNarrationFollowsTheTemplate is the control: with the key-danger rules taken out of the
// template, the same calls raise nothing, so the narration reads the template rather than a fixed list.
func TestDemoAlertNarrationFollowsTheTemplate(t *testing.T) {
	tpl, outputs := goldenOutputs(t)
	var doc map[string]any
	json.Unmarshal(tpl, &doc)
	res := doc["Resources"].(map[string]any)
	for id, r := range res {
		if md, _ := r.(map[string]any)["Metadata"].(map[string]any); md["kmsguard:tier"] == "key-danger" {
			delete(res, id)
		}
	}
	stripped, _ := json.Marshal(doc)
	alerts, err := ExpectedAlerts(stripped, outputs, testAdmin, testKeyARN, ManageKeyCalls([]string{"disable"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if len(a.Tiers) != 0 {
			t.Errorf("%s raised %v without the key-danger rules", a.Call.EventName, a.Tiers)
		}
	}
	if text := strings.Join(AlertLines(alerts), "\n"); !strings.Contains(text, "1x DisableKey -> no alert") {
		t.Errorf("narration: %s", text)
	}
}
