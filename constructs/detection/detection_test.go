package detection

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"

	"github.com/kmsguard/kmsguard/internal/eventpattern"
)

func targets() Targets {
	return Targets{KeyArn: "arn:aws:kms:us-east-1:111122223333:key/k", KeyID: "k", KeyAlias: "alias/m",
		AliasArn: "arn:aws:kms:us-east-1:111122223333:alias/m", AuditKeyArns: []string{"arn:aws:kms:us-east-1:111122223333:key/a"},
		TrailName: "t", BucketNames: []string{"b1", "b2"}, LogGroupName: "/lg", TopicArns: []string{"arn:aws:sns:us-east-1:111122223333:topic", "arn:aws:sns:us-east-1:111122223333:security"},
		NamePrefix: "KmsGuard", UserArns: []string{"arn:aws:iam::111122223333:user/MDBEncAdmin"},
		UserNames: []string{"MDBEncAdmin", "MDBEnc"}}
}

func TestInputTemplateKeepsPlaceholdersAndQuotesLines(t *testing.T) {
	tmpl := InputTemplate([]string{`a "quoted" <eventName>`, "x & y"})
	if tmpl != "\"a \\\"quoted\\\" <eventName>\"\n\"x & y\"" {
		t.Fatalf("template %q", tmpl)
	}
}

func TestEveryPlaceholderHasAnInputPath(t *testing.T) {
	for _, tier := range []Tier{KeyDanger, Denied, AuditTamper, KeyUse} {
		for _, m := range regexp.MustCompile(`<([A-Za-z]+)>`).FindAllStringSubmatch(InputTemplate(Message(tier, "s")), -1) {
			if _, ok := inputPaths[m[1]]; !ok {
				t.Errorf("%s: placeholder <%s> has no input path", tier.Name, m[1])
			}
		}
	}
}

// delivered is a CloudTrail record as EventBridge delivers it to the rules.
func delivered(r record) map[string]any {
	return map[string]any{"detail-type": apiCall, "source": "aws." + strings.TrimSuffix(r["eventSource"].(string), ".amazonaws.com"),
		"detail": map[string]any(r)}
}

// raises reports whether one of a tier's patterns matches the record, as EventBridge matches
// (internal/eventpattern).
func raises(t *testing.T, patterns []map[string]any, r record) bool {
	t.Helper()
	for _, p := range patterns {
		v, err := eventpattern.ValueOf(p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := eventpattern.CompileValue(v)
		if err != nil {
			t.Fatalf("pattern %v: %v", p, err)
		}
		ok, err := c.MatchAny(delivered(r))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestEveryDangerCallOnTheKeyRaisesKeyDangerNeverKeyUse: each successful call that README.md's Detection
// table lists for key-danger, written out here, raises key-danger and not key-use, so one event never
// sends both a critical and an informational email. The control: the plugin's routine calls raise
// key-use and not key-danger.
func TestEveryDangerCallOnTheKeyRaisesKeyDangerNeverKeyUse(t *testing.T) {
	tg := targets()
	danger, use := KeyDangerPatterns(tg), KeyUsePatterns(tg)
	for _, name := range []string{"CancelKeyDeletion", "CreateAlias", "CreateGrant", "DeleteAlias", "DisableKey", "DisableKeyRotation",
		"EnableKey", "PutKeyPolicy", "RetireGrant", "RevokeGrant", "ScheduleKeyDeletion", "UpdateAlias"} {
		r := call("kms", name).on(tg.KeyArn)
		if !raises(t, danger, r) || raises(t, use, r) {
			t.Errorf("%s on the key: key-danger %v, key-use %v; want key-danger only", name, raises(t, danger, r), raises(t, use, r))
		}
	}
	for _, name := range []string{"Decrypt", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "EnableKeyRotation"} {
		r := call("kms", name).with("readOnly", true).on(tg.KeyArn)
		if raises(t, danger, r) || !raises(t, use, r) {
			t.Errorf("control: %s on the key: key-danger %v, key-use %v; want key-use only", name, raises(t, danger, r), raises(t, use, r))
		}
	}
}

// TestKeyCallsAreRecognisedByTheKeyKmsResolvedNotByWhatTheCallerSent: KMS lists the key it acted on in
// resources, while requestParameters.keyId is whatever the caller wrote (an alias, another spelling, or
// nothing at all on Decrypt). The rules follow resources: a call on our key under any spelling alerts, a
// call on another key alerts nothing even when its keyId looks like ours.
func TestKeyCallsAreRecognisedByTheKeyKmsResolvedNotByWhatTheCallerSent(t *testing.T) {
	tg := targets()
	danger, use := KeyDangerPatterns(tg), KeyUsePatterns(tg)
	if r := call("kms", "Decrypt").with("readOnly", true).on(tg.KeyArn); !raises(t, use, r) {
		t.Errorf("a Decrypt naming no keyId, on our key, raises no key-use")
	}
	if r := call("kms", "DisableKey").with("requestParameters.keyId", "alias/someone-elses-name").on(tg.KeyArn); !raises(t, danger, r) {
		t.Errorf("DisableKey on our key through another spelling raises no key-danger")
	}
	if r := call("kms", "DisableKey").with("requestParameters.keyId", tg.KeyID).on(otherKey); raises(t, danger, r) || raises(t, use, r) {
		t.Errorf("DisableKey that KMS resolved to another key raised an alert because its keyId looks like ours")
	}
}

// presentTopic and presentLogGroup stand in for constructs that Validate only needs to be non-nil (it
// never calls them), so the test needs no CDK app.
type presentTopic struct{ awssns.ITopic }
type presentLogGroup struct {
	interfacesawslogs.ILogGroupRef
}

func completeProps() Props {
	return Props{Targets: targets(), Destinations: []Destination{{Topic: presentTopic{}}}, LogGroup: presentLogGroup{},
		Namespace: "kmsguard/KmsGuard"}
}

// problemFields returns the field each line of a Validate error names, in order.
func problemFields(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		field, _, _ := strings.Cut(line, ":")
		out = append(out, field)
	}
	return out
}

// TestMissingPropsAreAllNamedInTheSameOrderEveryTime: a caller that forgets several fields gets one error
// naming each of them once, in the order of the fields, and the same text on every run (checks that
// ranged over a map would come out in a different order each time). The control removes one field from
// complete props and expects exactly that one named.
func TestMissingPropsAreAllNamedInTheSameOrderEveryTime(t *testing.T) {
	want := []string{"Targets.KeyArn", "Targets.KeyID", "Targets.KeyAlias", "Targets.AliasArn", "Targets.AuditKeyArns",
		"Targets.TrailName", "Targets.BucketNames", "Targets.NamePrefix", "Targets.UserNames", "Destinations", "LogGroup", "Namespace"}
	first := Props{}.Validate()
	for run := 0; run < 100; run++ {
		err := Props{}.Validate()
		if got := problemFields(err); !slices.Equal(got, want) {
			t.Fatalf("run %d: problems for %v, want %v", run, got, want)
		}
		if err.Error() != first.Error() {
			t.Fatalf("run %d: the message changed:\n%v\nthen:\n%v", run, first, err)
		}
	}
	if err := completeProps().Validate(); err != nil {
		t.Fatalf("complete props refused: %v", err)
	}
	p := completeProps()
	p.Targets.TrailName = ""
	if got := problemFields(p.Validate()); !slices.Equal(got, []string{"Targets.TrailName"}) {
		t.Errorf("control: props without the trail name gave problems for %v, want only Targets.TrailName", got)
	}
}
