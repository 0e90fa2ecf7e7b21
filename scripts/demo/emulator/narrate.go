package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// Deployed is the short "what was deployed" of make demo: how many resources moto created, by type, and
// what the template asked for that moto skipped (MotoSkips). state is emulator_state.py's JSON.
func Deployed(state, template []byte) ([]string, error) {
	var st struct {
		Stack     struct{ StackStatus string }
		Resources []struct{ LogicalResourceId, ResourceType string }
		Key       struct {
			KeyId, KeyState string
			RotationEnabled bool
			Aliases         []string
		}
		Rules []struct{ Name string }
		Users []string
	}
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, fmt.Errorf("emulator state: %w", err)
	}
	tpl, err := cfntemplate.Parse(template)
	if err != nil {
		return nil, err
	}
	created := map[string]int{}
	for _, r := range st.Resources {
		created[r.ResourceType]++
	}
	wanted := map[string]int{}
	for _, r := range tpl.Resources {
		wanted[r.Type]++
	}
	var made, skipped []string
	for typ, n := range wanted {
		if MotoSkips[typ] {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, strings.TrimPrefix(typ, "AWS::")))
		} else if created[typ] > 0 {
			made = append(made, fmt.Sprintf("%d %s", created[typ], strings.TrimPrefix(typ, "AWS::")))
		}
	}
	sort.Strings(made)
	sort.Strings(skipped)
	return []string{
		fmt.Sprintf("stack %s, %d of the template's %d resources created by moto", st.Stack.StackStatus, len(st.Resources), len(tpl.Resources)),
		"  created: " + strings.Join(made, ", "),
		"  skipped by moto (no CloudFormation support; created on AWS): " + strings.Join(skipped, ", "),
		fmt.Sprintf("  master key %s %v: %s, rotation %v; %d EventBridge rules; IAM users %s",
			st.Key.KeyId, st.Key.Aliases, st.Key.KeyState, st.Key.RotationEnabled, len(st.Rules), strings.Join(st.Users, ", ")),
	}, nil
}

// Call is one AWS API call a kms-manage-key command makes, as CloudTrail logs it.
type Call struct {
	Command     string // the kms-manage-key command that made it
	EventSource string
	EventName   string
	ReadOnly    bool
}

// ManageKeyCalls are the calls of kms-manage-key with an MFA code (internal/managekey): every command
// first asks STS for a session (GetSessionToken), then status reads the key (DescribeKey) and disable and
// enable change it.
func ManageKeyCalls(commands []string) []Call {
	var out []Call
	for _, c := range commands {
		out = append(out, Call{c, "sts.amazonaws.com", "GetSessionToken", false})
		switch c {
		case "status":
			out = append(out, Call{c, "kms.amazonaws.com", "DescribeKey", true})
		case "disable":
			out = append(out, Call{c, "kms.amazonaws.com", "DisableKey", false})
		case "enable":
			out = append(out, Call{c, "kms.amazonaws.com", "EnableKey", false})
		}
	}
	return out
}

// record is the CloudTrail record of call made by principal (an IAM user ARN) on the key, in the shape of
// the KMS and STS log-entry examples the detection corpus uses (test/testdata/cloudtrail/README.md).
func record(call Call, principal, keyARN string, n int) map[string]any {
	parts := strings.SplitN(keyARN, ":", 6)
	region, account := parts[3], parts[4]
	user := principal[strings.LastIndex(principal, "/")+1:]
	identity := map[string]any{"type": "IAMUser", "principalId": "AIDADEMO", "arn": principal, "accountId": account, "userName": user}
	rec := map[string]any{
		"eventVersion": "1.11", "userIdentity": identity, "eventTime": "2026-01-01T00:00:00Z",
		"eventSource": call.EventSource, "eventName": call.EventName, "awsRegion": region,
		"sourceIPAddress": "127.0.0.1", "userAgent": "kms-manage-key (make demo)",
		"eventID": fmt.Sprintf("00000000-0000-4000-8000-%012d", n), "readOnly": call.ReadOnly,
		"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
	}
	if call.EventSource == "sts.amazonaws.com" {
		rec["requestParameters"] = map[string]any{"durationSeconds": 900, "serialNumber": "arn:aws:iam::" + account + ":mfa/" + user}
	} else {
		_, keyID, _ := strings.Cut(keyARN, ":key/")
		identity["sessionContext"] = map[string]any{"attributes": map[string]any{"mfaAuthenticated": "true"}}
		rec["requestParameters"] = map[string]any{"keyId": keyID}
		rec["resources"] = []any{map[string]any{"accountId": account, "type": "AWS::KMS::Key", "ARN": keyARN}}
	}
	return rec
}

