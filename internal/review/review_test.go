package review

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// tiny builds a small kmsguard-shaped template: a master key whose policy lets MDBEnc use it from the given
// ranges, one key-danger rule on DisableKey of the key (to one topic), a trail bucket and a log group. Each
// test changes one thing in a copy.
func tiny(cidrs ...any) map[string]any {
	user := map[string]any{"Fn::GetAtt": []any{"ServerUser", "Arn"}}
	statements := []any{
		map[string]any{"Sid": "AllowUseOfTheKey", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
			"Action": []any{"kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"}, "Resource": "*",
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": user}}},
	}
	if len(cidrs) > 0 {
		statements = append(statements, map[string]any{"Sid": "DenyUseOutsideNetwork", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Action": []any{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*",
			"Condition": map[string]any{"NotIpAddress": map[string]any{"aws:SourceIp": cidrs}, "Bool": map[string]any{"aws:ViaAWSService": "false"}}})
	}
	return map[string]any{"Resources": map[string]any{
		"MasterKey": map[string]any{"Type": "AWS::KMS::Key", "Metadata": map[string]any{"kmsguard:role": "master-key"},
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{"EnableKeyRotation": true, "KeyPolicy": map[string]any{"Version": "2012-10-17", "Statement": statements}}},
		"ServerUser": map[string]any{"Type": "AWS::IAM::User", "Properties": map[string]any{"UserName": "MDBEnc"}},
		"Alias":      map[string]any{"Type": "AWS::KMS::Alias", "Properties": map[string]any{"AliasName": "alias/db", "TargetKeyId": map[string]any{"Ref": "MasterKey"}}},
		"Topic":      map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{}},
		"DangerRule": map[string]any{"Type": "AWS::Events::Rule", "Metadata": map[string]any{"kmsguard:tier": "key-danger"},
			"Properties": map[string]any{"Name": "Stack-key-danger-1", "State": "ENABLED",
				"EventPattern": map[string]any{"detail-type": []any{"AWS API Call via CloudTrail"}, "detail": map[string]any{
					"eventSource": []any{"kms.amazonaws.com"}, "eventName": []any{"DisableKey"},
					"resources": map[string]any{"ARN": []any{map[string]any{"Fn::GetAtt": []any{"MasterKey", "Arn"}}}}}},
				"Targets": []any{map[string]any{"Id": "alerts", "Arn": map[string]any{"Ref": "Topic"}}}}},
		"TrailBucket": map[string]any{"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": map[string]any{
			"ObjectLockEnabled":       true,
			"ObjectLockConfiguration": map[string]any{"ObjectLockEnabled": "Enabled", "Rule": map[string]any{"DefaultRetention": map[string]any{"Mode": "COMPLIANCE", "Days": 365.0}}}}},
		"LogGroup": map[string]any{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": map[string]any{"RetentionInDays": 365.0}},
	}}
}

func res(t map[string]any, id string) map[string]any {
	return t["Resources"].(map[string]any)[id].(map[string]any)
}

func props(t map[string]any, id string) map[string]any {
	return res(t, id)["Properties"].(map[string]any)
}

func diff(t *testing.T, a, b map[string]any) *Report {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	r, err := Diff("old", ja, "new", jb)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func texts(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		w := ""
		if f.Weaker {
			w = "WEAKER "
		}
		out = append(out, w+f.Text)
	}
	return out
}

func has(got []string, want string) bool {
	for _, g := range got {
		if g == want {
			return true
		}
	}
	return false
}

// TestEachChangeIsNamedAndWeakeningIsMarked: one change per case on the small template, each with the
// finding it must produce and whether it weakens protection; the unchanged pair is the control (a review
// that reported something for every pair would fail it).
func TestEachChangeIsNamedAndWeakeningIsMarked(t *testing.T) {
	base := func() map[string]any { return tiny("203.0.113.0/24") }
	if got := texts(diff(t, base(), base())); len(got) != 0 {
		t.Fatalf("control: the same template twice: %q", got)
	}
	for _, c := range []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"network restriction removed", func(m map[string]any) {
			for k, v := range tiny() {
				m[k] = v
			}
		}, "WEAKER MDBEnc can now Decrypt from any network or VPC endpoint"},
		{"range added", func(m map[string]any) {
			for k, v := range tiny("203.0.113.0/24", "198.51.100.7/32") {
				m[k] = v
			}
		}, "WEAKER MDBEnc can now Decrypt from 198.51.100.7/32"},
		{"tier rule dropped", func(m map[string]any) { delete(m["Resources"].(map[string]any), "DangerRule") },
			"WEAKER kms DisableKey no longer alerts (tier key-danger)"},
		{"rule disabled", func(m map[string]any) { props(m, "DangerRule")["State"] = "DISABLED" },
			"WEAKER kms DisableKey no longer alerts (tier key-danger)"},
		{"deletion policy loosened", func(m map[string]any) { res(m, "MasterKey")["DeletionPolicy"] = "Delete" },
			"WEAKER the master key (MasterKey): DeletionPolicy loosened from Retain to Delete"},
		{"rotation off", func(m map[string]any) { props(m, "MasterKey")["EnableKeyRotation"] = false },
			"WEAKER the master key (MasterKey): EnableKeyRotation turned off (true → false)"},
		{"new logical id of the key", func(m map[string]any) {
			r := m["Resources"].(map[string]any)
			r["MasterKey2"] = r["MasterKey"]
			delete(r, "MasterKey")
		}, "WEAKER the master key (MasterKey) would be replaced: its logical id becomes MasterKey2, so CloudFormation creates a new one and applies DeletionPolicy Retain to the old"},
		{"bucket renamed", func(m map[string]any) { props(m, "TrailBucket")["BucketName"] = "other" },
			"WEAKER TrailBucket (AWS::S3::Bucket) would be replaced (BucketName (not set) → other); UpdateReplacePolicy Delete (not set) applies to the old one"},
		{"retention shortened", func(m map[string]any) { props(m, "LogGroup")["RetentionInDays"] = 30.0 },
			"WEAKER LogGroup (AWS::Logs::LogGroup): retention shortened from 365 to 30 days"},
		{"Object Lock mode relaxed", func(m map[string]any) {
			props(m, "TrailBucket")["ObjectLockConfiguration"].(map[string]any)["Rule"].(map[string]any)["DefaultRetention"].(map[string]any)["Mode"] = "GOVERNANCE"
		}, "WEAKER TrailBucket (AWS::S3::Bucket): Object Lock mode COMPLIANCE → GOVERNANCE"},
		{"alias renamed (harmless)", func(m map[string]any) { props(m, "Alias")["AliasName"] = "alias/db2" },
			"Alias (AWS::KMS::Alias) would be replaced (AliasName alias/db → alias/db2)"},
		{"deletion policy tightened", func(m map[string]any) { res(m, "LogGroup")["UpdateReplacePolicy"] = "Retain" },
			"LogGroup (AWS::Logs::LogGroup): UpdateReplacePolicy tightened from Delete (not set) to Retain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := base()
			c.change(n)
			r := diff(t, base(), n)
			got := texts(r)
			if !has(got, c.want) {
				t.Errorf("missing %q in %q", c.want, got)
			}
			if r.Weaker() != strings.HasPrefix(c.want, "WEAKER ") {
				t.Errorf("Weaker() = %v for %q", r.Weaker(), got)
			}
		})
	}
}

