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

// TestMemberRoleNamesAreValidatedByKeyAllAtOnce: keyUserRoleNames and breakGlassRoleNames take IAM role
// names or /path/names; every wrong entry is reported under its key, in key order and the same text twice,
// and a valid configuration with both (the control) is accepted and parsed into path and name.
func TestMemberRoleNamesAreValidatedByKeyAllAtOnce(t *testing.T) {
	ok, err := ParseConfig(fleetContext(map[string]any{
		"keyUserRoleNames":    []any{"MDBServer", "/mariadb/prod/MDBReplica"},
		"breakGlassRoleNames": "/ops/BreakGlass",
	}))
	if err != nil {
		t.Fatalf("control: valid role names refused: %v", err)
	}
	if got := memberRoles(ok.Fleet.KeyUserRoleNames); !reflect.DeepEqual(got, []MemberRole{{"/", "MDBServer"}, {"/mariadb/prod/", "MDBReplica"}}) {
		t.Errorf("parsed %+v", got)
	}
	cases := []struct {
		name  string
		extra map[string]any
		want  []string // "key: text" lines, in the order the message lists them
	}{
		{"an ARN, a bad name, a wildcard path and a duplicate", map[string]any{
			"keyUserRoleNames":    []any{"arn:aws:iam::111122223333:role/MDBServer", "/a*/MDBServer", "MDBServer", "/mdbserver"},
			"breakGlassRoleNames": []any{"/ops/", strings.Repeat("b", 65), "bad name"},
		}, []string{
			`breakGlassRoleNames: "/ops/" is not an IAM role name`,
			`breakGlassRoleNames: "` + strings.Repeat("b", 65) + `" is not an IAM role name`,
			`breakGlassRoleNames: "bad name" is not an IAM role name`,
			`keyUserRoleNames: "arn:aws:iam::111122223333:role/MDBServer" looks like an ARN`,
			`keyUserRoleNames: "/a*/MDBServer" has an unusable path "/a*/"`,
			`keyUserRoleNames: "/mdbserver" is listed twice`,
		}},
		{"a role in both lists, the StackSets role, too many, a long path, MFA", map[string]any{
			"keyUserRoleNames":    []any{"R1", "R2", "R3", "R4", "R5"},
			"breakGlassRoleNames": []any{"/r1", "stacksets-exec-abc", "/" + strings.Repeat("p", 64) + "/X"},
			"requireMfa":          true,
		}, []string{
			`breakGlassRoleNames: "stacksets-exec-abc" is named like the StackSets execution role`,
			`breakGlassRoleNames: "/` + strings.Repeat("p", 64) + `/X" has a path of 66 characters`,
			`breakGlassRoleNames: "/r1" is also in keyUserRoleNames`,
			`keyUserRoleNames: names 5 roles; kmsguard accepts at most 4`,
			`requireMfa: keyUserRoleNames names roles`,
		}},
		{"the standalone ARN keys in a fleet point to the role keys", map[string]any{
			"keyUserArns": "arn:aws:iam::111122223333:role/MDBServer", "breakGlassArns": "arn:aws:iam::111122223333:role/BreakGlass",
		}, []string{
			`breakGlassArns: is not used with deployment=org: it names principals of one account; name break-glass roles that exist in every member account with breakGlassRoleNames`,
			`keyUserArns: is not used with deployment=org: it names principals of one account; every member account gets the server user serverUserName from the identity StackSet, or name roles that exist in every member account with keyUserRoleNames`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(fleetContext(tc.extra))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			lines := strings.Split(msg, "\n")[1:]
			at := 0
			for _, want := range tc.want {
				found := false
				for ; at < len(lines); at++ {
					if strings.HasPrefix(lines[at], "  - "+want) {
						found, at = true, at+1
						break
					}
				}
				if !found {
					t.Errorf("missing, or out of order: %q in\n%s", want, msg)
				}
			}
			if len(lines) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", len(lines), len(tc.want), msg)
			}
			if _, again := ParseConfig(fleetContext(tc.extra)); again.Error() != msg {
				t.Error("the same configuration gave a different message")
			}
		})
	}
	// In a standalone configuration the role keys are refused, as every fleet key is.
	_, err = ParseConfig(withSafety(map[string]any{"keyUserRoleNames": "MDBServer", "breakGlassRoleNames": "BreakGlass"}))
	if err == nil || !strings.Contains(err.Error(), "keyUserRoleNames: is only used with deployment=org") ||
		!strings.Contains(err.Error(), "breakGlassRoleNames: is only used with deployment=org") {
		t.Errorf("standalone role keys: %v", err)
	}
}
