package test

import (
	"slices"

	"encoding/json"
	"github.com/kmsguard/kmsguard/internal/replay"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/stacks"
)

// TestMultiRegionKeyIsPrimaryAtHomeAndReplicaElsewhere (docs/fleet.md, "Multi-Region key"): with
// multiRegionKey the regional template has a multi-Region primary key created only in the home region, a
// replica created only in the other regions, naming the primary's ARN through the replicated secret, with the
// same key policy; the alias points at whichever exists. The control is the "fleet" template, whose key is a
// single-Region key without conditions and without a replica.
func TestMultiRegionKeyIsPrimaryAtHomeAndReplicaElsewhere(t *testing.T) {
	s := synthFleet(t, "fleet-mrk")
	name := s.Fleet.Config.RegionalStackSetName()
	doc := s.JSON[name]
	cond, _ := json.Marshal(doc["Conditions"].(map[string]any)["IsPrimaryKeyRegion"])
	if string(cond) != `{"Fn::Equals":[{"Ref":"AWS::Region"},"eu-west-1"]}` {
		t.Errorf("IsPrimaryKeyRegion is %s, want the home region eu-west-1", cond)
	}
	keys := s.resources(name, "AWS::KMS::Key")
	replicas := s.resources(name, "AWS::KMS::ReplicaKey")
	secrets := s.resources(name, "AWS::SecretsManager::Secret")
	if len(keys) != 1 || len(replicas) != 1 || len(secrets) != 1 {
		t.Fatalf("%d keys, %d replicas, %d secrets; want one of each", len(keys), len(replicas), len(secrets))
	}
	var keyID string
	var key, replica, secret map[string]any
	for id, r := range keys {
		keyID, key = id, r
	}
	for _, r := range replicas {
		replica = r
	}
	for _, r := range secrets {
		secret = r
	}
	kp, rp, sp := key["Properties"].(map[string]any), replica["Properties"].(map[string]any), secret["Properties"].(map[string]any)
	if kp["MultiRegion"] != true || key["Condition"] != "IsPrimaryKeyRegion" || replica["Condition"] != "IsReplicaKeyRegion" || secret["Condition"] != "IsPrimaryKeyRegion" {
		t.Errorf("primary MultiRegion %v condition %v, replica condition %v, secret condition %v", kp["MultiRegion"], key["Condition"], replica["Condition"], secret["Condition"])
	}
	if replica["DeletionPolicy"] != "RetainExceptOnCreate" && replica["DeletionPolicy"] != "Retain" {
		t.Errorf("the replica is not retained: %v", replica["DeletionPolicy"])
	}
	kpol, _ := json.Marshal(kp["KeyPolicy"])
	rpol, _ := json.Marshal(rp["KeyPolicy"])
	if string(kpol) != string(rpol) {
		t.Errorf("the replica's key policy differs from the primary's:\n%s\n%s", kpol, rpol)
	}
	secretName := s.Fleet.Config.PrimaryKeyArnSecretName()
	ref, _ := json.Marshal(rp["PrimaryKeyArn"])
	if string(ref) != `{"Fn::Sub":["${Open}{resolve:secretsmanager:`+secretName+`:SecretString}${Close}",{"Close":"}","Open":"{"}]}` {
		t.Errorf("the replica names its primary as %s", ref)
	}
	// The central stack carries this template as its StackSet's TemplateBody, where a literal dynamic
	// reference would be resolved in the security account.
	if strings.Contains(string(s.Files[name]), "{{resolve:") {
		t.Error("the regional template holds a literal dynamic reference")
	}
	val, _ := json.Marshal(sp["SecretString"])
	regions, _ := json.Marshal(sp["ReplicaRegions"])
	if sp["Name"] != secretName || string(val) != `{"Fn::GetAtt":["`+keyID+`","Arn"]}` || string(regions) != `[{"Region":"us-east-1"},{"Region":"ap-southeast-4"}]` {
		t.Errorf("the secret: name %v, value %s, replicated to %s", sp["Name"], val, regions)
	}
	for _, r := range s.resources(name, "AWS::KMS::Alias") {
		target, _ := json.Marshal(r["Properties"].(map[string]any)["TargetKeyId"])
		if !strings.Contains(string(target), `"Fn::If":["IsPrimaryKeyRegion",{"Fn::GetAtt":["`+keyID+`","KeyId"]}`) {
			t.Errorf("the alias targets %s", target)
		}
	}
	// Control: the single-Region fleet.
	plain := synthFleet(t, "fleet")
	for id, r := range plain.resources("KmsGuard-Regional", "AWS::KMS::Key") {
		if r["Properties"].(map[string]any)["MultiRegion"] != nil || r["Condition"] != nil {
			t.Errorf("control: the single-Region fleet's key %s is %v", id, r)
		}
	}
	if n := len(plain.resources("KmsGuard-Regional", "AWS::KMS::ReplicaKey")); n != 0 {
		t.Errorf("control: the single-Region fleet has %d replicas", n)
	}
}

