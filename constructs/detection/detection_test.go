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
	for _, f := range []string{"Targets.KeyArn", "Targets.TopicArn", "Targets.TrailName", "Namespace"} {
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

// TestAnExistingTrailIsWatchedByNameWithoutEmptyLists: with a trail that is not the stack's own there are no
// buckets and, without its log group, no log group to watch. The tamper rules then still watch the trail by
// name, and no pattern holds an empty list (EventBridge rejects a pattern with one, and the deploy would
// fail). Control: the stack's own trail gives the two extra groups, naming the buckets and the log group.
func TestAnExistingTrailIsWatchedByNameWithoutEmptyLists(t *testing.T) {
	existing := targets()
	existing.BucketNames, existing.LogGroupName, existing.TrailName = nil, "", "org-trail"
	for name, patterns := range map[string][]map[string]any{"audit-tamper": AuditTamperPatterns(existing), "denied": DeniedPatterns(existing)} {
		b, _ := json.Marshal(patterns)
		if strings.Contains(string(b), "[]") || strings.Contains(string(b), `""`) {
			t.Errorf("%s: a pattern has an empty list or value: %s", name, b)
		}
		if !strings.Contains(string(b), `"name":["org-trail",{"suffix":":trail/org-trail"}]`) {
			t.Errorf("%s: the existing trail is not watched by name: %s", name, b)
		}
	}
	if n := len(AuditTamperPatterns(existing)); n != 3 {
		t.Errorf("existing trail without log group: want 3 audit-tamper rules (trail, keys/rules/alarms, delivery), got %d", n)
	}
	withGroup := existing
	withGroup.LogGroupName = "/org/cloudtrail"
	b, _ := json.Marshal(AuditTamperPatterns(withGroup))
	if n := len(AuditTamperPatterns(withGroup)); n != 4 || !strings.Contains(string(b), `"logGroupName":["/org/cloudtrail"]`) ||
		!strings.Contains(string(b), `"resourceIdentifier":["/org/cloudtrail"`) {
		t.Errorf("existing trail with its log group: want 4 rules watching it (its key too), got %d: %s", n, b)
	}
	// A $or of one alternative is no OR for EventBridge (event-ruler reads it as a field named $or, which no
	// event has, so the rule would never fire; internal/eventpattern follows it): every group has two or more.
	for _, tg := range []Targets{existing, withGroup, targets()} {
		for _, p := range append(AuditTamperPatterns(tg), DeniedPatterns(tg)...) {
			if or, ok := p["detail"].(map[string]any)["$or"].([]any); ok && len(or) < 2 {
				pj, _ := json.Marshal(p)
				t.Errorf("a $or with %d alternative: %s", len(or), pj)
			}
		}
	}
	own, _ := json.Marshal(AuditTamperPatterns(targets()))
	if n := len(AuditTamperPatterns(targets())); n != 5 || !strings.Contains(string(own), `"bucketName":["b1","b2"]`) {
		t.Errorf("control: the stack's own trail: want 5 rules naming the buckets, got %d: %s", n, own)
	}
}