// Alert is what the deployed rules make of one call.
type Alert struct {
	Call     Call
	Tiers    []string // tiers raised, sorted; none when empty
	Rule     string   // Name of the first rule that fires
	Headline string   // first line of that rule's email, rendered by its input transformer
}

// DeployedValues are the deployed values of the template's references, for replay.Resolver.Values: Ref of
// every resource moto created (its physical id, as CloudFormation returns it) and Fn::GetAtt Arn of the
// IAM users, from emulator_state.py's JSON; then the `cdk deploy --outputs-file` JSON (moto 5.2.1 returns
// no stack outputs, so the file is {} there, but on AWS it names every reference an output exposes).
// principal is the key administrator's ARN (the AdminUserArn output's reference).
func DeployedValues(state, template, outputs []byte) (values map[string]string, principal string, err error) {
	var st struct {
		Resources []struct{ LogicalResourceId, ResourceType, PhysicalResourceId string }
	}
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, "", fmt.Errorf("emulator state: %w", err)
	}
	tpl, err := cfntemplate.Parse(template)
	if err != nil {
		return nil, "", err
	}
	values = map[string]string{}
	for _, r := range st.Resources {
		if r.PhysicalResourceId == "" {
			continue
		}
		values[r.LogicalResourceId] = r.PhysicalResourceId
		if r.ResourceType == "AWS::IAM::User" {
			path, _ := tpl.Resources[r.LogicalResourceId].Properties["Path"].(string)
			if path == "" {
				path = "/"
			}
			values[r.LogicalResourceId+".Arn"] = "arn:aws:iam::" + Account + ":user" + path + r.PhysicalResourceId
		}
	}
	var res replay.Resolver
	if err := res.AddOutputs(template, outputs); err != nil {
		return nil, "", err
	}
	for k, v := range res.Values {
		values[k] = v
	}
	o, ok := tpl.Outputs["AdminUserArn"]
	if !ok {
		return nil, "", fmt.Errorf("the template has no AdminUserArn output")
	}
	ref, _ := cfntemplate.RefOf(o.Value)
	if principal = values[ref.String()]; principal == "" {
		return nil, "", fmt.Errorf("the key administrator's ARN (%s) is neither in moto's resources nor in the outputs", ref)
	}
	return values, principal, nil
}

// ExpectedAlerts replays the CloudTrail records of calls, made by principal on keyARN, through the rules of
// the deployed template (its references resolved from the key ARN and values, see DeployedValues), as
// kmsguard-replay does: which emails AWS would send for them. moto cannot show it: CloudTrail does not run
// there and its EventBridge has no SNS targets.
func ExpectedAlerts(template []byte, values map[string]string, principal, keyARN string, calls []Call) ([]Alert, error) {
	res, err := replay.NewResolver(keyARN)
	if err != nil {
		return nil, err
	}
	for k, v := range values {
		res.Values[k] = v
	}
	rules, _, err := replay.LoadRules(template, res) // rules about resources moto skipped stay unresolved; none of them watches the key
	if err != nil {
		return nil, err
	}
	tpl, err := cfntemplate.Parse(template)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for i, c := range calls {
		ev, err := replay.WrapRecord(record(c, principal, keyARN, i))
		if err != nil {
			return nil, err
		}
		a := Alert{Call: c, Tiers: rules.Tiers(ev)}
		for j := range rules {
			if !rules[j].Matches(ev) {
				continue
			}
			a.Rule, _ = tpl.Resources[rules[j].LogicalID].Properties["Name"].(string)
			if body, err := rules[j].InputTransformer.Render(ev.Value); err == nil {
				a.Headline, _, _ = strings.Cut(body, "\n")
			}
			break
		}
		out = append(out, a)
	}
	return out, nil
}

// AlertLines narrates alerts in a few lines: identical outcomes are counted once, and the first email
// headline of each tier is shown.
func AlertLines(alerts []Alert) []string {
	type key struct{ call, outcome string }
	var order []key
	count := map[key]int{}
	shown := map[string]bool{}
	var headlines []string
	for _, a := range alerts {
		outcome := "no alert"
		if len(a.Tiers) > 0 {
			outcome = strings.Join(a.Tiers, "+") + " email (rule " + a.Rule + ")"
			if t := strings.Join(a.Tiers, "+"); !shown[t] && a.Headline != "" {
				shown[t] = true
				headlines = append(headlines, "  "+t+" email, first line: "+a.Headline)
			}
		}
		k := key{a.Call.EventName, outcome}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	var lines []string
	for _, k := range order {
		lines = append(lines, fmt.Sprintf("  %dx %s -> %s", count[k], k.call, k.outcome))
	}
	return append(lines, headlines...)
}
