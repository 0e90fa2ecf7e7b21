package stacks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fleetContext is a valid deployment=org configuration (docs/fleet.md).
func fleetContext(extra map[string]any) map[string]any {
	ctx := withSafety(map[string]any{
		"deployment":      "org",
		"organizationId":  "o-a1b2c3d4e5",
		"securityAccount": "111122223333",
		"targetOus":       "ou-ab12-cdefgh34,r-ab12",
		"regions":         []any{"us-east-1", "eu-west-1"},
	})
	for k, v := range extra {
		ctx[k] = v
	}
	return ctx
}

// TestOrgConfigurationParses: a complete deployment=org configuration is accepted, and its home region is
// the first region.
func TestOrgConfigurationParses(t *testing.T) {
	cfg, err := ParseConfig(fleetContext(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.IsFleet() || cfg.HomeRegion() != "us-east-1" || !reflect.DeepEqual(cfg.Fleet.TargetOus, []string{"ou-ab12-cdefgh34", "r-ab12"}) {
		t.Errorf("parsed %+v", cfg.Fleet)
	}
}

// TestStandaloneIsTheDefaultShape: without deployment the configuration is the standalone stack (its
// goldens are unchanged, test/golden_test.go).
func TestStandaloneIsTheDefaultShape(t *testing.T) {
	cfg, err := ParseConfig(withSafety(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IsFleet() {
		t.Error("the default configuration is a fleet")
	}
}

// TestOrgProblemsAreReportedAllAtOnceByField: every wrong fleet setting is named, with its fix, in one
// run, in key order, and the same run twice gives the same text.
func TestOrgProblemsAreReportedAllAtOnceByField(t *testing.T) {
	ctx := fleetContext(map[string]any{
		"organizationId":  "org-123",
		"securityAccount": "1111-2222-3333",
		"targetOus":       "ou-ab12-cdefgh34,ou-nope,ou-ab12-cdefgh34",
		"regions":         "eu-west-1,mars-1",
		"keyUserArns":     "arn:aws:iam::111122223333:user/x",
		"trailName":       "my-trail",
	})
	_, err := ParseConfig(ctx)
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("want Problems, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"keyUserArns: is not used with deployment=org",
		"organizationId: \"org-123\" is not an organization id",
		"regions: \"mars-1\" is not a region name",
		"regions: does not include us-east-1",
		"securityAccount: \"1111-2222-3333\" is not an account id",
		"targetOus: \"ou-nope\" is neither an organizational unit id",
		"targetOus: \"ou-ab12-cdefgh34\" is listed twice",
		"trailName: is not used with deployment=org",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	var keys []string
	for _, line := range strings.Split(msg, "\n")[1:] {
		keys = append(keys, strings.SplitN(strings.TrimPrefix(line, "  - "), ":", 2)[0])
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] < keys[i-1] {
			t.Errorf("problems not in key order: %v", keys)
		}
	}
	if _, again := ParseConfig(ctx); again.Error() != msg {
		t.Error("the same configuration gave a different message")
	}
}

// TestOrgWithoutUsEast1IsRefused: IAM events reach EventBridge only in us-east-1, so a fleet without it
// would silently lose the alerts on the key users' credentials. The control adds us-east-1 back.
func TestOrgWithoutUsEast1IsRefused(t *testing.T) {
	_, err := ParseConfig(fleetContext(map[string]any{"regions": "eu-west-1,eu-central-1"}))
	if err == nil || !strings.Contains(err.Error(), "regions: does not include us-east-1") {
		t.Fatalf("want the us-east-1 refusal, got %v", err)
	}
	if _, err := ParseConfig(fleetContext(map[string]any{"regions": "eu-west-1,us-east-1"})); err != nil {
		t.Errorf("control: with us-east-1 the fleet is accepted, got %v", err)
	}
}

// TestOrgRequiresItsSettings: deployment=org with nothing else names every missing setting.
func TestOrgRequiresItsSettings(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{"deployment": "org"}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"organizationId", "securityAccount", "targetOus", "regions"} {
		if !strings.Contains(err.Error(), "  - "+key+": required with deployment=org") {
			t.Errorf("%s not named as required:\n%v", key, err)
		}
	}
}

// TestFleetSettingsWithoutOrgAreRefused: a fleet setting in a standalone configuration would be silently
// ignored; it is an error naming the fix. So is an unknown shape.
func TestFleetSettingsWithoutOrgAreRefused(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{"regions": "us-east-1", "securityAccount": "111122223333", "memberTrail": true, "multiRegionKey": true}))
	if err == nil || !strings.Contains(err.Error(), "regions: is only used with deployment=org") ||
		!strings.Contains(err.Error(), "multiRegionKey: is only used with deployment=org") ||
		!strings.Contains(err.Error(), "memberTrail: is only used with deployment=org") ||
		!strings.Contains(err.Error(), "securityAccount: is only used with deployment=org") {
		t.Errorf("got %v", err)
	}
	_, err = ParseConfig(withSafety(map[string]any{"deployment": "organization"}))
	if err == nil || !strings.Contains(err.Error(), `deployment: "organization" is not a deployment shape`) {
		t.Errorf("got %v", err)
	}
}

// TestOrgTrailLogGroupLiftsTheUsEast1RequirementAndIsValidated: with orgTrailLogGroup, a fleet without
// us-east-1 is accepted (the metric-filter route carries IAM's events); without it (the control) it is
// refused. A log group ARN or a malformed name is refused naming orgTrailLogGroup, and so is the key in a
// standalone configuration.
func TestOrgTrailLogGroupLiftsTheUsEast1RequirementAndIsValidated(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		ctx := withSafety(map[string]any{"deployment": "org", "organizationId": "o-a1b2c3d4e5", "securityAccount": "111122223333",
			"targetOus": "ou-ab12-cdefgh34", "regions": "eu-west-1"})
		for k, v := range extra {
			ctx[k] = v
		}
		return ctx
	}
	if _, err := ParseConfig(base(map[string]any{"orgTrailLogGroup": "aws-controltower/CloudTrailLogs"})); err != nil {
		t.Errorf("a fleet with orgTrailLogGroup and without us-east-1 was refused: %v", err)
	}
	if _, err := ParseConfig(base(nil)); err == nil || !strings.Contains(err.Error(), "regions: does not include us-east-1") {
		t.Errorf("control: a fleet without us-east-1 or orgTrailLogGroup: %v", err)
	}
	for _, bad := range []string{"arn:aws:logs:eu-west-1:111122223333:log-group:aws-controltower/CloudTrailLogs:*", "bad name!"} {
		if _, err := ParseConfig(base(map[string]any{"orgTrailLogGroup": bad})); err == nil || !strings.Contains(err.Error(), "orgTrailLogGroup: ") {
			t.Errorf("orgTrailLogGroup %q: %v", bad, err)
		}
	}
	if _, err := ParseConfig(withSafety(map[string]any{"orgTrailLogGroup": "x"})); err == nil || !strings.Contains(err.Error(), "orgTrailLogGroup: is only used with deployment=org") {
		t.Errorf("standalone orgTrailLogGroup: %v", err)
	}
}
