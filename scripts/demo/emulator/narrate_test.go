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

// goldenValues are the deployed values of the default golden template's references that the key's rules
// use, as DeployedValues gives them.
func goldenValues(t *testing.T) ([]byte, map[string]string) {
	t.Helper()
	tpl, err := os.ReadFile("../../../test/testdata/default.template.json")
	if err != nil {
		t.Fatal(err)
	}
	return tpl, map[string]string{"KeyAdminUser1C39B6D3.Arn": testAdmin, "ServerUserCD90F342.Arn": "arn:aws:iam::123456789012:user/MDBEnc",
		"KeyAdminUser1C39B6D3": "MDBEncAdmin", "ServerUserCD90F342": "MDBEnc"}
}

// TestDeployedValuesNameTheAdministrator: the principal of the demo's records is the key administrator
// moto created, read from moto's resources when the outputs file is empty (moto returns no outputs) and
// from the outputs file when it has them; without either it is an error, never an empty ARN.
func TestDeployedValuesNameTheAdministrator(t *testing.T) {
	tpl, _ := goldenValues(t)
	state := []byte(`{"Resources": [{"LogicalResourceId": "KeyAdminUser1C39B6D3", "ResourceType": "AWS::IAM::User", "PhysicalResourceId": "MDBEncAdmin"}]}`)
	values, principal, err := DeployedValues(state, tpl, []byte(`{}`))
	if err != nil || principal != testAdmin || values["KeyAdminUser1C39B6D3"] != "MDBEncAdmin" {
		t.Errorf("from moto's resources: %q %v %v", principal, values, err)
	}
	fromOutputs := []byte(`{"KmsGuard": {"AdminUserArn": "arn:aws:iam::123456789012:user/ops/MDBEncAdmin"}}`)
	if _, principal, err := DeployedValues([]byte(`{}`), tpl, fromOutputs); err != nil || principal != "arn:aws:iam::123456789012:user/ops/MDBEncAdmin" {
		t.Errorf("from the outputs file: %q %v", principal, err)
	}
	if _, _, err := DeployedValues([]byte(`{}`), tpl, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "administrator") {
		t.Errorf("with neither: %v", err)
	}
}

// TestDemoNamesTheAlertsItsCallsRaiseOnAWS: the demo's kms-manage-key run (status, disable, enable) is a
// key-danger email for every MFA session and for the disable and the enable, and nothing for the status
// read, as the README's Detection section and docs/testing-alerts.md say.
func TestDemoNamesTheAlertsItsCallsRaiseOnAWS(t *testing.T) {
	tpl, values := goldenValues(t)
	alerts, err := ExpectedAlerts(tpl, values, testAdmin, testKeyARN, ManageKeyCalls([]string{"status", "disable", "enable"}))
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
	tpl, values := goldenValues(t)
	var doc map[string]any
	json.Unmarshal(tpl, &doc)
	res := doc["Resources"].(map[string]any)
	for id, r := range res {
		if md, _ := r.(map[string]any)["Metadata"].(map[string]any); md["kmsguard:tier"] == "key-danger" {
			delete(res, id)
		}
	}
	stripped, _ := json.Marshal(doc)
	alerts, err := ExpectedAlerts(stripped, values, testAdmin, testKeyARN, ManageKeyCalls([]string{"disable"}))
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
