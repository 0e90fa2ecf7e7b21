package stacks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestAFreshConfigurationIsRefusedNamingTheSettingsAndTheOptOut: with no alert subscriber and no network
// restriction, synth (and so cdk deploy) stops and names both settings, the values that fix them, and the
// acceptRisks entries that record the choice instead.
func TestAFreshConfigurationIsRefusedNamingTheSettingsAndTheOptOut(t *testing.T) {
	_, err := ParseConfig(map[string]any{})
	var problems Problems
	if !errors.As(err, &problems) || len(problems) != 2 {
		t.Fatalf("want exactly the two safety problems, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`alertEmails: not set`, `"acceptRisks": ["no-alert-subscriber"]`,
		`allowedCidrs: neither allowedCidrs nor allowedVpcEndpoints is set`, `"acceptRisks": ["any-network"]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// An explicitly empty list is no choice either.
	if _, err := ParseConfig(map[string]any{"alertEmails": []any{}, "allowedCidrs": "203.0.113.0/24"}); err == nil ||
		!strings.Contains(err.Error(), "alertEmails: not set") {
		t.Errorf("an empty alertEmails list was accepted: %v", err)
	}
}

// TestRecordedRisksAreAcceptedAndNeverOutliveTheChoice: acceptRisks lets an operator deploy without a
// subscriber or a network restriction, but an entry for a risk the configuration does not take, or an unknown
// one, is an error, so the record in cdk.json always matches what is deployed.
func TestRecordedRisksAreAcceptedAndNeverOutliveTheChoice(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{"acceptRisks": "no-alert-subscriber,any-network"})
	if err != nil || len(cfg.AlertEmails) != 0 || len(cfg.AllowedCidrs) != 0 {
		t.Fatalf("both risks recorded: %v %+v", err, cfg)
	}
	for _, tc := range []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"acceptRisks": "no-alert-subscriber,any-network", "alertEmails": "dba@example.com"}, `"no-alert-subscriber" is recorded but alertEmails is set`},
		{map[string]any{"acceptRisks": "no-alert-subscriber,any-network", "allowedVpcEndpoints": "vpce-0123456789abcdef0"}, `"any-network" is recorded but a network restriction is set`},
		{map[string]any{"acceptRisks": "no-alert-subscriber,any-network,no-mfa"}, `unknown risk "no-mfa"`},
	} {
		_, err := ParseConfig(tc.ctx)
		if err == nil || !strings.Contains(err.Error(), "acceptRisks: "+tc.want) {
			t.Errorf("%v: want acceptRisks error %q, got %v", tc.ctx, tc.want, err)
		}
	}
}

// TestTheExampleFillsOnlyWhatIsUnsetWithInertValues: example=true stands in the example subscriber and the
// TEST-NET-1 range for unset settings, never for values the operator gave, and says what it filled.
func TestTheExampleFillsOnlyWhatIsUnsetWithInertValues(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{"example": true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.AlertEmails, []string{ExampleAlertEmail}) || !reflect.DeepEqual(cfg.AllowedCidrs, []string{ExampleCidr}) ||
		!reflect.DeepEqual(cfg.ExampleFilled, []string{"alertEmails=" + ExampleAlertEmail, "allowedCidrs=" + ExampleCidr}) {
		t.Errorf("example filled %+v", cfg)
	}
	cfg, err = ParseConfig(map[string]any{"example": true, "alertEmails": "dba@example.org", "allowedVpcEndpoints": "vpce-0123456789abcdef0"})
	if err != nil || !reflect.DeepEqual(cfg.AlertEmails, []string{"dba@example.org"}) || len(cfg.AllowedCidrs) != 0 || len(cfg.ExampleFilled) != 0 {
		t.Errorf("example overrode the operator's values: %v %+v", err, cfg)
	}
}
