package lockdown

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	breakGlassRole = "arn:aws:iam::111122223333:role/BreakGlass"
	breakGlassUser = "arn:aws:iam::111122223333:user/alice"
	deployRole     = "arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1"
)

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDenyExemptsBreakGlassAndDeployRoleAndDemandsMfaOfBreakGlass(t *testing.T) {
	e := Exemptions{BreakGlassArns: []string{breakGlassRole, breakGlassUser}, DeployRoleArns: []string{deployRole}}
	got := e.Deny("DenyLocked", SupportingKeyActions, "*")
	want := `[{"Action":["kms:CreateGrant","kms:DisableKey","kms:PutKeyPolicy","kms:ScheduleKeyDeletion"],` +
		`"Condition":{"ArnNotEquals":{"aws:PrincipalArn":["` + breakGlassRole + `","` + breakGlassUser + `","` + deployRole + `"]}},` +
		`"Effect":"Deny","Principal":{"AWS":"*"},"Resource":"*","Sid":"DenyLocked"},` +
		`{"Action":["kms:CreateGrant","kms:DisableKey","kms:PutKeyPolicy","kms:ScheduleKeyDeletion"],` +
		`"Condition":{"ArnEquals":{"aws:PrincipalArn":["` + breakGlassRole + `","` + breakGlassUser + `"]},` +
		`"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}},` +
		`"Effect":"Deny","Principal":{"AWS":"*"},"Resource":"*","Sid":"DenyLockedWithoutMfa"}]`
	if g := jsonOf(t, got); g != want {
		t.Fatalf("statements\n got %s\nwant %s", g, want)
	}
}

func TestDenyWithoutBreakGlassHasNoMfaStatement(t *testing.T) {
	got := Exemptions{DeployRoleArns: []string{deployRole}}.Deny("DenyLocked", MasterKeyActions, "*")
	if len(got) != 1 {
		t.Fatalf("want only the exemption deny, got %s", jsonOf(t, got))
	}
	if g := jsonOf(t, got[0]["Condition"]); g != `{"ArnNotEquals":{"aws:PrincipalArn":"`+deployRole+`"}}` {
		t.Fatalf("condition %s", g)
	}
}

// A lock that exempts nobody (the governance bypass without break-glass principals) must deny everyone: an
// empty ArnNotEquals list is not a valid condition, and leaving the condition out is the meaning.
func TestDenyExemptingNobodyDeniesEveryone(t *testing.T) {
	got := Exemptions{DeployRoleArns: []string{deployRole}}.BreakGlassOnly().Deny("DenyBypass", []string{GovernanceBypassAction}, "arn:aws:s3:::b/*")
	if len(got) != 1 || got[0]["Condition"] != nil || got[0]["Action"] != GovernanceBypassAction {
		t.Fatalf("want one unconditional deny, got %s", jsonOf(t, got))
	}
}

func TestMinimumDeletionWindowDeniesUnderThirtyDays(t *testing.T) {
	want := `{"Action":"kms:ScheduleKeyDeletion","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"}},` +
		`"Effect":"Deny","Principal":{"AWS":"*"},"Resource":"*","Sid":"DenyShortDeletionWindow"}`
	if g := jsonOf(t, MinimumDeletionWindow("DenyShortDeletionWindow")); g != want {
		t.Fatalf("got %s\nwant %s", g, want)
	}
}

func TestValidateReportsEveryProblemByField(t *testing.T) {
	err := Exemptions{
		BreakGlassArns: []string{"arn:aws:iam::111122223333:role/*", "arn:aws:sts::111122223333:assumed-role/BreakGlass/alice",
			breakGlassUser, breakGlassUser, deployRole},
		DeployRoleArns: []string{breakGlassUser, deployRole},
	}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"BreakGlassArns: \"arn:aws:iam::111122223333:role/*\" contains a wildcard",
		"BreakGlassArns: \"arn:aws:sts::111122223333:assumed-role/BreakGlass/alice\" is a role session",
		"BreakGlassArns: \"" + breakGlassUser + "\" is listed twice",
		"DeployRoleArns: \"" + breakGlassUser + "\" is not an IAM role",
		"DeployRoleArns: \"" + deployRole + "\" is listed twice (also in BreakGlassArns)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := (Exemptions{}).Validate(); err == nil || !strings.Contains(err.Error(), "DeployRoleArns: required") {
		t.Errorf("a lock without a deploy role would fail KMS's lockout safety check; got %v", err)
	}
}

func TestAccountRootMayBeBreakGlassButNotDeployRole(t *testing.T) {
	root := "arn:aws:iam::111122223333:root"
	if err := BreakGlassARN(root); err != nil {
		t.Errorf("root as break-glass: %v", err)
	}
	if err := BreakGlassARN("arn:aws:iam::1111:root"); err == nil {
		t.Error("a malformed root ARN must be refused")
	}
	if err := DeployRoleARN(root); err == nil {
		t.Error("root as deploy role must be refused: it would exempt the root without MFA")
	}
	if err := DeployRoleARN("${Token[TOKEN.42]}"); err != nil {
		t.Errorf("a token (the default deploy role) cannot be checked at synth: %v", err)
	}
}
