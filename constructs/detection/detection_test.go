package detection

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
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
		text := InputTemplate(Message(tier, "s")) + InputTemplate(AttemptMessage(tier, "s"))
		for _, m := range regexp.MustCompile(`<([A-Za-z]+)>`).FindAllStringSubmatch(text, -1) {
			if _, ok := inputPaths[m[1]]; !ok {
				t.Errorf("%s: placeholder <%s> has no input path", tier.Name, m[1])
			}
		}
	}
}

// TestKeyRulesMatchByResourceArn: every rule about the master key finds it by the key ARN in resources
// (detail.resources for CloudTrail records, the event's own resources for KMS's aws.kms events), or, for
// alias changes, by the alias name; never only by what the caller sent.
func TestKeyRulesMatchByResourceArn(t *testing.T) {
	for name, patterns := range map[string][]map[string]any{"danger": KeyDangerPatterns(targets()), "use": KeyUsePatterns(targets())} {
		for i, p := range patterns {
			b, _ := json.Marshal(p)
			if !strings.Contains(string(b), `"kms.amazonaws.com"`) && !strings.Contains(string(b), `"aws.kms"`) {
				continue // the key principals' IAM and STS calls name no key
			}
			byAlias := strings.Contains(string(b), `"aliasName"`)
			byDetail := strings.Contains(string(b), `"resources":{"ARN":["arn:aws:kms:us-east-1:111122223333:key/k"]}`)
			byEvent := strings.Contains(string(b), `"resources":["arn:aws:kms:us-east-1:111122223333:key/k"]`) && strings.Contains(string(b), `"source":["aws.kms"]`)
			if !byAlias && !byDetail && !byEvent {
				t.Errorf("%s %d does not match the key by resources ARN: %s", name, i, b)
			}
		}
	}
}

// TestKeyUseIsOnlyTheCryptographicCalls compares the key-use rule's event-name clause with the data-plane
// operations KMS lists for a symmetric encryption key (docs/aws-facts.md), written out here, and checks
// that no danger call is among them, so the two tiers cannot both fire on one event.
func TestKeyUseIsOnlyTheCryptographicCalls(t *testing.T) {
	patterns := KeyUsePatterns(targets())
	if len(patterns) != 1 {
		t.Fatalf("want one key-use pattern, got %d", len(patterns))
	}
	got, _ := json.Marshal(patterns[0]["detail"].(map[string]any)["eventName"])
	want := `["Decrypt","Encrypt","GenerateDataKey","GenerateDataKeyPair","GenerateDataKeyPairWithoutPlaintext",` +
		`"GenerateDataKeyWithoutPlaintext","ReEncrypt"]`
	if string(got) != want {
		t.Fatalf("key-use eventName clause\n got %s\nwant %s", got, want)
	}
	for _, d := range append(append([]string{}, DangerEvents...), KeyGoneEvents...) {
		if strings.Contains(string(got), `"`+d+`"`) {
			t.Errorf("key-use takes the danger call %s", d)
		}
	}
}

// compiled compiles a pattern with the replay matcher.
func compiled(t *testing.T, p map[string]any) *ep.Pattern {
	t.Helper()
	b, _ := json.Marshal(p)
	c, err := ep.Compile(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return c
}

// TestAttemptRulesTakeFailuresThatAreNotRefusals: for every group, the success rule takes the success, the
// attempt rule a failure with any other error (a failed StopLogging is news whatever the error), and
// neither takes a denial, which the denied tier reports. The control feeds a success to the attempt rule.
func TestAttemptRulesTakeFailuresThatAreNotRefusals(t *testing.T) {
	tg := targets()
	tamper := AuditTamperPatterns(tg)
	event := func(errorCode string) map[string]any {
		d := map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
			"requestParameters": map[string]any{"name": "t"}}
		if errorCode != "" {
			d["errorCode"] = errorCode
		}
		return map[string]any{"detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail", "detail": d}
	}
	success, attempt := compiled(t, tamper[0]), compiled(t, tamper[1])
	if IsAttempt(tamper[0]) || !IsAttempt(tamper[1]) {
		t.Fatalf("the first group's rules are not success then attempt: %v %v", tamper[0], tamper[1])
	}
	for code, want := range map[string][2]bool{"": {true, false}, "TrailNotFoundException": {false, true},
		"InvalidHomeRegionException": {false, true}, "AccessDenied": {false, false}, "AccessDeniedException": {false, false}} {
		ok1, _ := success.MatchAny(event(code))
		ok2, _ := attempt.MatchAny(event(code))
		if ok1 != want[0] || ok2 != want[1] {
			t.Errorf("errorCode %q: success rule %v, attempt rule %v; want %v", code, ok1, ok2, want)
		}
	}
	denied := false
	for _, p := range DeniedPatterns(tg) {
		if ok, _ := compiled(t, p).MatchAny(event("AccessDenied")); ok {
			denied = true
		}
	}
	if !denied {
		t.Errorf("a denied StopLogging raises no denied rule")
	}
}

