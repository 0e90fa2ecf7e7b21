package test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/quota"
	"github.com/kmsguard/kmsguard/internal/replay"
	"github.com/kmsguard/kmsguard/stacks"
)

// The key-user and break-glass roles of configuration fleet-roles, as principals of the simulation's
// account: a session of a role without a path, and a role with one, named by its role ARN (aws:PrincipalArn
// is the role's ARN with its path for every session, docs/aws-facts.md; a session ARN drops the path).
var (
	fleetKeyUserRole     = "arn:aws:sts::" + simAccount + ":assumed-role/MDBServer/mariadb-1"
	fleetKeyUserPathRole = "arn:aws:iam::" + simAccount + ":role/mariadb/MDBReplica"
	fleetBreakGlassRoles = []string{"arn:aws:sts::" + simAccount + ":assumed-role/BreakGlass/incident-42",
		"arn:aws:iam::" + simAccount + ":role/ops/IncidentResponder"}
)

// TestFleetKeyUserRolesUseTheKeyLikeStandaloneKeyUsers: in every member account the roles named by
// keyUserRoleNames get exactly the server user's calls, under the same network restriction as the
// standalone ip-only key users (test/policysim_test.go), and the account's administrator keeps its
// answers. Controls: a role of another name, the same name without its path, the same role name in another
// account, and the server user (not created with keyUserRoleNames) may not Decrypt.
func TestFleetKeyUserRolesUseTheKeyLikeStandaloneKeyUsers(t *testing.T) {
	var cases []simCase
	for _, role := range []string{fleetKeyUserRole, fleetKeyUserPathRole} {
		cases = append(cases, serverCases(role, public(allowedIP))...)
		cases = append(cases,
			simCase{role + " may not Decrypt from another address", role, "kms:Decrypt", public(otherIP), nil, denied},
			simCase{role + " may not Decrypt through a VPC endpoint", role, "kms:Decrypt", endpoint(allowedVpce), nil, denied},
			simCase{role + " via an AWS service", role, "kms:Decrypt", public(otherIP).with("aws:ViaAWSService", "true"), nil, allowed})
	}
	cases = append(cases, commonCases(iamUser("MDBEncAdmin"), public(allowedIP))...)
	cases = append(cases,
		simCase{"control: a role of another name", "arn:aws:sts::" + simAccount + ":assumed-role/MDBServer2/x", "kms:Decrypt", public(allowedIP), nil, noAllow},
		simCase{"control: the path role's name without its path", "arn:aws:iam::" + simAccount + ":role/MDBReplica", "kms:Decrypt", public(allowedIP), nil, noAllow},
		simCase{"control: the role's name in another account", "arn:aws:sts::444455556666:assumed-role/MDBServer/x", "kms:Decrypt", public(allowedIP), []map[string]any{kmsAll}, noAllow},
		simCase{"control: the server user is not a key user", iamUser("MDBEnc"), "kms:Decrypt", public(allowedIP), nil, noAllow})
	res := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet-roles")), cases)
	for i, c := range cases {
		if res[i].Result != c.want {
			t.Errorf("%s: got %s, want %s %s", c.name, res[i].Result, c.want, res[i].Errors)
		}
	}
	// Control for the roles' grant: the fleet without keyUserRoleNames does not let them Decrypt.
	if res := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet")), cases[:1]); res[0].Result != noAllow {
		t.Errorf("control: without keyUserRoleNames the role %s", res[0].Result)
	}
}

