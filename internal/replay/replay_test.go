package replay

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const keyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func loadTestRules(t testing.TB, res Resolver) (Rules, []string) {
	t.Helper()
	tpl, err := os.ReadFile("testdata/template.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, warnings, err := LoadRules(tpl, res)
	if err != nil {
		t.Fatal(err)
	}
	return rules, warnings
}

func TestLoadRulesResolvesIntrinsics(t *testing.T) {
	res, err := NewResolver(keyARN)
	if err != nil {
		t.Fatal(err)
	}
	rules, warnings := loadTestRules(t, res)
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.LogicalID+"/"+r.Tier+"/"+string(r.State))
	}
	want := []string{
		"DeniedRule/denied/ENABLED",
		"KeyDangerRule/key-danger/ENABLED",
		"KeyUseRule/key-use/ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
		"OffRule/key-danger/DISABLED",
		"TamperRule/TamperRule/ENABLED",
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("rules = %v, want %v", ids, want)
	}
	for _, r := range rules {
		if r.LogicalID == "KeyUseRule" && !strings.Contains(string(r.PatternJSON), `"`+keyARN+`"`) {
			t.Errorf("Fn::Join not resolved: %s", r.PatternJSON)
		}
		if r.LogicalID == "DeniedRule" && strings.Count(string(r.PatternJSON), keyARN) != 2 {
			t.Errorf("Fn::Sub / GetAtt not resolved: %s", r.PatternJSON)
		}
		if r.LogicalID == "KeyDangerRule" && (r.InputTransformer == nil || r.InputTransformer.InputPathsMap["name"] != "$.detail.eventName") {
			t.Errorf("input transformer = %+v", r.InputTransformer)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "TamperRule") || !strings.Contains(warnings[0], "--resolve AlertTopic=VALUE") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestLoadRulesWithoutKeyWarns(t *testing.T) {
	_, warnings := loadTestRules(t, Resolver{})
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{"MasterKey.Arn (pass --key-arn)", "AWS::Partition", "AlertTopic"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}

func TestResolverOutputsAndExplicitValues(t *testing.T) {
	tpl, _ := os.ReadFile("testdata/template.json")
	res, _ := NewResolver(keyARN)
	if err := res.AddOutputs(tpl, []byte(`{"KmsGuard":{"TopicArn":"arn:aws:sns:eu-west-1:111122223333:alerts"}}`)); err != nil {
		t.Fatal(err)
	}
	rules, warnings, err := LoadRules(tpl, res)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("err %v warnings %q", err, warnings)
	}
	ev := mustWrap(t, `{"eventSource":"sns.amazonaws.com","eventName":"DeleteTopic","requestParameters":{"topicArn":"arn:aws:sns:eu-west-1:111122223333:alerts"}}`)
	if got := rules.Tiers(ev); !reflect.DeepEqual(got, []string{"TamperRule"}) {
		t.Errorf("Tiers = %v", got)
	}
}

func TestNewResolverRejectsBadARN(t *testing.T) {
	for _, a := range []string{"arn:aws:kms:eu-west-1:1:alias/x", "nope", "arn:aws:s3:::b"} {
		if _, err := NewResolver(a); err == nil {
			t.Errorf("NewResolver(%q) succeeded", a)
		}
	}
}

func TestTiersRespectState(t *testing.T) {
	res, _ := NewResolver(keyARN)
	rules, _ := loadTestRules(t, res)
	res2 := `"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"` + keyARN + `"}]`
	cases := []struct {
		name, record string
		want         []string
	}{
		{"decrypt is read-only: only the ENABLED_WITH_ALL rule sees it",
			`{"eventType":"AwsApiCall","eventSource":"kms.amazonaws.com","eventName":"Decrypt","readOnly":true,"eventCategory":"Management",` + res2 + `}`, []string{"key-use"}},
		{"disable key",
			`{"eventType":"AwsApiCall","eventSource":"kms.amazonaws.com","eventName":"DisableKey","readOnly":false,` + res2 + `}`, []string{"key-danger"}},
		{"deletion is a service event",
			`{"eventType":"AwsServiceEvent","eventSource":"kms.amazonaws.com","eventName":"DeleteKey",` + res2 + `}`, []string{"key-danger"}},
		{"other key",
			`{"eventType":"AwsApiCall","eventSource":"kms.amazonaws.com","eventName":"DisableKey","resources":[{"ARN":"arn:aws:kms:eu-west-1:111122223333:key/other"}]}`, nil},
		{"denied read-only call on the key is hidden from the ENABLED denied rule",
			`{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","readOnly":true,"errorCode":"AccessDenied","requestParameters":{"keyId":"` + keyARN + `"}}`, nil},
		{"denied write call",
			`{"eventSource":"kms.amazonaws.com","eventName":"EnableKey","readOnly":false,"errorCode":"AccessDeniedException","requestParameters":{"keyId":"` + keyARN + `"}}`, []string{"denied"}},
		{"unknown event type is not delivered",
			`{"eventType":"AwsVpceEvent","eventSource":"kms.amazonaws.com","eventName":"DisableKey",` + res2 + `}`, nil},
	}
	for _, c := range cases {
		if got := rules.Tiers(mustWrap(t, c.record)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Tiers = %v, want %v", c.name, got, c.want)
		}
	}
}