// TestMultiRegionKeyRulesWatchTheKeyOfEachRegion: the member rules name the primary in the home region and
// the replica elsewhere (one Fn::If on the condition); the control is that no rule names the primary's ARN
// alone, which would watch a key that a replica region does not have.
func TestMultiRegionKeyRulesWatchTheKeyOfEachRegion(t *testing.T) {
	s := synthFleet(t, "fleet-mrk")
	name := s.Fleet.Config.RegionalStackSetName()
	var keyID, replicaID string
	for id := range s.resources(name, "AWS::KMS::Key") {
		keyID = id
	}
	for id := range s.resources(name, "AWS::KMS::ReplicaKey") {
		replicaID = id
	}
	either := `{"Fn::If":["IsPrimaryKeyRegion",{"Fn::GetAtt":["` + keyID + `","Arn"]},{"Fn::GetAtt":["` + replicaID + `","Arn"]}]}`
	for tier, n := range map[string]int{"key-danger": 0, "denied": 0, "key-use": 0} {
		_ = n
		found := false
		for id, r := range s.resources(name, "AWS::Events::Rule") {
			if r["Metadata"].(map[string]any)["kmsguard:tier"] != tier {
				continue
			}
			b, _ := json.Marshal(r["Properties"].(map[string]any)["EventPattern"])
			text := strings.ReplaceAll(string(b), either, "KEY")
			if strings.Contains(text, `"Fn::GetAtt":["`+keyID+`","Arn"]`) {
				t.Errorf("%s (%s) names the primary's ARN outside the Fn::If: %s", id, tier, b)
			}
			if strings.Contains(string(b), either) {
				found = true
			}
		}
		if tier != "key-use" && !found {
			t.Errorf("no %s rule watches the key of its region", tier)
		}
	}
}

