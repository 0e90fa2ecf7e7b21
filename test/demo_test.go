package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/scripts/demo/emulator"
)

// emuState is what scripts/demo/emulator_state.py reports.
type emuState struct {
	Stack struct {
		StackStatus string
	}
	Resources []struct {
		LogicalResourceId, ResourceType, PhysicalResourceId, ResourceStatus string
	}
	Key struct {
		KeyId, Arn, KeyState, KeySpec, KeyUsage, Description string
		RotationEnabled                                      bool
		Aliases                                              []string
	}
	KeyPolicySids []string
	Rules         []struct {
		Name, State  string
		EventPattern any
		Targets      []struct {
			Id, Arn             string
			HasInputTransformer bool
		}
	}
	LogGroups []struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int    `json:"retentionInDays"`
	}
	Users []string
}

// TestEmulatorDeploy deploys the default configuration's synthesized assembly into moto_server with the
// real CDK CLI (cdk bootstrap, cdk deploy), then checks only what moto really implements against the
// template: the master key (spec, usage, description, rotation, alias, policy statements), every
// EventBridge rule (name, state, pattern, targets), the log group and the IAM users; and drives the key
// with kms-manage-key. It proves the CLI can deploy the template; it proves nothing about the trail,
// the bucket and topic policies or the subscriptions (moto skips them) or about policy evaluation.
func TestEmulatorDeploy(t *testing.T) {
	t.Parallel() // moto and the CDK CLI are processes of their own; jsii only through synth
	if testing.Short() {
		t.Skip("emulator deploy skipped with -short")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server not on PATH and CI=true: pip install 'moto[server]==5.2.1'")
		}
		t.Skip("moto_server not on PATH; CI=true makes this a failure")
	}
	repo, _ := filepath.Abs("..")
	cdk := filepath.Join(repo, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		t.Fatalf("CDK CLI missing (make setup): %v", err)
	}
	s := synth(t, "default")
	stack := s.Stack.Config.StackName
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	emu, err := emulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()

	dir := t.TempDir()
	app := filepath.Join(dir, "assembly")
	keyIDs, skipped, err := emulator.ForMoto(filepath.Join(synthRoot, "default"), app, stack)
	if err != nil {
		t.Fatal(err)
	}
	if keyIDs == 0 { // at least the alias's TargetKeyId
		t.Errorf("ForMoto rewrote no Fn::GetAtt KeyId: has the template changed?")
	}
	t.Logf("adapted for moto: %d GetAtt KeyId -> Ref, %d GetAtt of skipped resources -> placeholders", keyIDs, skipped)
	var log strings.Builder
	if err := emu.Deploy(ctx, cdk, repo, app, stack, filepath.Join(dir, "outputs.json"), &log); err != nil {
		t.Fatalf("%v\n%s\nmoto log (tail):\n%s", err, log.String(), emu.MotoLogTail(4000))
	}
	if got := emu.TerminationProtection[stack]; got != "true" {
		t.Errorf("cdk deploy asked for termination protection %q, want \"true\"", got)
	}

	raw, err := os.ReadFile(filepath.Join(app, stack+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	keyLogicalID, err := emulator.MasterKeyLogicalID(raw)
	if err != nil {
		t.Fatal(err)
	}
	state, rawState := inspectEmulator(t, ctx, emu, repo, stack, keyLogicalID)
	if state.Stack.StackStatus != "CREATE_COMPLETE" {
		t.Fatalf("stack status %s", state.Stack.StackStatus)
	}
	resources := tmpl["Resources"].(map[string]any)
	physical := map[string]string{}
	for _, r := range state.Resources {
		if r.LogicalResourceId != "" {
			physical[r.LogicalResourceId] = r.PhysicalResourceId
		}
	}
	resolve := deployedResolver(t, resources, physical)

	// The master key.
	keyProps := resources[keyLogicalID].(map[string]any)["Properties"].(map[string]any)
	k := state.Key
	if k.KeyState != "Enabled" || k.KeySpec != keyProps["KeySpec"] || k.KeyUsage != keyProps["KeyUsage"] ||
		k.Description != keyProps["Description"] || k.RotationEnabled != (keyProps["EnableKeyRotation"] == true) || !k.RotationEnabled {
		t.Errorf("master key in moto %+v differs from the template %v", k, keyProps)
	}
	if want := []string{s.Stack.Config.KeyAlias}; !reflect.DeepEqual(k.Aliases, want) {
		t.Errorf("aliases of the master key: %v, want %v", k.Aliases, want)
	}
	var wantSids []string
	for _, st := range keyProps["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		wantSids = append(wantSids, st.(map[string]any)["Sid"].(string))
	}
	if !reflect.DeepEqual(state.KeyPolicySids, wantSids) {
		t.Errorf("key policy statements in moto %v, template %v", state.KeyPolicySids, wantSids)
	}

	// Every EventBridge rule, with its state, pattern and targets.
	rules := map[string]int{}
	for i, r := range state.Rules {
		rules[r.Name] = i
	}
	nRules := 0
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		nRules++
		props := res["Properties"].(map[string]any)
		name, _ := props["Name"].(string)
		if name == "" {
			name = physical[id]
		}
		i, ok := rules[name]
		if !ok {
			t.Errorf("rule %s (%s) not in moto", name, id)
			continue
		}
		got := state.Rules[i]
		if got.State != props["State"] {
			t.Errorf("rule %s: state %q, template %q", name, got.State, props["State"])
		}
		wantPattern := resolve(props["EventPattern"])
		if !reflect.DeepEqual(normalizeJSON(got.EventPattern), normalizeJSON(wantPattern)) {
			t.Errorf("rule %s: pattern in moto\n  %v\ntemplate (resolved)\n  %v", name, got.EventPattern, wantPattern)
		}
		wantTargets, _ := props["Targets"].([]any)
		if len(got.Targets) != len(wantTargets) {
			t.Errorf("rule %s: %d targets, template %d", name, len(got.Targets), len(wantTargets))
			continue
		}
		for j, wt := range wantTargets {
			w := wt.(map[string]any)
			g := got.Targets[j]
			if g.Id != w["Id"] || g.Arn != resolve(w["Arn"]) || g.HasInputTransformer != (w["InputTransformer"] != nil) {
				t.Errorf("rule %s target %d: moto %+v, template %v", name, j, g, resolve(w))
			}
		}
	}
	if nRules == 0 || len(state.Rules) != nRules {
		t.Errorf("%d rules in moto, %d in the template", len(state.Rules), nRules)
	}

	// The audit log group and the IAM users.
	// Its name ends in the stack id, so it is read from what moto created (Ref of the log group).
	logGroup := physical[logicalIDOfType(t, s, "AWS::Logs::LogGroup", nil)]
	if !strings.HasPrefix(logGroup, "/kmsguard/cloudtrail/"+s.Stack.Config.TrailName+"/") {
		t.Errorf("log group %q is not named after the trail and the stack id", logGroup)
	}
	found := false
	for _, g := range state.LogGroups {
		if g.LogGroupName == logGroup {
			found = true
			if g.RetentionInDays != s.Stack.Config.LogRetentionDays {
				t.Errorf("log group retention %d, want %d", g.RetentionInDays, s.Stack.Config.LogRetentionDays)
			}
		}
	}
	if !found {
		t.Errorf("log group %s not in moto (%+v)", logGroup, state.LogGroups)
	}
	for _, u := range []string{s.Stack.Config.AdminUserName, s.Stack.Config.ServerUserName} {
		if !slices.Contains(state.Users, u) {
			t.Errorf("IAM user %s not in moto (%v)", u, state.Users)
		}
	}

	outputs, err := os.ReadFile(filepath.Join(dir, "outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkDemoNarration(t, rawState, raw, outputs, state, s.Stack.Config.AdminUserName)

	// kms-manage-key against the deployed key, by key id (moto mishandles some key-ARN lookups).
	if _, err := os.Stat(filepath.Join(repo, "cmd", "kms-manage-key", "main.go")); err != nil {
		t.Log("cmd/kms-manage-key not present; not driven")
		return
	}
	bin := filepath.Join(dir, "kms-manage-key")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kms-manage-key")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build kms-manage-key: %v\n%s", err, out)
	}
	manage := func(command string) string {
		c := exec.CommandContext(ctx, bin, "--key-id", k.KeyId, "--mfa-serial", "arn:aws:iam::"+emulator.Account+":mfa/"+s.Stack.Config.AdminUserName,
			"--mfa-code", "123456", command)
		c.Env = emu.Env()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kms-manage-key %s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	stateLine := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "state:" {
				return f[1]
			}
		}
		return "(no state line in: " + out + ")"
	}
	if got := stateLine(manage("status")); got != "Enabled" {
		t.Errorf("status before: %s", got)
	}
	manage("disable")
	if got := stateLine(manage("status")); got != "Disabled" {
		t.Errorf("status after disable: %s", got)
	}
	manage("enable")
	if got := stateLine(manage("status")); got != "Enabled" {
		t.Errorf("status after enable: %s", got)
	}
}

