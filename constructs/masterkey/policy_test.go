package masterkey

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func baseProps() Props {
	return Props{
		Alias:          "alias/mariadb-encryption",
		AccountID:      "111122223333",
		AccountRootArn: "arn:aws:iam::111122223333:root",
		KeyUserArns:    []string{"arn:aws:iam::111122223333:user/MDBEnc"},
		AdminArn:       "arn:aws:iam::111122223333:user/MDBEncAdmin",
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
	if got != "KeyAdministration,AllowUseOfTheKey,AllowEnableDisable" {
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
	for _, field := range []string{"Alias:", "AccountID:", "AccountRootArn:", "AdminArn:", "KeyUserArns:", "AllowedCidrs:", "AllowedVpcEndpoints:"} {
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
