package masterkey

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/lockdown"
)

func baseProps() Props {
	return Props{
		Alias:          "alias/mariadb-encryption",
		AccountID:      "111122223333",
		AccountRootArn: "arn:aws:iam::111122223333:root",
		KeyUserArns:    []string{"arn:aws:iam::111122223333:user/MDBEnc"},
		AdminArn:       "arn:aws:iam::111122223333:user/MDBEncAdmin",
		Lock:           lockdown.Exemptions{DeployRoleArns: []string{"arn:aws:iam::111122223333:role/deploy"}},
	}
}

func sids(doc map[string]any) []string {
	var out []string
	for _, s := range doc["Statement"].([]any) {
		out = append(out, s.(map[string]any)["Sid"].(string))
	}
	return out
}

// TestNoNetworkDenyWithoutRanges: with no allowed ranges or endpoints there is nothing to deny by network,
// and without adminRequireMfa nothing to deny by MFA: the policy is the three Allow statements.
func TestNoNetworkDenyWithoutRanges(t *testing.T) {
	p := baseProps()
	p.AdminRequireMfa = false
	got := strings.Join(sids(PolicyDocument(p)), ",")
	if got != "KeyAdministration,AllowUseOfTheKey,AllowEnableDisable,DenyKeyPolicyAndDeletion,DenyShortDeletionWindow" {
		t.Fatalf("statements %s", got)
	}
}

// TestEveryNamedKeyUserMayUseTheKey: with several key users, AllowUseOfTheKey matches each of them by
// aws:PrincipalArn (a user and a role here), not only the first.
func TestEveryNamedKeyUserMayUseTheKey(t *testing.T) {
	p := baseProps()
	p.KeyUserArns = append(p.KeyUserArns, "arn:aws:iam::111122223333:role/replica")
	var use map[string]any
	for _, st := range PolicyDocument(p)["Statement"].([]any) {
		if m := st.(map[string]any); m["Sid"] == "AllowUseOfTheKey" {
			use = m
		}
	}
	if use == nil {
		t.Fatal("no AllowUseOfTheKey statement")
	}
	b, _ := json.Marshal(use["Condition"].(map[string]any)["ArnEquals"].(map[string]any)["aws:PrincipalArn"])
	var got []string
	if err := json.Unmarshal(b, &got); err != nil || !slices.Equal(got, p.KeyUserArns) {
		t.Fatalf("AllowUseOfTheKey matches aws:PrincipalArn %s, want %q", b, p.KeyUserArns)
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	err := Props{Alias: "nope", AllowedCidrs: []string{"10.0.0.0/8"}, AllowedVpcEndpoints: []string{"vpc-1"},
		KeyUserArns: []string{"arn:aws:iam::111122223333:root"}}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, field := range []string{"Alias:", "AccountID:", "AccountRootArn:", "AdminArn:", "KeyUserArns:", "AllowedCidrs:", "AllowedVpcEndpoints:", "Lock: DeployRoleArns: required"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error lacks %s: %v", field, err)
		}
	}
	p := baseProps()
	p.KeyUserArns = []string{"${Token[TOKEN.123]}"}
	if err := p.Validate(); err != nil {
		t.Fatalf("a token (a user made in the same stack) cannot be checked at synth and must pass: %v", err)
	}
}

// The lock denies PutKeyPolicy and ScheduleKeyDeletion, never DisableKey: the key administrator's duty and
// the account's emergency stop stay (README.md, "The key policy").
func TestLockKeepsDisableKeyAndNamesBreakGlassWithMfa(t *testing.T) {
	p := baseProps()
	p.Lock.BreakGlassArns = []string{"arn:aws:iam::111122223333:role/BreakGlass"}
	var locked []any
	for _, st := range PolicyDocument(p)["Statement"].([]any) {
		m := st.(map[string]any)
		if strings.HasPrefix(m["Sid"].(string), "DenyKeyPolicyAndDeletion") {
			locked = append(locked, m)
		}
	}
	b, _ := json.Marshal(locked)
	if len(locked) != 2 || strings.Contains(string(b), "kms:DisableKey") ||
		!strings.Contains(string(b), `"Action":["kms:PutKeyPolicy","kms:ScheduleKeyDeletion"]`) ||
		!strings.Contains(string(b), `"Sid":"DenyKeyPolicyAndDeletionWithoutMfa"`) {
		t.Fatalf("locked statements: %s", b)
	}
}

func TestKeyUserOrAdministratorCannotBeBreakGlass(t *testing.T) {
	for _, arn := range []string{"arn:aws:iam::111122223333:user/MDBEnc", "arn:aws:iam::111122223333:user/MDBEncAdmin"} {
		p := baseProps()
		p.Lock.BreakGlassArns = []string{arn}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "separation of duties") {
			t.Errorf("%s as break-glass: %v", arn, err)
		}
	}
	if err := baseProps().Validate(); err != nil {
		t.Fatalf("control: the base props are valid: %v", err)
	}
}
