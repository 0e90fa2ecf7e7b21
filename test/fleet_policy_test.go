package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/stacks"
)

// TestCfnLintFleet runs cfn-lint, as TestCfnLint does, on every template of the fleet shapes, the StackSet
// templates included. TestCfnLintCatchesFindings is the control for the invocation.
func TestCfnLintFleet(t *testing.T) {
	t.Parallel()
	lintAll(t) // lints the fleet's templates with the standalone ones, in one cfn-lint process
	if len(lintRun.fleet) == 0 {
		t.Fatal("no fleet template was linted")
	}
	for _, f := range lintRun.fleet {
		for _, m := range lintRun.byFile[f] {
			t.Errorf("%s:%d %s %s %s (at %v)", m.Filename, m.Location.Start.LineNumber, m.Level, m.Rule.ID, m.Message, m.Location.Path)
		}
	}
}

// memberKeyPolicy is the regional StackSet template's master key policy, its intrinsics resolved for the
// simulation's account (the template references nothing but pseudo-parameters).
func memberKeyPolicy(t *testing.T, s *FleetSynth) any {
	t.Helper()
	var policy any
	for _, r := range s.resources(s.Fleet.Config.RegionalStackSetName(), "AWS::KMS::Key") {
		if r["Metadata"].(map[string]any)["kmsguard:role"] == "master-key" {
			policy = r["Properties"].(map[string]any)["KeyPolicy"]
		}
	}
	if policy == nil {
		t.Fatal("no master key in the regional template")
	}
	raw, _ := json.Marshal(policy)
	var fresh any
	_ = json.Unmarshal(raw, &fresh)
	res := cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: simRegion, AccountID: simAccount}, Values: map[string]string{}}
	resolved, unresolved := res.Resolve(fresh)
	if len(unresolved) > 0 {
		t.Fatalf("cannot resolve %v in the member key policy", unresolved)
	}
	return resolved
}

// TestFleetKeyPolicyAnswersLikeStandalone asks the member key policy every question of the standalone
// ip-only configuration (same networks, same user names, test/policysim_test.go) and wants the answers
// README.md's key policy gives, which are also the standalone policy's: the fleet changes where the key
// lives, never who may use it.
func TestFleetKeyPolicyAnswersLikeStandalone(t *testing.T) {
	cases := simCasesFor("ip-only")
	member := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet")), cases)
	standalone := simulate(t, masterKeyPolicy(t, synth(t, "ip-only")), cases)
	for i, c := range cases {
		if member[i].Result != c.want || member[i].Result != standalone[i].Result {
			t.Errorf("%s: member %s, standalone %s, README.md says %s", c.name, member[i].Result, standalone[i].Result, c.want)
		}
	}
}

// TestFleetKeyPolicyExemptsTheStackSetsExecutionRole: the locked changes (a new key policy, a deletion)
// are left to the role service-managed StackSets deploys through, stacksets-exec-*, as the standalone
// policy leaves them to the CDK bootstrap's execution role. The control asks the standalone policy, where
// the StackSets role is nobody special and the bootstrap role is exempt.
func TestFleetKeyPolicyExemptsTheStackSetsExecutionRole(t *testing.T) {
	execRole := "arn:aws:sts::" + simAccount + ":assumed-role/stacksets-exec-0a1b2c3d4e5f60718293a4b5c6d7e8f9/session"
	bootstrapRole := "arn:aws:sts::" + simAccount + ":assumed-role/cdk-hnb659fds-cfn-exec-role-" + simAccount + "-" + simRegion + "/session"
	admin := []map[string]any{adminAccess}
	cases := []simCase{
		{"StackSets execution role may PutKeyPolicy", execRole, "kms:PutKeyPolicy", public(allowedIP), admin, allowed},
		{"CDK bootstrap role may not PutKeyPolicy in a member", bootstrapRole, "kms:PutKeyPolicy", public(allowedIP), admin, denied},
		{"a role named like it but elsewhere may not", "arn:aws:sts::" + simAccount + ":assumed-role/not-stacksets-exec-x/s", "kms:PutKeyPolicy", public(allowedIP), admin, denied},
	}
	res := simulate(t, memberKeyPolicy(t, synthFleet(t, "fleet")), cases)
	for i, c := range cases {
		if res[i].Result != c.want {
			t.Errorf("member: %s: got %s, want %s %s", c.name, res[i].Result, c.want, res[i].Errors)
		}
	}
	control := simulate(t, masterKeyPolicy(t, synth(t, "ip-only")), cases[:2])
	if control[0].Result != denied || control[1].Result != allowed {
		t.Errorf("control: the standalone policy answered %s / %s, want %s / %s", control[0].Result, control[1].Result, denied, allowed)
	}
}