// TestFleetBreakGlassRolesMakeTheLockedChangesOnlyWithMfa: the roles named by breakGlassRoleNames may
// replace the member key policy or schedule its deletion (30 days) from an MFA session only, as
// breakGlassArns standalone (README.md, "Locked changes"); everyone else but the StackSets execution role is
// denied. Control: the fleet without breakGlassRoleNames denies the same roles with MFA.
func TestFleetBreakGlassRolesMakeTheLockedChangesOnlyWithMfa(t *testing.T) {
	p := lockPrincipals{breakGlass: fleetBreakGlassRoles,
		deploy: "arn:aws:sts::" + simAccount + ":assumed-role/stacksets-exec-0a1b2c3d4e5f60718293a4b5c6d7e8f9/session"}
	withCtx := func(action string, c simCtx) simCtx {
		if action == "kms:ScheduleKeyDeletion" {
			return c.window(30)
		}
		return c
	}
	cases := lockedQuestions("member key", p, []string{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}, public(allowedIP), withCtx)
	cases = append(cases, simCase{"a key-user role with MFA may not PutKeyPolicy", fleetKeyUserRole, "kms:PutKeyPolicy", public(allowedIP).mfa(), withAdminAccess, denied})
	res := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet-roles")), cases)
	for i, c := range cases {
		if res[i].Result != c.want {
			t.Errorf("%s: got %s, want %s %s", c.name, res[i].Result, c.want, res[i].Errors)
		}
	}
	control := simCase{"break-glass with MFA", fleetBreakGlassRoles[1], "kms:PutKeyPolicy", public(allowedIP).mfa(), withAdminAccess, denied}
	if res := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet")), []simCase{control}); res[0].Result != denied {
		t.Errorf("control: without breakGlassRoleNames the role with MFA got %s", res[0].Result)
	}
}

