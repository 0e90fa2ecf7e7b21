package detection

import (
	"encoding/json"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
	"github.com/kmsguard/kmsguard/internal/eventpattern"
	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"regexp"
	"slices"
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

// tierPatterns pairs each tier with the function that builds its rules' patterns.
var tierPatterns = []struct {
	tier     Tier
	patterns func(Targets) []map[string]any
}{{KeyDanger, KeyDangerPatterns}, {Denied, DeniedPatterns}, {AuditTamper, AuditTamperPatterns}, {KeyUse, KeyUsePatterns}}

// placeholderRE finds the <name> placeholders of an input template.
var placeholderRE = regexp.MustCompile(`<([A-Za-z]+)>`)

func TestEveryPlaceholderHasAnInputPath(t *testing.T) {
	for _, tp := range tierPatterns {
		tier := tp.tier
		for i, p := range tp.patterns(targets()) {
			if missing := unmappedPlaceholders(MessageFor(tier, "s", p), PathsFor(p)); len(missing) > 0 {
				t.Errorf("%s rule %d: placeholders %v have no input path", tier.Name, i, missing)
			}
		}
	}
}

func unmappedPlaceholders(lines []string, paths map[string]string) []string {
	var missing []string
	for _, m := range placeholderRE.FindAllStringSubmatch(InputTemplate(lines), -1) {
		if _, ok := paths[m[1]]; !ok {
			missing = append(missing, m[1])
		}
	}
	return missing
}

// kmsDeletionEvent is the "KMS CMK Deletion" example of the KMS Developer Guide ("Monitor KMS keys with
// Amazon EventBridge"), the shape of every event KMS sends itself.
var kmsDeletionEvent = map[string]any{
	"version": "0", "id": "e9ce0100-7d22-412a-a699-e7a5fc3fbc9a", "detail-type": "KMS CMK Deletion", "source": "aws.kms",
	"account": "111122223333", "time": "2025-06-02T11:00:00Z", "region": "us-east-1",
	"resources": []any{"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	"detail":    map[string]any{"key-id": "1234abcd-12ab-34cd-56ef-1234567890ab"},
}

// absentPaths are the placeholders of lines whose paths name nothing in event: lines an email would show
// empty.
func absentPaths(lines []string, paths map[string]string, event map[string]any) []string {
	var absent []string
	for _, m := range placeholderRE.FindAllStringSubmatch(InputTemplate(lines), -1) {
		var v any = event
		for _, k := range strings.Split(strings.TrimPrefix(paths[m[1]], "$."), ".") {
			obj, _ := v.(map[string]any)
			v = obj[k]
		}
		if v == nil {
			absent = append(absent, m[1])
		}
	}
	return absent
}

// TestKMSEventEmailsShowWhatKMSSent: the rules on KMS's own events (no caller, no CloudTrail record) render
// every line from fields such an event has, so no line of the email comes out empty; the control renders
// the CloudTrail message for the same event and finds the empty lines that the KMS message avoids.
func TestKMSEventEmailsShowWhatKMSSent(t *testing.T) {
	found := 0
	for _, tp := range tierPatterns {
		tier := tp.tier
		for _, p := range tp.patterns(targets()) {
			if !IsKMSEvent(p) {
				continue
			}
			found++
			if absent := absentPaths(MessageFor(tier, "s", p), PathsFor(p), kmsDeletionEvent); len(absent) > 0 {
				t.Errorf("%s: the KMS event email leaves %v empty", tier.Name, absent)
			}
			if absent := absentPaths(Message(tier, "s"), inputPaths, kmsDeletionEvent); len(absent) == 0 {
				t.Errorf("control: the CloudTrail message should leave lines empty for a KMS event")
			}
		}
	}
	if found != 2 {
		t.Errorf("%d rules on KMS's own events, want one in key-danger and one in audit-tamper", found)
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
// sends both a critical and an informational email. The control: the plugin's routine calls and the other
// cryptographic calls raise key-use and not key-danger.
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
	for _, name := range []string{"Decrypt", "GenerateDataKeyWithoutPlaintext", "Encrypt", "GenerateDataKey"} {
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
		"Targets.TrailName", "Targets.NamePrefix", "Targets.UserNames", "Destinations", "Namespace"}
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

// TestAnExistingTrailIsWatchedByNameWithoutEmptyLists: with a trail that is not the stack's own there are no
// buckets and, without its log group, no log group to watch. The tamper rules then still watch the trail by
// name, and no pattern holds an empty list (EventBridge rejects a pattern with one, and the deploy would
// fail). Control: the stack's own trail names its buckets.
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
		if strings.Contains(string(b), `"bucketName"`) || strings.Contains(string(b), `"logGroupName"`) {
			t.Errorf("%s: buckets or a log group that are not the stack's are watched: %s", name, b)
		}
	}
	withGroup := existing
	withGroup.LogGroupName = "/org/cloudtrail"
	b, _ := json.Marshal(AuditTamperPatterns(withGroup))
	if !strings.Contains(string(b), `"logGroupName":["/org/cloudtrail"]`) || !strings.Contains(string(b), `"resourceIdentifier":["/org/cloudtrail"`) {
		t.Errorf("existing trail with its log group: the log group is not watched: %s", b)
	}
	// Control: the stack's own trail names the buckets.
	if own, _ := json.Marshal(AuditTamperPatterns(targets())); !strings.Contains(string(own), `"bucketName":["b1","b2"]`) {
		t.Errorf("control: the stack's own trail's buckets are not watched: %s", own)
	}
}