// TestCentralBusPolicyRefusesAccountsOutsideTheOrganization evaluates the central bus policy, as
// synthesized, with the policy simulator (moto does not enforce bus policies): a rule's role in a member
// account of the organization may put events, the same role in an account of another organization, or of
// none, may not. The control asks a copy of the policy without its condition, which must admit the outsider.
func TestCentralBusPolicyRefusesAccountsOutsideTheOrganization(t *testing.T) {
	s := synthFleet(t, "fleet")
	var statement map[string]any
	for _, r := range s.resources("KmsGuard-Central-eu-west-1", "AWS::Events::EventBusPolicy") {
		statement = r["Properties"].(map[string]any)["Statement"].(map[string]any)
		break
	}
	busArn := "arn:aws:events:eu-west-1:999988887777:event-bus/KmsGuard-key-danger"
	resolve := func(st map[string]any) any {
		raw, _ := json.Marshal(st)
		var fresh map[string]any
		_ = json.Unmarshal(raw, &fresh)
		fresh["Resource"] = busArn // Fn::GetAtt of the bus, whose ARN CloudFormation gives at deploy time
		return map[string]any{"Version": "2012-10-17", "Statement": []any{fresh}}
	}
	putEvents := []map[string]any{{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}}}}
	member := "arn:aws:sts::" + simAccount + ":assumed-role/forward/s"
	outsider := "arn:aws:sts::444455556666:assumed-role/forward/s"
	cases := []simCase{
		{"a member account's forwarding role may put events", member, "events:PutEvents", simCtx{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}, putEvents, allowed},
		{"another organization's account may not", outsider, "events:PutEvents", simCtx{"aws:PrincipalOrgID": "o-zzzzzzzzzz"}, putEvents, noAllow},
		{"an account in no organization may not", outsider, "events:PutEvents", simCtx{}, putEvents, noAllow},
	}
	res := simulateOn(t, busArn, resolve(statement), cases)
	for i, c := range cases {
		if res[i].Result != c.want {
			t.Errorf("%s: got %s, want %s %s", c.name, res[i].Result, c.want, res[i].Errors)
		}
	}
	open := map[string]any{}
	for k, v := range statement {
		if k != "Condition" {
			open[k] = v
		}
	}
	if !strings.Contains(statement["Condition"].(map[string]any)["StringEquals"].(map[string]any)["aws:PrincipalOrgID"].(string), "o-") {
		t.Fatal("the statement has no organization condition")
	}
	control := simulateOn(t, busArn, resolve(open), cases[1:2])
	if control[0].Result != allowed {
		t.Errorf("control: without the condition the outsider got %s, want %s (the simulator must see the condition)", control[0].Result, allowed)
	}
}

