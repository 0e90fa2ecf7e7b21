package summary

import (
	"bytes"
	"strings"
	"testing"
)

func TestRenderIntrinsics(t *testing.T) {
	cases := map[string]any{
		"<MasterKey.Arn>": map[string]any{"Fn::GetAtt": []any{"MasterKey", "Arn"}},
		"<Topic>":         map[string]any{"Ref": "Topic"},
		"arn:<Partition>:iam::<AccountId>:root": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": "AWS::AccountId"}, ":root"}}},
		"{BoolIfExists {aws:MultiFactorAuthPresent false}}": map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}},
	}
	for want, in := range cases {
		if got := Render(in); got != want {
			t.Errorf("Render(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteSummarizesTheKeyPolicy(t *testing.T) {
	tmpl := `{"Description":"d","Resources":{
	  "K":{"Type":"AWS::KMS::Key","DeletionPolicy":"Retain","Metadata":{"kmsguard:role":"master-key"},
	       "Properties":{"KeySpec":"SYMMETRIC_DEFAULT","EnableKeyRotation":true,"KeyPolicy":{"Statement":[
	         {"Sid":"DenyUseWithoutMfa","Effect":"Deny","Principal":{"AWS":"*"},"Action":["kms:Decrypt"],
	          "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}}},
	  "A":{"Type":"AWS::KMS::Alias","Properties":{"AliasName":"alias/x"}},
	  "R":{"Type":"AWS::Events::Rule","Metadata":{"kmsguard:tier":"denied"},"Properties":{"Name":"S-denied-1","State":"ENABLED"}}},
	  "Outputs":{"KeyArn":{}}}`
	var out bytes.Buffer
	if err := Write(&out, []byte(tmpl)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 resources", "Master key alias/x: SYMMETRIC_DEFAULT, rotation true, deletion policy Retain",
		"DenyUseWithoutMfa", "when {BoolIfExists {aws:MultiFactorAuthPresent false}}", "denied       S-denied-1 [ENABLED]", "Outputs: KeyArn"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestWriteRejectsNonJSON(t *testing.T) {
	if err := Write(&bytes.Buffer{}, []byte("not json")); err == nil {
		t.Fatal("want an error for a non-JSON template")
	}
}