func inspectEmulator(t *testing.T, ctx context.Context, emu *emulator.Emulator, repo, stack, keyLogicalID string) (emuState, []byte) {
	t.Helper()
	raw, err := emu.Inspect(ctx, repo, stack, keyLogicalID)
	if err != nil {
		t.Fatalf("%v\nmoto log (tail):\n%s", err, emu.MotoLogTail(4000))
	}
	var st emuState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("emulator_state.py: %v\n%s", err, raw)
	}
	return st, raw
}

// checkDemoNarration runs make demo's narration (scripts/demo: what was deployed, which alerts its
// kms-manage-key calls raise) on this deploy instead of deploying again: it must be short, count what moto
// holds, and name a key-danger email for every MFA session and for disable and enable, none for status.
func checkDemoNarration(t *testing.T, rawState, tmpl, outputs []byte, state emuState, admin string) {
	t.Helper()
	deployed, err := emulator.Deployed(rawState, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Resources map[string]any }
	json.Unmarshal(tmpl, &doc)
	if want := fmt.Sprintf("stack CREATE_COMPLETE, %d of the template's %d resources created by moto", len(state.Resources), len(doc.Resources)); len(deployed) != 4 || deployed[0] != want {
		t.Errorf("make demo's deployed lines:\n%s\nwant 4 lines, the first %q", strings.Join(deployed, "\n"), want)
	}
	values, principal, err := emulator.DeployedValues(rawState, tmpl, outputs)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:iam::" + emulator.Account + ":user/" + admin; principal != want {
		t.Errorf("the demo's calls are made by %q, want the key administrator %s", principal, want)
	}
	alerts, err := emulator.ExpectedAlerts(tmpl, values, principal, state.Key.Arn, emulator.ManageKeyCalls([]string{"status", "disable", "enable"}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"GetSessionToken": "key-danger", "DescribeKey": "", "DisableKey": "key-danger", "EnableKey": "key-danger"}
	for _, a := range alerts {
		if got := strings.Join(a.Tiers, "+"); got != want[a.Call.EventName] {
			t.Errorf("make demo: %s (kms-manage-key %s) raises %q on the deployed rules, want %q", a.Call.EventName, a.Call.Command, got, want[a.Call.EventName])
		}
	}
	if lines := emulator.AlertLines(alerts); len(lines) > 6 {
		t.Errorf("make demo's alert narration is %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// deployedResolver resolves the template's intrinsics to the values moto gave them: pseudo parameters,
// Ref (physical ids, as CloudFormation returns them), Fn::GetAtt Arn of a KMS key or an IAM user, Fn::Join
// and Fn::Sub. Anything else fails the test.
func deployedResolver(t *testing.T, resources map[string]any, physical map[string]string) func(any) any {
	res := cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: emulator.Region, AccountID: emulator.Account},
		Values: map[string]string{"AWS::StackName": ""}} // not used in patterns or targets
	for id, p := range physical {
		res.Values[id] = p
	}
	for id, r := range resources {
		r, _ := r.(map[string]any)
		switch r["Type"] {
		case "AWS::KMS::Key":
			res.Values[id+".Arn"] = "arn:aws:kms:" + emulator.Region + ":" + emulator.Account + ":key/" + physical[id]
		case "AWS::IAM::User":
			props, _ := r["Properties"].(map[string]any)
			path, _ := props["Path"].(string)
			if path == "" {
				path = "/"
			}
			res.Values[id+".Arn"] = "arn:aws:iam::" + emulator.Account + ":user" + path + physical[id]
		}
	}
	return func(v any) any {
		out, unresolved := res.Resolve(v)
		if len(unresolved) > 0 {
			t.Fatalf("cannot resolve %v (not created by moto, or not an attribute this test knows)", unresolved)
		}
		return out
	}
}

// normalizeJSON round-trips a value through JSON so numbers and nesting compare alike.
func normalizeJSON(v any) any {
	if s, ok := v.(string); ok { // an EventPattern given as a JSON string
		var out any
		if json.Unmarshal([]byte(s), &out) == nil {
			return out
		}
	}
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}