// nagFleet synthesizes the named fleet with the AwsSolutions and NIST 800-53 R5 packs applied as aspects
// (stacks.NagPacks), the central stacks through NewFleet and the StackSet templates in an app of their own
// (NewFleet synthesizes them apart from the central app), and returns every warning and error by stack.
// extra, if set, adds resources to the member stack first (for the control).
func nagFleet(t *testing.T, name string, extra func(*stacks.MemberStack)) map[string][]nagFinding {
	t.Helper()
	cfg, err := stacks.ParseConfig(fleetConfigs[name])
	if err != nil {
		t.Fatal(err)
	}
	central := stacks.NewApp(t.TempDir(), false)
	members := stacks.NewApp(t.TempDir(), false)
	for _, app := range []awscdk.App{central, members} {
		for _, pack := range stacks.NagPacks(false) {
			awscdk.Aspects_Of(app).Add(pack, nil)
		}
	}
	f, err := stacks.NewFleet(central, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := stacks.NewMemberStack(members, cfg)
	if extra != nil {
		extra(m)
	}
	id := stacks.NewIdentityStack(members, cfg)
	central.Synth(nil)
	members.Synth(nil)
	all := []awscdk.Stack{m.Stack, id.Stack}
	for _, c := range f.Central {
		all = append(all, c.Stack)
	}
	out := map[string][]nagFinding{}
	for _, st := range all {
		ann := assertions.Annotations_FromStack(st)
		for level, msgs := range map[string]*[]*cxapi.SynthesisMessage{
			"error":   ann.FindError(jsii.String("*"), assertions.Match_AnyValue()),
			"warning": ann.FindWarning(jsii.String("*"), assertions.Match_AnyValue()),
		} {
			for _, msg := range *msgs {
				out[*st.StackName()] = append(out[*st.StackName()], nagFinding{level, *msg.Id, fmt.Sprint(msg.Entry.Data)})
			}
		}
	}
	return out
}

// TestNagFleetPacks fails on any AwsSolutions or NIST 800-53 R5 finding in the fleet's templates (the
// longest-names fleet, which also has the member trail); the accepted ones are suppressed on single
// resources with reasons (docs/checks.md). The control adds a bare queue to the member stack, which the
// packs must report.
func TestNagFleetPacks(t *testing.T) {
	for _, name := range []string{"fleet-longest", "fleet-mrk", "fleet-orgtrail", "fleet-roles"} {
		for stack, findings := range nagFleet(t, name, nil) {
			for _, f := range findings {
				if kmsguardOwn(f) {
					continue // the configuration warnings (TestFleetWarnsAboutWeakChoices)
				}
				t.Errorf("%s %s: %s %s: %s", name, stack, f.level, f.path, f.text)
			}
		}
	}
	found := false
	for _, findings := range nagFleet(t, "fleet-longest", func(m *stacks.MemberStack) { awssqs.NewQueue(m.Stack, jsii.String("Bare"), nil) }) {
		for _, f := range findings {
			found = found || strings.Contains(f.path, "/Bare/")
		}
	}
	if !found {
		t.Error("control: the packs did not report a bare queue in the member stack")
	}
}

// TestFleetNagSuppressionsDocumented: every suppressed rule of the fleet is in docs/checks.md with its
// resource.
func TestFleetNagSuppressionsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "checks.md"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ParseConfig(fleetConfigs["fleet-longest"])
	if err != nil {
		t.Fatal(err)
	}
	mrk, err := stacks.ParseConfig(fleetConfigs["fleet-mrk"])
	if err != nil {
		t.Fatal(err)
	}
	for _, sups := range []map[string][]stacks.NagSuppression{stacks.CentralNagSuppressions(), stacks.MemberNagSuppressions(cfg), stacks.MemberNagSuppressions(mrk), stacks.IdentityNagSuppressions(cfg)} {
		for rel, list := range sups {
			for _, s := range list {
				if !strings.Contains(string(doc), "`"+rel+"`") || !strings.Contains(string(doc), s.Rule) {
					t.Errorf("docs/checks.md does not list %s on %s", s.Rule, rel)
				}
			}
		}
	}
}

// TestFleetWarnsAboutWeakChoices: a fleet whose security destination falls back to alertEmails is warned
// about on every central stack, as the standalone stack is; the control is the fleet with securityEmails.
func TestFleetWarnsAboutWeakChoices(t *testing.T) {
	warned := func(name string) int {
		n := 0
		for _, c := range synthFleet(t, name).Fleet.Central {
			msgs := assertions.Annotations_FromStack(c.Stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("securityEmails is empty")))
			if len(*msgs) > 0 {
				n++
			}
		}
		return n
	}
	if n := warned("fleet-longest"); n != 2 {
		t.Errorf("%d of 2 central stacks warn that securityEmails falls back to alertEmails", n)
	}
	if n := warned("fleet"); n != 0 {
		t.Errorf("control: %d central stacks warn with securityEmails set", n)
	}
}
