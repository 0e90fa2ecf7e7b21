package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/quota"
	"github.com/kmsguard/kmsguard/stacks"
)

// The fleet shape (docs/fleet.md) is synthesized once per test binary per configuration and shared, like the
// standalone configurations (synth_test.go): its synth is what costs time.

// fleetConfigs are deployment=org context maps. "fleet" allows the same networks as the standalone ip-only
// configuration, so that the member key policy can be asked ip-only's questions (TestFleetKeyPolicy...).
var fleetConfigs = map[string]map[string]any{
	"fleet": {
		"deployment":      "org",
		"organizationId":  "o-a1b2c3d4e5",
		"securityAccount": "999988887777",
		"targetOus":       []any{"ou-ab12-cdefgh34"},
		"regions":         []any{"us-east-1", "eu-west-1"},
		"allowedCidrs":    "203.0.113.0/24, 198.51.100.7/32",
		"alertEmails":     "dba@example.com",
		"securityEmails":  "security@example.com",
	},
	// fleet-many-ous is "fleet" with five target OUs: nothing but the StackSets' OU lists may change.
	"fleet-many-ous": {
		"deployment":      "org",
		"organizationId":  "o-a1b2c3d4e5",
		"securityAccount": "999988887777",
		"targetOus":       []any{"ou-ab12-cdefgh34", "ou-ab12-cdefgh35", "ou-ab12-cdefgh36", "ou-ab12-cdefgh37", "r-ab12"},
		"regions":         []any{"us-east-1", "eu-west-1"},
		"allowedCidrs":    "203.0.113.0/24, 198.51.100.7/32",
		"alertEmails":     "dba@example.com",
		"securityEmails":  "security@example.com",
	},
	// fleet-longest is the worst case for the quotas and the inline template size: every name at its longest,
	// and the member trail on.
	"fleet-longest": {
		"deployment":          "org",
		"stackName":           "K" + strings.Repeat("s", 39),
		"organizationId":      "o-" + strings.Repeat("a", 32),
		"securityAccount":     "999988887777",
		"targetOus":           []any{"ou-ab12-cdefgh34"},
		"regions":             []any{"ap-southeast-4", "us-east-1"},
		"allowedCidrs":        []any{"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "2001:db8:1234::/48"},
		"allowedVpcEndpoints": []any{"vpce-0123456789abcdef0", "vpce-0fedcba9876543210", "vpce-00112233445566778"},
		"adminUserName":       "A" + strings.Repeat("d", 63),
		"serverUserName":      "S" + strings.Repeat("v", 63),
		"keyAlias":            "alias/" + strings.Repeat("k", 120),
		"requireMfa":          true,
		"memberTrail":         true,
		"alertEmails":         "dba@example.com",
	},
	// fleet-roles names key-user and break-glass roles of every member account (docs/fleet.md, "Key users and
	// break-glass roles"), one of each with a path, in the networks of "fleet".
	"fleet-roles": {
		"deployment":          "org",
		"organizationId":      "o-a1b2c3d4e5",
		"securityAccount":     "999988887777",
		"targetOus":           []any{"ou-ab12-cdefgh34"},
		"regions":             []any{"us-east-1", "eu-west-1"},
		"allowedCidrs":        "203.0.113.0/24, 198.51.100.7/32",
		"keyUserRoleNames":    []any{"MDBServer", "/mariadb/MDBReplica"},
		"breakGlassRoleNames": []any{"BreakGlass", "/ops/IncidentResponder"},
		"alertEmails":         "dba@example.com",
		"securityEmails":      "security@example.com",
	},
	// fleet-roles-longest has the most and longest key-user and break-glass roles the configuration accepts
	// (MaxMemberRoles of each, 64-character names, MaxRolePath-character paths) at the longest stack and
	// administrator names, with the organization trail's log group (whose RoleChanges filter names every
	// key-user role): every pattern, filter and policy that names the roles at its largest. With every other
	// setting at its longest too (fleet-longest's alias, member trail) the regional template is over the
	// inline limit and goes through TemplateURL (TestFleetRolesOverTheInlineLimitGoThroughTemplateURL).
	"fleet-roles-longest": {
		"deployment":          "org",
		"stackName":           "K" + strings.Repeat("s", 39),
		"organizationId":      "o-" + strings.Repeat("a", 32),
		"securityAccount":     "999988887777",
		"targetOus":           []any{"ou-ab12-cdefgh34"},
		"regions":             []any{"ap-southeast-4", "us-east-1"},
		"allowedCidrs":        []any{"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "2001:db8:1234::/48"},
		"allowedVpcEndpoints": []any{"vpce-0123456789abcdef0", "vpce-0fedcba9876543210", "vpce-00112233445566778"},
		"adminUserName":       "A" + strings.Repeat("d", 63),
		"orgTrailLogGroup":    "aws-controltower/CloudTrailLogs",
		"keyUserRoleNames":    longestRoles("K", stacks.MaxMemberRoles),
		"breakGlassRoleNames": longestRoles("B", stacks.MaxMemberRoles),
		"alertEmails":         "dba@example.com",
	},
	// fleet-mrk has a multi-Region key (docs/fleet.md, "Multi-Region key") in three regions, home first. The
	// quota checker reads every template at the longest stack name whatever the configuration's.
	"fleet-mrk": {
		"deployment":      "org",
		"organizationId":  "o-a1b2c3d4e5",
		"securityAccount": "999988887777",
		"targetOus":       []any{"ou-ab12-cdefgh34"},
		"regions":         []any{"eu-west-1", "us-east-1", "ap-southeast-4"},
		"allowedCidrs":    "203.0.113.0/24, 198.51.100.7/32",
		"multiRegionKey":  true,
		"alertEmails":     "dba@example.com",
	},
	// fleet-orgtrail names the organization trail's log group and leaves us-east-1 out of regions: the
	// metric-filter route carries IAM's events (docs/fleet.md, "The organization trail's log group").
	"fleet-orgtrail": {
		"deployment":       "org",
		"organizationId":   "o-a1b2c3d4e5",
		"securityAccount":  "999988887777",
		"targetOus":        []any{"ou-ab12-cdefgh34"},
		"regions":          []any{"eu-west-1", "eu-central-1"},
		"orgTrailLogGroup": "aws-controltower/CloudTrailLogs",
		"allowedCidrs":     "203.0.113.0/24, 198.51.100.7/32",
		"alertEmails":      "dba@example.com",
		"securityEmails":   "security@example.com",
	},
	// fleet-orgtrail-longest is fleet-orgtrail at the longest names with a 200-character log group name: the
	// central tamper rules name the log group three times in one pattern, and a name much longer takes that
	// pattern over kmsguard's budget, which the quota checker refuses at synth.
	"fleet-orgtrail-longest": {
		"deployment":       "org",
		"stackName":        "K" + strings.Repeat("s", 39),
		"organizationId":   "o-" + strings.Repeat("a", 32),
		"securityAccount":  "999988887777",
		"targetOus":        []any{"ou-ab12-cdefgh34"},
		"regions":          []any{"ap-southeast-4", "eu-central-1"},
		"orgTrailLogGroup": "aws-controltower/" + strings.Repeat("L", 183),
		"adminUserName":    "A" + strings.Repeat("d", 63),
		"serverUserName":   "S" + strings.Repeat("v", 63),
		"allowedCidrs":     "203.0.113.0/24",
		"alertEmails":      "dba@example.com",
	},
	// fleet-mrk-longest is fleet-mrk at the longest stack and user names, with MFA and the member trail: the
	// replica's second key policy and the key chosen per region in every rule take the regional template over
	// the inline limit, so it goes through TemplateURL (TestStackSetTemplateOverTheInlineLimitGoesThroughTemplateURL).
	"fleet-mrk-longest": {
		"deployment":      "org",
		"stackName":       "K" + strings.Repeat("s", 39),
		"organizationId":  "o-" + strings.Repeat("a", 32),
		"securityAccount": "999988887777",
		"targetOus":       []any{"ou-ab12-cdefgh34"},
		"regions":         []any{"eu-west-1", "us-east-1", "ap-southeast-4"},
		"allowedCidrs":    "203.0.113.0/24, 198.51.100.7/32",
		"adminUserName":   "A" + strings.Repeat("d", 63),
		"serverUserName":  "S" + strings.Repeat("v", 63),
		"requireMfa":      true,
		"memberTrail":     true,
		"multiRegionKey":  true,
		"alertEmails":     "dba@example.com",
	},
}

// longestRoles are n distinct role entries at the longest path and name the configuration accepts.
func longestRoles(prefix string, n int) []any {
	path := "/" + strings.Repeat("p", stacks.MaxRolePath-2) + "/"
	var out []any
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		out = append(out, path+name+strings.Repeat("r", 64-len(name)))
	}
	return out
}

// FleetSynth is one synthesized fleet: every template file as written to cdk.out, by name.
type FleetSynth struct {
	Name   string
	Fleet  *stacks.Fleet
	Dir    string
	Files  map[string][]byte
	JSON   map[string]map[string]any
	Stacks []string // template names, central stacks first
}

// fleetCache is guarded by synthMu, like every jsii use of a test that may run in parallel.
var fleetCache = map[string]*FleetSynth{}

// synthFleet returns the named fleet configuration's synthesis, building it on first use with the same
// steps as bin/main.go (the quota check included).
func synthFleet(t testing.TB, name string) *FleetSynth {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := fleetCache[name]; ok {
		return s
	}
	cfg, err := stacks.ParseConfig(fleetConfigs[name])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dir := filepath.Join(synthRoot, name)
	app := stacks.NewApp(dir, false)
	f, err := stacks.NewFleet(app, cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	app.Synth(nil)
	if err := f.WriteTemplates(dir); err != nil {
		t.Fatal(err)
	}
	if err := stacks.CheckFleetQuotas(f, dir); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s := &FleetSynth{Name: name, Fleet: f, Dir: dir, Files: map[string][]byte{}, JSON: map[string]map[string]any{}, Stacks: f.TemplateNames()}
	for _, n := range s.Stacks {
		raw, err := os.ReadFile(filepath.Join(dir, n+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		s.Files[n], s.JSON[n] = raw, doc
	}
	fleetCache[name] = s
	return s
}

func (s *FleetSynth) resources(name, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.JSON[name]["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// fleetGoldenName maps a template of the "fleet" configuration to its committed snapshot.
func fleetGoldenName(template string) string {
	return filepath.Join("testdata", "fleet-"+strings.TrimPrefix(template, "KmsGuard-")+".template.json")
}

// TestGoldenFleetTemplates snapshots every template of the fleet shape (the central stacks and both
// StackSet templates), so that every change to what the fleet deploys is a reviewed diff (make golden).
func TestGoldenFleetTemplates(t *testing.T) {
	s := synthFleet(t, "fleet")
	type golden struct{ template, path string }
	var goldens []golden
	for _, name := range s.Stacks {
		goldens = append(goldens, golden{name, fleetGoldenName(name)})
	}
	// The StackSet templates of the optional member features, which "fleet" leaves out: the multi-Region key
	// (and its secret's rule), and the key-user and break-glass roles.
	for _, extra := range []struct{ config, template string }{
		{"fleet-mrk", "KmsGuard-Regional"}, {"fleet-roles", "KmsGuard-Regional"}, {"fleet-roles", "KmsGuard-Identity"},
	} {
		goldens = append(goldens, golden{extra.config + "/" + extra.template,
			filepath.Join("testdata", extra.config+"-"+strings.TrimPrefix(extra.template, "KmsGuard-")+".template.json")})
	}
	for _, g := range goldens {
		name, path := g.template, g.path
		s := s
		if config, template, ok := strings.Cut(name, "/"); ok {
			s, name = synthFleet(t, config), template
		}
		if *update {
			if err := os.WriteFile(path, s.Files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (create it with: make golden)", err)
		}
		if !bytes.Equal(s.Files[name], want) {
			t.Errorf("%s differs from %s; review, then accept with: make golden", name, path)
		}
	}
}

// TestFleetWritesEveryTemplateToCdkOut: the central stacks and each StackSet template are files of their
// own in the output directory, for review.
func TestFleetWritesEveryTemplateToCdkOut(t *testing.T) {
	s := synthFleet(t, "fleet")
	want := []string{"KmsGuard-Central-us-east-1", "KmsGuard-Central-eu-west-1", "KmsGuard-Identity", "KmsGuard-Regional"}
	if fmt.Sprint(s.Stacks) != fmt.Sprint(want) {
		t.Errorf("templates %v, want %v", s.Stacks, want)
	}
	for _, n := range want {
		if _, err := os.Stat(filepath.Join(s.Dir, n+".template.json")); err != nil {
			t.Error(err)
		}
	}
}

// stackSetReadyProblems lists what keeps a template from being a StackSet's TemplateBody: a bootstrap
// version parameter or rule, an asset, a hard-coded account other than the security account's.
func stackSetReadyProblems(raw []byte, doc map[string]any, securityAccount string) []string {
	var out []string
	if params, ok := doc["Parameters"].(map[string]any); ok {
		for p := range params {
			out = append(out, "parameter "+p)
		}
	}
	if _, ok := doc["Rules"]; ok {
		out = append(out, "Rules section (CheckBootstrapVersion)")
	}
	if bytes.Contains(raw, []byte("aws:asset:")) || bytes.Contains(raw, []byte("cdk-hnb659fds-assets")) {
		out = append(out, "an asset")
	}
	for _, acct := range regexp.MustCompile(`\b[0-9]{12}\b`).FindAllString(string(raw), -1) {
		if acct != securityAccount {
			out = append(out, "hard-coded account "+acct)
		}
	}
	return out
}

// TestStackSetTemplatesAreStackSetReady: the StackSet templates have no bootstrap dependency, no asset and
// no account but the security account's (per-account values are pseudo-parameters). The control is the
// standalone stack, synthesized with the bootstrap synthesizer: the same check must find its
// BootstrapVersion parameter and rule.
func TestStackSetTemplatesAreStackSetReady(t *testing.T) {
	s := synthFleet(t, "fleet")
	for _, n := range []string{"KmsGuard-Identity", "KmsGuard-Regional"} {
		if p := stackSetReadyProblems(s.Files[n], s.JSON[n], "999988887777"); len(p) > 0 {
			t.Errorf("%s is not StackSet-ready: %v", n, p)
		}
		if !bytes.Contains(s.Files[n], []byte(`"Ref": "AWS::AccountId"`)) {
			t.Errorf("%s does not use the AWS::AccountId pseudo-parameter", n)
		}
	}
	control := synth(t, "ip-only")
	p := stackSetReadyProblems(control.Bytes, control.JSON, "")
	if !strings.Contains(fmt.Sprint(p), "parameter BootstrapVersion") || !strings.Contains(fmt.Sprint(p), "Rules section") {
		t.Errorf("control: the standalone template's bootstrap dependency was not found: %v", p)
	}
}

// TestHomeCentralStackOwnsTheStackSets: the home region's central stack (and no other) has the two
// service-managed StackSets, auto-deployed to the target OUs, called as the delegated administrator, with
// bounded failure tolerance and concurrency, and the inline TemplateBody is exactly the template written
// to cdk.out, under CloudFormation's 51,200 bytes.
func TestHomeCentralStackOwnsTheStackSets(t *testing.T) {
	s := synthFleet(t, "fleet")
	if n := len(s.resources("KmsGuard-Central-eu-west-1", "AWS::CloudFormation::StackSet")); n != 0 {
		t.Errorf("the eu-west-1 central stack has %d StackSets, want none", n)
	}
	sets := s.resources("KmsGuard-Central-us-east-1", "AWS::CloudFormation::StackSet")
	if len(sets) != 2 {
		t.Fatalf("home central stack has %d StackSets, want 2", len(sets))
	}
	wantRegions := map[string]string{"KmsGuard-Identity": "[us-east-1]", "KmsGuard-Regional": "[us-east-1 eu-west-1]"}
	for _, res := range sets {
		p := res["Properties"].(map[string]any)
		name := p["StackSetName"].(string)
		checks := map[string]bool{
			"PermissionModel SERVICE_MANAGED": p["PermissionModel"] == "SERVICE_MANAGED",
			"CallAs DELEGATED_ADMIN":          p["CallAs"] == "DELEGATED_ADMIN",
			"AutoDeployment on":               p["AutoDeployment"].(map[string]any)["Enabled"] == true,
			"failure tolerance below concurrency": p["OperationPreferences"].(map[string]any)["FailureTolerancePercentage"].(float64) <
				p["OperationPreferences"].(map[string]any)["MaxConcurrentPercentage"].(float64),
		}
		for what, ok := range checks {
			if !ok {
				t.Errorf("%s: not %s", name, what)
			}
		}
		group := p["StackInstancesGroup"].([]any)[0].(map[string]any)
		if got := fmt.Sprint(group["Regions"]); got != wantRegions[name] {
			t.Errorf("%s: regions %s, want %s", name, got, wantRegions[name])
		}
		if got := fmt.Sprint(group["DeploymentTargets"].(map[string]any)["OrganizationalUnitIds"]); got != "[ou-ab12-cdefgh34]" {
			t.Errorf("%s: OUs %s", name, got)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, s.Files[name]); err != nil {
			t.Fatal(err)
		}
		body := p["TemplateBody"].(string)
		if body != compact.String() {
			t.Errorf("%s: TemplateBody is not the template written to cdk.out", name)
		}
		if len(body) > stacks.MaxTemplateBody {
			t.Errorf("%s: TemplateBody of %d bytes", name, len(body))
		}
	}
}

// TestFleetDoesNotGrowWithOUs: five target OUs instead of one change only the StackSets' OU lists: the
// StackSet templates are byte-identical and every central stack has the same resources.
func TestFleetDoesNotGrowWithOUs(t *testing.T) {
	one, many := synthFleet(t, "fleet"), synthFleet(t, "fleet-many-ous")
	for _, n := range one.Stacks {
		if strings.Contains(n, "Central") {
			a, b := one.JSON[n]["Resources"].(map[string]any), many.JSON[n]["Resources"].(map[string]any)
			if len(a) != len(b) {
				t.Errorf("%s: %d resources with one OU, %d with five", n, len(a), len(b))
			}
			continue
		}
		if !bytes.Equal(one.Files[n], many.Files[n]) {
			t.Errorf("%s changes with the number of OUs", n)
		}
	}
	// Control: the OU lists themselves did change.
	if bytes.Equal(one.Files["KmsGuard-Central-us-east-1"], many.Files["KmsGuard-Central-us-east-1"]) {
		t.Error("control: the home central stack does not name the OUs")
	}
}

// TestMemberForwardsEveryTierToItsCentralBus: every rule of the regional template is on the default bus,
// in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, forwarding the raw event (no input transformer)
// to its tier's bus in the security account with the forwarding role and the dead-letter queue; the
// template has no trail, no topic and no subscription.
func TestMemberForwardsEveryTierToItsCentralBus(t *testing.T) {
	s := synthFleet(t, "fleet")
	const n = "KmsGuard-Regional"
	for _, typ := range []string{"AWS::CloudTrail::Trail", "AWS::SNS::Topic", "AWS::SNS::Subscription"} {
		if got := s.resources(n, typ); len(got) > 0 {
			t.Errorf("the member template has a %s", typ)
		}
	}
	tiers := map[string]int{}
	for id, r := range s.resources(n, "AWS::Events::Rule") {
		p := r["Properties"].(map[string]any)
		tier := r["Metadata"].(map[string]any)["kmsguard:tier"].(string)
		tiers[tier]++
		want := "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
		if src, _ := json.Marshal(p["EventPattern"].(map[string]any)["source"]); string(src) == `["aws.cloudwatch"]` {
			want = "ENABLED" // the undelivered-forwards alarm's own event, not a CloudTrail record (fleet_alarm_test.go)
		}
		if p["State"] != want || p["EventBusName"] != nil {
			t.Errorf("%s: state %v on bus %v", id, p["State"], p["EventBusName"])
		}
		targets := p["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s: %d targets", id, len(targets))
		}
		tg := targets[0].(map[string]any)
		arn, _ := json.Marshal(tg["Arn"])
		if !strings.Contains(string(arn), ":events:") || !strings.Contains(string(arn), ":999988887777:event-bus/KmsGuard-"+tier+`"`) {
			t.Errorf("%s (%s) forwards to %s", id, tier, arn)
		}
		if tg["InputTransformer"] != nil || tg["RoleArn"] == nil || tg["DeadLetterConfig"] == nil {
			t.Errorf("%s: target %v", id, tg)
		}
	}
	for _, tier := range []string{"key-danger", "denied", "audit-tamper", "key-use"} {
		if tiers[tier] == 0 {
			t.Errorf("no %s rule", tier)
		}
	}
}

// TestMemberTamperTierWatchesTheForwardingPath: the member's audit-tamper rules watch its forwarding rules
// (by name), its dead-letter queue, its forwarding role and its stack instance; each control is the
// pattern text without the thing it is about.
func TestMemberTamperTierWatchesTheForwardingPath(t *testing.T) {
	s := synthFleet(t, "fleet")
	var text strings.Builder
	for _, r := range s.resources("KmsGuard-Regional", "AWS::Events::Rule") {
		if r["Metadata"].(map[string]any)["kmsguard:tier"] == "audit-tamper" {
			b, _ := json.Marshal(r["Properties"].(map[string]any)["EventPattern"])
			text.Write(b)
		}
	}
	queueID := ""
	for id := range s.resources("KmsGuard-Regional", "AWS::SQS::Queue") {
		queueID = id
	}
	roleID := ""
	for id := range s.resources("KmsGuard-Regional", "AWS::IAM::Role") {
		roleID = id
	}
	for what, needle := range map[string]string{
		"the forwarding rules":   `"requestParameters":{"rule":[{"prefix":"KmsGuard-"}]}`,
		"the dead-letter queue":  `{"Ref":"` + queueID + `"}`,
		"the forwarding role":    `"roleName":[{"equals-ignore-case":{"Ref":"` + roleID + `"}}]`,
		"the stack instance":     `{"prefix":"StackSet-KmsGuard-Regional-"}`,
		"the watchdog's subject": `"KmsGuard-audit-tamper-`,
	} {
		if !strings.Contains(text.String(), needle) {
			t.Errorf("the member's audit-tamper rules do not watch %s (%s)", what, needle)
		}
	}
	if strings.Contains(text.String(), `{"prefix":"StackSet-KmsGuard-Identity-"}`) {
		t.Error("control: the regional tamper rules name the identity stack instance, which is not theirs")
	}
}

// TestCentralBusesAdmitOnlyTheOrganization: each central bus has one policy statement, PutEvents for any
// principal of the organization, by aws:PrincipalOrgID.
func TestCentralBusesAdmitOnlyTheOrganization(t *testing.T) {
	s := synthFleet(t, "fleet")
	for _, n := range s.Stacks[:2] {
		pols := s.resources(n, "AWS::Events::EventBusPolicy")
		if len(pols) != 4 {
			t.Errorf("%s: %d bus policies, want one per tier", n, len(pols))
		}
		for id, r := range pols {
			st := r["Properties"].(map[string]any)["Statement"].(map[string]any)
			cond, _ := json.Marshal(st["Condition"])
			if st["Effect"] != "Allow" || st["Action"] != "events:PutEvents" || string(cond) != `{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}` {
				t.Errorf("%s %s: %v", n, id, st)
			}
		}
	}
}

// TestCentralRulesRenderFromTheRecordInside: the central rules take account and region from the CloudTrail
// record (recipientAccountId, awsRegion), not from the forwarded envelope, and the key from its resources.
func TestCentralRulesRenderFromTheRecordInside(t *testing.T) {
	s := synthFleet(t, "fleet")
	found := 0
	for id, r := range s.resources("KmsGuard-Central-eu-west-1", "AWS::Events::Rule") {
		p := r["Properties"].(map[string]any)
		if p["EventBusName"] == nil {
			continue // the tamper rules on the security account's own default bus
		}
		if id == "centralundelivered" {
			continue // the members' alarm state changes, no CloudTrail record (fleet_alarm_test.go)
		}
		found++
		for _, tg := range p["Targets"].([]any) {
			paths := tg.(map[string]any)["InputTransformer"].(map[string]any)["InputPathsMap"].(map[string]any)
			if paths["account"] != "$.detail.recipientAccountId" || paths["region"] != "$.detail.awsRegion" || paths["key"] != "$.detail.resources[0].ARN" {
				t.Errorf("%s renders account %v, region %v, key %v", id, paths["account"], paths["region"], paths["key"])
			}
		}
	}
	if found == 0 {
		t.Fatal("no central rule on a tier bus")
	}
}

// TestCentralWatchesTheStackSets: the home region's security account rules alert on UpdateStackSet,
// DeleteStackInstances and DeleteStackSet of the fleet's StackSets.
func TestCentralWatchesTheStackSets(t *testing.T) {
	s := synthFleet(t, "fleet")
	var text strings.Builder
	for _, r := range s.resources("KmsGuard-Central-us-east-1", "AWS::Events::Rule") {
		b, _ := json.Marshal(r["Properties"].(map[string]any)["EventPattern"])
		text.Write(b)
	}
	for _, needle := range []string{`"DeleteStackInstances"`, `"DeleteStackSet"`, `"UpdateStackSet"`, `{"prefix":"KmsGuard-Regional"}`, `{"prefix":"KmsGuard-Identity"}`} {
		if !strings.Contains(text.String(), needle) {
			t.Errorf("no central rule matches %s", needle)
		}
	}
}

// TestFleetTemplatesPassTheQuotaCheckAtTheLongestNames: the quota checker runs on every fleet template in
// every synth (synthFleet fails otherwise); here on the longest names, where it has the most to find.
func TestFleetTemplatesPassTheQuotaCheckAtTheLongestNames(t *testing.T) {
	s := synthFleet(t, "fleet-longest")
	if len(s.Stacks) != 4 {
		t.Fatalf("templates %v", s.Stacks)
	}
	// Control: the same checker refuses a member template with a rule pattern grown past EventBridge's limit.
	doc := map[string]any{}
	if err := json.Unmarshal(s.Files[s.Fleet.Config.RegionalStackSetName()], &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id, r := range doc["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == "AWS::Events::Rule" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	rule := doc["Resources"].(map[string]any)[ids[0]].(map[string]any)["Properties"].(map[string]any)
	rule["EventPattern"].(map[string]any)["padding"] = []any{strings.Repeat("x", 2100)}
	raw, _ := json.Marshal(doc)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.template.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := cfntemplate.Load(filepath.Join(dir, "bad.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if findings := quota.Check(tpl, check.MaxStackName).Findings; len(findings) == 0 {
		t.Error("control: the quota checker did not refuse a 2,100-character pattern")
	}
}

// TestOrgConfigThroughTheAppWritesEveryFleetTemplate: the real CDK app (bin/) with a deployment=org context
// writes the central stacks and both StackSet templates, byte for byte what the test harness synthesizes;
// the control is a fleet that would lose IAM events, which writes no template at all.
func TestOrgConfigThroughTheAppWritesEveryFleetTemplate(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	outdir, out, err := runApp(t, fleetConfigs["fleet"])
	if err != nil {
		t.Fatalf("synth failed: %v\n%s", err, out)
	}
	s := synthFleet(t, "fleet")
	for _, n := range s.Stacks {
		raw, err := os.ReadFile(filepath.Join(outdir, n+".template.json"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(raw, s.Files[n]) {
			t.Errorf("%s: bin/ and the test harness synthesize different templates", n)
		}
	}
	bad := map[string]any{}
	for k, v := range fleetConfigs["fleet"] {
		bad[k] = v
	}
	bad["regions"] = []any{"eu-west-1"}
	outdir, out, err = runApp(t, bad)
	if err == nil || !strings.Contains(out, "regions: does not include us-east-1") {
		t.Fatalf("control: a fleet without us-east-1 was synthesized or not refused by name: %v\n%s", err, out)
	}
	if files, _ := filepath.Glob(filepath.Join(outdir, "*.template.json")); len(files) > 0 {
		t.Errorf("control: a refused fleet wrote %v", files)
	}
}

// TestMemberTrailIsSingleRegionAndWatched: with memberTrail, each member account-region has one trail of
// its own, single-region, read and write management events, IAM's events only in us-east-1, delivering to
// a bucket only it may write to; the trail and its bucket are in the member's audit-tamper tier. The
// control is the configuration without memberTrail, whose template has no trail.
func TestMemberTrailIsSingleRegionAndWatched(t *testing.T) {
	s := synthFleet(t, "fleet-longest")
	name := s.Fleet.Config.RegionalStackSetName()
	trails := s.resources(name, "AWS::CloudTrail::Trail")
	if len(trails) != 1 {
		t.Fatalf("%d trails in the member template, want 1", len(trails))
	}
	for _, r := range trails {
		p := r["Properties"].(map[string]any)
		sel, _ := json.Marshal(p["EventSelectors"])
		global, _ := json.Marshal(p["IncludeGlobalServiceEvents"])
		if p["IsMultiRegionTrail"] != false || p["IsLogging"] != true || string(sel) != `[{"IncludeManagementEvents":true,"ReadWriteType":"All"}]` ||
			string(global) != `{"Fn::If":["InIamEventRegion",true,false]}` {
			t.Errorf("member trail %v", p)
		}
	}
	cond, _ := json.Marshal(s.JSON[name]["Conditions"])
	if string(cond) != `{"InIamEventRegion":{"Fn::Equals":[{"Ref":"AWS::Region"},"us-east-1"]}}` {
		t.Errorf("condition %s", cond)
	}
	var text strings.Builder
	for _, r := range s.resources(name, "AWS::Events::Rule") {
		b, _ := json.Marshal(r["Properties"].(map[string]any)["EventPattern"])
		text.Write(b)
	}
	trailName := s.Fleet.Config.MemberTrailName()
	if !strings.Contains(text.String(), `"StopLogging"`) || !strings.Contains(text.String(), `":trail/`+trailName+`"`) {
		t.Errorf("no member rule watches the trail %s", trailName)
	}
	if !strings.Contains(text.String(), `"PutBucketPolicy"`) {
		t.Error("no member rule watches the trail bucket")
	}
	if got := synthFleet(t, "fleet").resources("KmsGuard-Regional", "AWS::CloudTrail::Trail"); len(got) != 0 {
		t.Errorf("control: without memberTrail the member template has %d trails", len(got))
	}
}
