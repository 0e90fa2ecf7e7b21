package detection

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
)

func targets() Targets {
	return Targets{KeyArn: "arn:aws:kms:us-east-1:111122223333:key/k", KeyID: "k", KeyAlias: "alias/m",
		AliasArn: "arn:aws:kms:us-east-1:111122223333:alias/m", AuditKeyArns: []string{"arn:aws:kms:us-east-1:111122223333:key/a"},
		TrailName: "t", BucketNames: []string{"b1", "b2"}, LogGroupName: "/lg", TopicArn: "arn:aws:sns:us-east-1:111122223333:topic",
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

func TestKeyRulesMatchByResourceArn(t *testing.T) {
	for name, patterns := range map[string][]map[string]any{"danger": KeyDangerPatterns(targets()), "use": KeyUsePatterns(targets())} {
		for i, p := range patterns {
			b, _ := json.Marshal(p)
			byAlias := strings.Contains(string(b), `"aliasName"`)
			if !byAlias && !strings.Contains(string(b), `"resources":{"ARN":["arn:aws:kms:us-east-1:111122223333:key/k"]}`) {
				t.Errorf("%s %d does not match the key by resources ARN: %s", name, i, b)
			}
		}
	}
}

// TestKeyUseExcludesDangerEvents compares the key-use rule's event-name clause with the key-danger calls of
// README.md's Detection table, written out here, so the two tiers cannot both fire on one event.
func TestKeyUseExcludesDangerEvents(t *testing.T) {
	patterns := KeyUsePatterns(targets())
	if len(patterns) != 1 {
		t.Fatalf("want one key-use pattern, got %d", len(patterns))
	}
	got, _ := json.Marshal(patterns[0]["detail"].(map[string]any)["eventName"])
	want := `[{"anything-but":["CancelKeyDeletion","CreateAlias","CreateGrant","DeleteAlias","DisableKey",` +
		`"DisableKeyRotation","EnableKey","PutKeyPolicy","RetireGrant","RevokeGrant","ScheduleKeyDeletion","UpdateAlias"]}]`
	if string(got) != want {
		t.Fatalf("key-use eventName clause\n got %s\nwant %s", got, want)
	}
}

// presentTopic and presentLogGroup stand in for a construct that Validate only needs to be non-nil (it never calls it), so the
// test needs no CDK app.
type presentTopic struct{ awssns.ITopic }
type presentLogGroup struct {
	interfacesawslogs.ILogGroupRef
}

func completeProps() Props {
	return Props{Targets: targets(), Topic: presentTopic{}, LogGroup: presentLogGroup{}, Namespace: "kmsguard/KmsGuard"}
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
		"Targets.TrailName", "Targets.BucketNames", "Targets.NamePrefix", "Targets.UserNames", "Topic", "LogGroup", "Namespace"}
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

func TestMetricFilterPatternsAreBalanced(t *testing.T) {
	for _, f := range MetricFilters(targets()) {
		if strings.Count(f.Pattern, "(") != strings.Count(f.Pattern, ")") || !strings.HasPrefix(f.Pattern, "{") || !strings.HasSuffix(f.Pattern, "}") {
			t.Errorf("%s: malformed pattern %s", f.ID, f.Pattern)
		}
	}
}

// TestDeletingOrCreatingAKeyUserAlarms: the key policy matches its users by ARN, so a user deleted and
// re-created under the same name regains the key; both calls must alarm for every watched user. The
// control drops one user and expects the check to notice.
func TestDeletingOrCreatingAKeyUserAlarms(t *testing.T) {
	users := []string{"MDBEncAdmin", "MDBEnc", "db-replica"}
	find := func(fs []MetricFilter) *MetricFilter {
		for i := range fs {
			if fs[i].ID == "KeyPrincipalReplaced" {
				return &fs[i]
			}
		}
		return nil
	}
	missing := func(f *MetricFilter, names []string) []string {
		var out []string
		for _, n := range names {
			if !strings.Contains(f.Pattern, `($.requestParameters.userName = "`+n+`")`) {
				out = append(out, n)
			}
		}
		for _, e := range []string{`($.eventName = "CreateUser")`, `($.eventName = "DeleteUser")`, `($.eventSource = "iam.amazonaws.com")`} {
			if !strings.Contains(f.Pattern, e) {
				out = append(out, e)
			}
		}
		return out
	}
	f := find(MetricFilters(Targets{UserNames: users}))
	if f == nil || f.Threshold < 1 {
		t.Fatalf("no alarmed KeyPrincipalReplaced filter: %+v", f)
	}
	if m := missing(f, users); len(m) > 0 {
		t.Errorf("KeyPrincipalReplaced does not match %v: %s", m, f.Pattern)
	}
	if m := missing(find(MetricFilters(Targets{UserNames: users[:2]})), users); len(m) != 1 || m[0] != "db-replica" {
		t.Errorf("control: a filter built without db-replica must miss exactly it, got %v", m)
	}
}