// TestMultiRegionKeyPolicyLocksReplication: the multi-Region key's policy grants ReplicateKey and
// UpdatePrimaryRegion to the account (the StackSets execution role creates the replicas through it) and
// denies both, like PutKeyPolicy, to everyone but that role; the control is the single-Region key's policy,
// which names neither.
func TestMultiRegionKeyPolicyLocksReplication(t *testing.T) {
	s := synthFleet(t, "fleet-mrk")
	name := s.Fleet.Config.RegionalStackSetName()
	for id, r := range s.resources(name, "AWS::KMS::Key") {
		statements := r["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any)
		var admin, lock map[string]any
		for _, st := range statements {
			m := st.(map[string]any)
			switch m["Sid"] {
			case "KeyAdministration":
				admin = m
			case "DenyKeyPolicyAndDeletion":
				lock = m
			}
		}
		a, _ := json.Marshal(admin["Action"])
		l, _ := json.Marshal(lock)
		for _, action := range []string{"kms:ReplicateKey", "kms:UpdatePrimaryRegion"} {
			if !strings.Contains(string(a), `"`+action+`"`) || !strings.Contains(string(l), `"`+action+`"`) {
				t.Errorf("%s: %s is not granted and locked: admin %s, lock %s", id, action, a, l)
			}
		}
		if !strings.Contains(string(l), stacks.StackSetsExecRoleName) {
			t.Errorf("%s: the lock does not exempt the StackSets execution role: %s", id, l)
		}
	}
	plain := synthFleet(t, "fleet")
	raw, _ := json.Marshal(plain.resources("KmsGuard-Regional", "AWS::KMS::Key"))
	if strings.Contains(string(raw), "kms:ReplicateKey") || strings.Contains(string(raw), "kms:UpdatePrimaryRegion") {
		t.Error("control: the single-Region key's policy names the multi-Region actions")
	}
}

// TestMultiRegionKeyStackSetDeploysHomeRegionFirst: the regional StackSet of a multi-Region key deploys one
// region at a time, home first, so that every replica region finds its primary; the identity StackSet and
// the single-Region fleet (the control) keep regions in parallel.
func TestMultiRegionKeyStackSetDeploysHomeRegionFirst(t *testing.T) {
	prefs := func(s *FleetSynth, set string) string {
		for _, r := range s.resources(s.Stacks[0], "AWS::CloudFormation::StackSet") {
			p := r["Properties"].(map[string]any)
			if p["StackSetName"] == set {
				b, _ := json.Marshal(p["OperationPreferences"])
				return string(b)
			}
		}
		t.Fatalf("no StackSet %s", set)
		return ""
	}
	s := synthFleet(t, "fleet-mrk")
	cfg := s.Fleet.Config
	if got, want := prefs(s, cfg.RegionalStackSetName()), `{"FailureTolerancePercentage":10,"MaxConcurrentPercentage":25,"RegionConcurrencyType":"SEQUENTIAL","RegionOrder":["eu-west-1","us-east-1","ap-southeast-4"]}`; got != want {
		t.Errorf("regional StackSet preferences %s, want %s", got, want)
	}
	if got := prefs(s, cfg.IdentityStackSetName()); !strings.Contains(got, `"PARALLEL"`) {
		t.Errorf("identity StackSet preferences %s", got)
	}
	if got := prefs(synthFleet(t, "fleet"), "KmsGuard-Regional"); !strings.Contains(got, `"PARALLEL"`) || strings.Contains(got, "RegionOrder") {
		t.Errorf("control: the single-Region fleet's regional StackSet preferences %s", got)
	}
}

// TestMultiRegionKeyReplicaRegionAlertsOnItsReplica: replayed as a replica region's stack instance
// (us-east-1, the replica's ARN), the regional template's rules raise key-danger for DisableKey on the
// replica; replayed as the home region's instance, the same record (a key of another region) raises
// nothing, and DisableKey on the primary does (the control: the condition is evaluated, not both keys
// watched everywhere).
func TestMultiRegionKeyReplicaRegionAlertsOnItsReplica(t *testing.T) {
	s := synthFleet(t, "fleet-mrk")
	const id = "mrk-1234abcd12ab34cd56ef1234567890ab"
	disable := func(region string) replay.Event {
		arn := "arn:aws:kms:" + region + ":111122223333:key/" + id
		ev, err := replay.WrapRecord(map[string]any{
			"eventVersion": "1.08", "eventSource": "kms.amazonaws.com", "eventName": "DisableKey", "eventType": "AwsApiCall",
			"awsRegion": region, "recipientAccountId": "111122223333", "readOnly": false, "eventID": "e1", "eventTime": "2026-10-02T17:04:40Z",
			"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/MDBAdmin"},
			"requestParameters": map[string]any{"keyId": id},
			"resources":         []any{map[string]any{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	rulesFor := func(region string) replay.Rules {
		res, err := replay.NewResolver("arn:aws:kms:" + region + ":111122223333:key/" + id)
		if err != nil {
			t.Fatal(err)
		}
		// kmsguard-replay's --key-arn alone: the key of the region, primary or replica.
		rules, warnings, err := replay.LoadRules(s.Files[s.Fleet.Config.RegionalStackSetName()], res)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range warnings {
			if strings.Contains(w, "MasterKey") {
				t.Errorf("%s: %s", region, w)
			}
		}
		return rules
	}
	replica, home := rulesFor("us-east-1"), rulesFor("eu-west-1")
	if got := replica.Tiers(disable("us-east-1")); !slices.Contains(got, "key-danger") {
		t.Errorf("DisableKey on the replica raises %v in the replica region, want key-danger", got)
	}
	if got := home.Tiers(disable("eu-west-1")); !slices.Contains(got, "key-danger") {
		t.Errorf("DisableKey on the primary raises %v in the home region, want key-danger", got)
	}
	if got := home.Tiers(disable("us-east-1")); slices.Contains(got, "key-danger") {
		t.Errorf("control: the home region's rules raise %v for a key of another region", got)
	}
}