// TestTheReverseChangeIsNotWeaker: what a change takes away its reverse gives back; only the direction that
// lowers protection is weaker (the control for the cases above, which could otherwise mark every change).
func TestTheReverseChangeIsNotWeaker(t *testing.T) {
	wide, narrow := tiny("203.0.113.0/24", "198.51.100.7/32"), tiny("203.0.113.0/24")
	r := diff(t, wide, narrow)
	if r.Weaker() || !has(texts(r), "MDBEnc can no longer Decrypt from 198.51.100.7/32") {
		t.Errorf("removing a range: %q", texts(r))
	}
	noRule := tiny("203.0.113.0/24")
	delete(noRule["Resources"].(map[string]any), "DangerRule")
	r = diff(t, noRule, tiny("203.0.113.0/24"))
	if r.Weaker() || !has(texts(r), "kms DisableKey now alerts (tier key-danger)") {
		t.Errorf("adding the rule: %q", texts(r))
	}
}

// TestMarkdownPutsWeakeningFirstInBold: the pull-request comment says the verdict, then the weakening
// findings in bold, then the other changes in plain text.
func TestMarkdownPutsWeakeningFirstInBold(t *testing.T) {
	n := tiny("203.0.113.0/24")
	res(n, "MasterKey")["DeletionPolicy"] = "Delete"
	props(n, "Alias")["AliasName"] = "alias/db2"
	var b bytes.Buffer
	diff(t, tiny("203.0.113.0/24"), n).WriteMarkdown(&b)
	md := b.String()
	weak := strings.Index(md, "- **the master key (MasterKey): DeletionPolicy loosened from Retain to Delete**")
	other := strings.Index(md, "- Alias (AWS::KMS::Alias) would be replaced")
	if !strings.Contains(md, "**Protection gets weaker: 1 finding(s).**") || weak < 0 || other < 0 || weak > other {
		t.Errorf("markdown:\n%s", md)
	}
	// Control: without the weakening change, no bold finding and the verdict says so.
	b.Reset()
	m := tiny("203.0.113.0/24")
	props(m, "Alias")["AliasName"] = "alias/db2"
	diff(t, tiny("203.0.113.0/24"), m).WriteMarkdown(&b)
	if strings.Contains(b.String(), "- **") || !strings.Contains(b.String(), "Nothing gets weaker. 1 change(s).") {
		t.Errorf("markdown without weakening:\n%s", b.String())
	}
}

// TestATemplateWithoutTheMasterKeyIsRefusedByName: a template that is not kmsguard's is an error naming
// the file and what is missing, never an empty review.
func TestATemplateWithoutTheMasterKeyIsRefusedByName(t *testing.T) {
	good, _ := json.Marshal(tiny("203.0.113.0/24"))
	_, err := Diff("old.json", good, "new.json", []byte(`{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}`))
	if err == nil || !strings.Contains(err.Error(), "new.json") || !strings.Contains(err.Error(), "kmsguard:role master-key") {
		t.Errorf("got %v", err)
	}
	if _, err := Diff("old.json", good, "new.json", good); err != nil {
		t.Errorf("control: %v", err)
	}
}