// TestAttemptEmailsSayTheAttemptFailed: an attempt rule's email opens with "attempt failed: <errorCode>"
// (a failure must never read as a change that happened); a success rule's does not.
func TestAttemptEmailsSayTheAttemptFailed(t *testing.T) {
	tamper := AuditTamperPatterns(targets())
	first := func(p map[string]any) string { return MessageFor(AuditTamper, "s", p)[0] }
	if got := first(tamper[1]); !strings.Contains(got, "attempt failed: <errorCode>: <eventName>") {
		t.Errorf("attempt rule's first line: %q", got)
	}
	if got := first(tamper[0]); strings.Contains(got, "attempt failed") {
		t.Errorf("success rule's first line: %q", got)
	}
	if got := MessageFor(KeyDanger, "s", KeyDangerPatterns(targets())[3])[0]; !strings.Contains(got, "attempt failed") {
		t.Errorf("the master key's failed-call rule's first line: %q", got)
	}
}

// TestEveryDestinationIsWatched: with two topics and two queues, the tamper rules name each topic, each
// topic's subscriptions and each queue; the control leaves one topic out and the check notices.
func TestEveryDestinationIsWatched(t *testing.T) {
	topics := []string{"arn:aws:sns:us-east-1:111122223333:alerts", "arn:aws:sns:us-east-1:111122223333:security"}
	queues := []string{"https://sqs.us-east-1.amazonaws.com/111122223333/q1", "https://sqs.us-east-1.amazonaws.com/111122223333/q2"}
	missing := func(tg Targets) []string {
		b, _ := json.Marshal(AuditTamperPatterns(tg))
		var out []string
		for _, topic := range topics {
			if !strings.Contains(string(b), `"topicArn":[`) || !strings.Contains(string(b), `"`+topic+`"`) ||
				!strings.Contains(string(b), `{"prefix":"`+topic+`:"}`) {
				out = append(out, topic)
			}
		}
		for _, q := range queues {
			if !strings.Contains(string(b), `"`+q+`"`) {
				out = append(out, q)
			}
		}
		return out
	}
	tg := targets()
	tg.TopicArn, tg.TopicArns, tg.DeadLetterQueueURLs = topics[0], topics, queues
	if m := missing(tg); len(m) > 0 {
		t.Errorf("not watched: %v", m)
	}
	tg.TopicArn, tg.TopicArns = topics[0], nil
	if m := missing(tg); len(m) != 1 || m[0] != topics[1] {
		t.Errorf("control: without the second topic the check must miss exactly it, got %v", m)
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

// allPatterns is every tier's patterns for tg.
func allPatterns(tg Targets) []map[string]any {
	var out []map[string]any
	for _, ps := range [][]map[string]any{KeyDangerPatterns(tg), DeniedPatterns(tg), AuditTamperPatterns(tg), KeyUsePatterns(tg)} {
		out = append(out, ps...)
	}
	return out
}

// singleBranchOr returns the paths of every "$or" with fewer than two branches: EventBridge reads "$or" as
// an or only with two or more, and otherwise as a field named "$or" that no event has.
func singleBranchOr(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if branches, ok := e.([]any); ok && k == "$or" && len(branches) < 2 {
				out = append(out, path+".$or")
			}
			out = append(out, singleBranchOr(e, path+"."+k)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, singleBranchOr(e, path)...)
		}
	}
	return out
}

// TestEveryOrHasTwoBranches: with every target given and with only the required ones (a group then has one
// alternative), no pattern holds a one-branch "$or", and every pattern compiles. The control builds one.
func TestEveryOrHasTwoBranches(t *testing.T) {
	full := targets()
	full.KeyUserRoleNames, full.StackName, full.StackArnPrefix = []string{"replica"}, "KmsGuard", "arn:aws:cloudformation:us-east-1:111122223333:stack/KmsGuard/"
	full.DeliveryRoleName, full.DeliveryPolicyArn = "KmsGuard-Delivery-ABC", "arn:aws:iam::111122223333:policy/KmsGuard-Delivery-ABC"
	minimal := Targets{KeyArn: "arn:aws:kms:us-east-1:111122223333:key/k", KeyAlias: "alias/m", TrailName: "t", NamePrefix: "KmsGuard",
		UserNames: []string{"MDBEncAdmin"}}
	for name, tg := range map[string]Targets{"full": full, "minimal": minimal} {
		for i, p := range allPatterns(tg) {
			if bad := singleBranchOr(p, ""); len(bad) > 0 {
				t.Errorf("%s pattern %d: one-branch $or at %v", name, i, bad)
			}
			compiled(t, p)
		}
	}
	if bad := singleBranchOr(map[string]any{"detail": map[string]any{"$or": []any{map[string]any{"a": []any{"b"}}}}}, ""); len(bad) != 1 {
		t.Errorf("control: a one-branch $or was not found: %v", bad)
	}
}