// TestFleetKeyUserRolesReplaceTheServerUserAndAreWatched: with keyUserRoleNames the identity template
// creates only the administrator (control: "fleet" creates the server user too); a key-user role's creation
// (in an account that did not have it, its creator gets the key) or a change to its trust raises the
// member's key-danger tier, replayed through the regional template, as
// standalone key-user roles do (control: another role, and the same call in "fleet", raise nothing); and
// the organization trail's RoleChanges filter names every key-user role.
func TestFleetKeyUserRolesReplaceTheServerUserAndAreWatched(t *testing.T) {
	users := func(name string) int {
		return len(synthFleet(t, name).resources("KmsGuard-Identity", "AWS::IAM::User"))
	}
	if n := users("fleet-roles"); n != 1 {
		t.Errorf("fleet-roles: %d users in the identity template, want the administrator only", n)
	}
	if n := users("fleet"); n != 2 {
		t.Errorf("control: fleet has %d users, want 2", n)
	}
	call := func(event, role string) replay.Event {
		ev, err := replay.WrapRecord(map[string]any{
			"eventVersion": "1.08", "eventSource": "iam.amazonaws.com", "eventName": event, "eventType": "AwsApiCall",
			"awsRegion": "us-east-1", "recipientAccountId": "111122223333", "readOnly": false, "eventID": "e1", "eventTime": "2026-10-02T17:04:40Z",
			"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/x"},
			"requestParameters": map[string]any{"roleName": role, "policyDocument": "{}"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	roles, plain := memberRules(t, "fleet-roles", "us-east-1", keyID), memberRules(t, "fleet", "us-east-1", keyID)
	for _, event := range []string{"CreateRole", "UpdateAssumeRolePolicy"} {
		for _, role := range []string{"MDBServer", "MDBReplica"} {
			if got := roles.Tiers(call(event, role)); !slices.Equal(got, []string{"key-danger"}) {
				t.Errorf("%s of key-user role %s raises %v, want key-danger", event, role, got)
			}
			if got := plain.Tiers(call(event, role)); len(got) != 0 {
				t.Errorf("control: in a fleet without the role, %s of %s raises %v", event, role, got)
			}
		}
		if got := roles.Tiers(call(event, "SomeOtherRole")); len(got) != 0 {
			t.Errorf("control: %s of another role raises %v", event, got)
		}
	}
	cfg := synthFleet(t, "fleet-roles-longest").Fleet.Config
	roleChanges := filterPattern(t, stacks.OrgTrailFilters(cfg), "RoleChanges")
	for _, r := range cfg.Fleet.KeyUserRoleNames {
		if name := r[strings.LastIndex(r, "/")+1:]; !strings.Contains(roleChanges, `"`+name+`"`) {
			t.Errorf("the organization trail's RoleChanges filter does not name key-user role %s: %q", name, roleChanges)
		}
	}
}

// TestFleetRolesAtTheirLimitsPassTheQuotaCheck: the most and longest key-user and break-glass roles the
// configuration accepts synthesize (synthFleet runs the quota checker and the inline-template check on every
// template), and every key-user role is named in the regional template. The key-user roles have key-danger
// and denied rules of their own, which grow with each role. Control: with more key-user roles than the cap
// (validation bypassed by building the regional template directly), enough of them take that rule over the
// event-pattern budget, and the quota checker says so; the cap keeps well within it.
func TestFleetRolesAtTheirLimitsPassTheQuotaCheck(t *testing.T) {
	s := synthFleet(t, "fleet-roles-longest")
	raw := s.Files[s.Fleet.Config.RegionalStackSetName()]
	for _, r := range s.Fleet.Config.Fleet.KeyUserRoleNames {
		if !strings.Contains(string(raw), r[1:]) {
			t.Errorf("the regional template does not name key-user role %s", r)
		}
	}
	overAt := 0
	for n := stacks.MaxMemberRoles + 1; n <= 4*stacks.MaxMemberRoles && overAt == 0; n++ {
		cfg := s.Fleet.Config
		cfg.Fleet.KeyUserRoleNames = nil
		for _, r := range longestRoles("K", n) {
			cfg.Fleet.KeyUserRoleNames = append(cfg.Fleet.KeyUserRoleNames, r.(string))
		}
		dir := t.TempDir()
		app := stacks.NewApp(dir, false)
		m := stacks.NewMemberStack(app, cfg)
		app.Synth(nil)
		tpl, err := cfntemplate.Load(filepath.Join(dir, *m.StackName()+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range quota.Check(tpl, check.MaxStackName).Findings {
			if strings.Contains(f.Quota, "event pattern length") {
				overAt = n
			}
		}
	}
	if overAt == 0 {
		t.Errorf("control: even %d key-user roles fit the pattern budget; the quota checker does not see the roles rule grow", 4*stacks.MaxMemberRoles)
	}
	t.Logf("the key-user roles rule is over the pattern budget at %d roles (cap %d)", overAt, stacks.MaxMemberRoles)
}

// fleet-roles-all-longest is fleet-longest (every other setting at its longest, the member trail) with the
// most and longest roles: the regional template is then over CloudFormation's inline limit.
func init() {
	ctx := map[string]any{}
	for k, v := range fleetConfigs["fleet-longest"] {
		ctx[k] = v
	}
	delete(ctx, "requireMfa") // role key users refuse it
	ctx["keyUserRoleNames"] = longestRoles("K", stacks.MaxMemberRoles)
	ctx["breakGlassRoleNames"] = longestRoles("B", stacks.MaxMemberRoles)
	fleetConfigs["fleet-roles-all-longest"] = ctx
}

// TestFleetRolesOverTheInlineLimitGoThroughTemplateURL: the most and longest roles on top of
// fleet-longest's names, alias and member trail take the regional template over CloudFormation's inline
// limit; the synth then passes it through TemplateURL (docs/fleet.md, "Template size") and every template
// still passes the quota checker at the longest names (synthFleet fails otherwise). The control is
// fleet-roles-longest, the same roles without the long alias and the member trail, whose regional template
// stays inline.
func TestFleetRolesOverTheInlineLimitGoThroughTemplateURL(t *testing.T) {
	s := synthFleet(t, "fleet-roles-all-longest")
	if p := stackSetProps(t, s, s.Fleet.Config.RegionalStackSetName()); p["TemplateURL"] == nil || p["TemplateBody"] != nil {
		t.Errorf("the oversized regional template is not passed through TemplateURL: %v", p["TemplateURL"])
	}
	control := synthFleet(t, "fleet-roles-longest")
	if p := stackSetProps(t, control, control.Fleet.Config.RegionalStackSetName()); p["TemplateBody"] == nil || p["TemplateURL"] != nil {
		t.Errorf("control: fleet-roles-longest's regional template is not inline")
	}
}
