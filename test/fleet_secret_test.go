package test

import (
	"os"
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

// secretCall is a Secrets Manager CloudTrail record in a member account (docs/aws-facts.md, "What the
// detection rules match", Secrets Manager), refused with errorCode when it is not "".
func secretCall(t *testing.T, region, name string, params map[string]any, errorCode string) replay.Event {
	t.Helper()
	rec := map[string]any{
		"eventVersion": "1.08", "eventSource": "secretsmanager.amazonaws.com", "eventName": name, "eventType": "AwsApiCall",
		"awsRegion": region, "recipientAccountId": "111122223333", "readOnly": false, "eventID": "e1", "eventTime": "2026-10-02T17:04:40Z",
		"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/x"},
		"requestParameters": params,
	}
	if errorCode != "" {
		rec["errorCode"], rec["errorMessage"] = errorCode, "refused"
	}
	ev, err := replay.WrapRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// memberRules are the regional template's rules of configuration name, replayed as the stack instance of
// region (its key ARN resolves the pseudo-parameters and, with multiRegionKey, the key of the region).
func memberRules(t *testing.T, name, region, keyID string) replay.Rules {
	t.Helper()
	s := synthFleet(t, name)
	res, err := replay.NewResolver("arn:aws:kms:" + region + ":111122223333:key/" + keyID)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := replay.LoadRules(s.Files[s.Fleet.Config.RegionalStackSetName()], res)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// TestPrimaryKeyArnSecretChangesRaiseTheMembersTamperTier: with multiRegionKey, every call that changes the
// secret carrying the primary key's ARN (its value, version stages, policy, replication, rotation, tags,
// its deletion or re-creation), naming it by name, by partial ARN or by complete ARN with Secrets Manager's
// suffix, raises the member's audit-tamper tier in the home region and in a replica region; a failed call
// is an attempt (audit-tamper too) and a denied one goes to denied. Controls: the same calls on another
// secret, and a read of ours, raise nothing; the fleet without multiRegionKey has no secret rule at all.
func TestPrimaryKeyArnSecretChangesRaiseTheMembersTamperTier(t *testing.T) {
	const id = "mrk-1234abcd12ab34cd56ef1234567890ab"
	const name = "KmsGuard-primary-key-arn"
	for _, region := range []string{"eu-west-1", "ap-southeast-4"} { // home, and a replica region of fleet-mrk
		rules := memberRules(t, "fleet-mrk", region, id)
		arn := "arn:aws:secretsmanager:" + region + ":111122223333:secret:" + name
		byID := func(v string) map[string]any { return map[string]any{"secretId": v} }
		cases := []struct {
			what string
			ev   replay.Event
			want []string
		}{
			{"PutSecretValue by name", secretCall(t, region, "PutSecretValue", byID(name), ""), []string{"audit-tamper"}},
			{"PutSecretValue by complete ARN", secretCall(t, region, "PutSecretValue", byID(arn+"-AbC123"), ""), []string{"audit-tamper"}},
			{"UpdateSecret by partial ARN", secretCall(t, region, "UpdateSecret", byID(arn), ""), []string{"audit-tamper"}},
			{"UpdateSecretVersionStage", secretCall(t, region, "UpdateSecretVersionStage", map[string]any{"secretId": name, "versionStage": "AWSCURRENT"}, ""), []string{"audit-tamper"}},
			{"DeleteSecret without recovery", secretCall(t, region, "DeleteSecret", map[string]any{"secretId": arn + "-AbC123", "forceDeleteWithoutRecovery": true}, ""), []string{"audit-tamper"}},
			{"CreateSecret under the name", secretCall(t, region, "CreateSecret", map[string]any{"name": name}, ""), []string{"audit-tamper"}},
			{"PutResourcePolicy", secretCall(t, region, "PutResourcePolicy", byID(name), ""), []string{"audit-tamper"}},
			{"DeleteResourcePolicy", secretCall(t, region, "DeleteResourcePolicy", byID(name), ""), []string{"audit-tamper"}},
			{"StopReplicationToReplica", secretCall(t, region, "StopReplicationToReplica", byID(arn+"-AbC123"), ""), []string{"audit-tamper"}},
			{"RemoveRegionsFromReplication", secretCall(t, region, "RemoveRegionsFromReplication", map[string]any{"secretId": name, "removeReplicaRegions": []any{"us-east-1"}}, ""), []string{"audit-tamper"}},
			{"ReplicateSecretToRegions", secretCall(t, region, "ReplicateSecretToRegions", byID(name), ""), []string{"audit-tamper"}},
			{"RotateSecret", secretCall(t, region, "RotateSecret", byID(name), ""), []string{"audit-tamper"}},
			{"TagResource", secretCall(t, region, "TagResource", byID(name), ""), []string{"audit-tamper"}},
			{"a failed PutSecretValue is an attempt", secretCall(t, region, "PutSecretValue", byID(name), "InvalidRequestException"), []string{"audit-tamper"}},
			{"a denied DeleteSecret is a denial", secretCall(t, region, "DeleteSecret", byID(name), "AccessDenied"), []string{"denied"}},
			{"control: another secret by name", secretCall(t, region, "PutSecretValue", byID("prod/db-password"), ""), nil},
			{"control: another secret by ARN", secretCall(t, region, "DeleteSecret", byID("arn:aws:secretsmanager:"+region+":111122223333:secret:prod/db-password-XyZ789"), ""), nil},
			{"control: another secret created", secretCall(t, region, "CreateSecret", map[string]any{"name": "prod/db-password"}, ""), nil},
			{"control: our secret read", secretCall(t, region, "GetSecretValue", byID(name), ""), nil},
		}
		for _, c := range cases {
			if got := rules.Tiers(c.ev); !slices.Equal(got, c.want) {
				t.Errorf("%s: %s raises %v, want %v", region, c.what, got, c.want)
			}
		}
	}
	// Control: without multiRegionKey there is no secret, and no rule names Secrets Manager.
	if s := synthFleet(t, "fleet"); strings.Contains(string(s.Files["KmsGuard-Regional"]), "secretsmanager.amazonaws.com") {
		t.Error("control: the single-Region fleet watches a secret it does not have")
	}
}

// TestPrimaryKeyArnSecretRulesFitThePatternBudgetAtTheLongestNames: the secret's name derives from
// stackName, so at a 40-character stack name (with fleet-mrk-longest's other names and the member trail)
// the regional template's rules, the secret's among them, pass the quota checker. The template is built
// directly, on its own (the fleet synth passes it through TemplateURL at those names). Control: the checked template has the secret's
// rules (success, attempt, denied) under the 40-character stack's secret name, so the check measured them.
func TestPrimaryKeyArnSecretRulesFitThePatternBudgetAtTheLongestNames(t *testing.T) {
	cfg, err := stacks.ParseConfig(fleetConfigs["fleet-mrk-longest"])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	app := stacks.NewApp(dir, false)
	m := stacks.NewMemberStack(app, cfg)
	app.Synth(nil)
	tpl, err := cfntemplate.Load(filepath.Join(dir, *m.StackName()+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	report := quota.Check(tpl, check.MaxStackName)
	for _, f := range report.Findings {
		t.Errorf("%s", f)
	}
	raw, err := os.ReadFile(filepath.Join(dir, *m.StackName()+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), `"prefix": "`+cfg.PrimaryKeyArnSecretName()+`"`); n != 3 {
		t.Errorf("control: the secret %s is named in %d rules, want the success, attempt and denied rules", cfg.PrimaryKeyArnSecretName(), n)
	}
}
