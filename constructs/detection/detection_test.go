package detection

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
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

// TestKeyUseExcludesDangerEvents compares the key-use rule's event-name clause with the list of
// danger calls, written out here, so the two tiers cannot both fire on one event.
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

func TestValidateNamesMissingFields(t *testing.T) {
	err := Props{}.Validate()
	for _, f := range []string{"Destinations", "LogGroup", "Targets.KeyArn", "Targets.BucketNames", "Namespace"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("missing %s not reported: %v", f, err)
		}
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
