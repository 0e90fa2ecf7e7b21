package test

// Detection tests: a labelled corpus of CloudTrail records replayed through the synthesized template's actual
// EventBridge rules (internal/replay), and assertions on the rules, alarms, metric filters and dashboard.
//
// Expected tiers come from README.md's tier definitions ("Detection"), never from the rules' output (tiers
// are disjoint):
//   - key-danger: successful danger calls on the master key (DisableKey, ScheduleKeyDeletion, PutKeyPolicy,
//     CreateGrant, RetireGrant, RevokeGrant, DisableKeyRotation, EnableKey, CancelKeyDeletion), alias
//     operations naming our alias (whatever key they point at), KMS's DeleteKey/DeleteExpiredKeyMaterial
//     service events and its aws.kms deletion and expiry events for the key, failures on our key whose
//     errorCode is not a denial/unusable-key spelling, and the key principals' doors: a key user's role
//     changed, a new access key, password or MFA device of the administrator or a key user, such a user
//     deleted or created, and every GetSessionToken they make (succeeded, or failed other than denied);
//   - denied: denials and DisabledException/KMSInvalidStateException on our key (by resources ARN, by
//     requestParameters.aliasName, or by requestParameters.keyId = key ARN/id/alias/alias ARN), and denials
//     of every call the other tiers watch;
//   - audit-tamper: changes to this stack's trail, buckets, log group and its routes, audit and topic keys
//     (their deletion too), rules, alarms, topics, queues, the trail's delivery role and policy, and the
//     stack, succeeded or failed other than denied;
//   - key-use: the successful cryptographic calls on the key (off when notifyKeyUse=false);
//   - none: everything else, metadata reads that succeed and rotation included.
//
// The corpus (testdata/cloudtrail/corpus.jsonl) writes per-config values as ${VAR} placeholders (see
// corpusVars); fixed fake values for deploy-time names (buckets, topic, audit key) are filled into the
// replay resolver by finding the logical ids in the template.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/logfilter"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// Fixed fake deploy-time values, used consistently by the corpus and the resolver.
const (
	fakeAccount      = "111122223333"
	fakeMasterKeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	fakeAuditKeyArn  = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	fakeAlertsKeyArn = "arn:aws:kms:us-east-1:111122223333:key/5555eeee-66ff-7788-99aa-bbccddeeff00"
	// fakeDeadLetterQueueURL is what Ref of an SQS queue gives: its URL.
	fakeDeadLetterQueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionUndeliveredAlerts-ABC"
	fakeTrailBucket        = "kmsguard-trailbucket-abc123"
	fakeAccessLogBucket    = "kmsguard-accesslogbucket-def456"
	fakeTopicArn           = "arn:aws:sns:us-east-1:111122223333:KmsGuard-AlertingTopic-XYZ"
	// fakeLogGroup is what Ref of the audit log group gives: its name, which ends in the stack id.
	fakeLogGroup = "/kmsguard/cloudtrail/trail/0a1b2c3d-1111-2222-3333-444455556666"
	// The second destination ("security"): its topic, the topic's key and its undelivered-alerts queue.
	fakeSecurityTopicArn = "arn:aws:sns:us-east-1:111122223333:KmsGuard-SecurityAlertingTopic-UVW"
	fakeSecurityKeyArn   = "arn:aws:kms:us-east-1:111122223333:key/7777aaaa-88bb-99cc-00dd-eeff11223344"
	fakeSecurityDLQURL   = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionSecurityUndeliveredAlerts-DEF"
	// fakeStackUUID ends the stack id: arn:aws:cloudformation:us-east-1:111122223333:stack/${STACK}/UUID.
	fakeStackUUID = "11112222-3333-4444-5555-666677778888"
)

// fakeDeliveryRole and fakeDeliveryPolicyArn are what Ref of the trail's delivery role and of its managed
// policy give: names CloudFormation generates from the stack name.
func fakeDeliveryRole(stack string) string { return stack + "-AuditTrailDeliveryRole-ABC" }
func fakeDeliveryPolicyArn(stack string) string {
	return "arn:aws:iam::" + fakeAccount + ":policy/" + stack + "-AuditTrailDeliveryPolicy-ABC"
}

// The tiers of README.md ("Detection"), with the severity each one's emails must carry.
var tierSeverity = map[string]string{
	"key-danger":   "critical",
	"denied":       "critical",
	"audit-tamper": "critical",
	"key-use":      "info",
}

// corpusConfigs are the synthesized configurations the corpus is replayed through: the defaults, the
// hardened settings (notifyKeyUse off), and existing key users of which one is a role.
var corpusConfigs = []string{"default", "hardened", "existing-users"}

const corpusPath = "testdata/cloudtrail/corpus.jsonl"

// corpusEntry is one labelled record. Tier is the expected tier ("none": no rule may fire); TierByConfig
// overrides it for a configuration (key-use records expect "none" when notifyKeyUse=false); Configs, when
// set, restricts the entry to those configurations. Record is a CloudTrail record, which the test wraps as
// EventBridge delivers it; Event, used instead for what a service sends to EventBridge itself (KMS's
// aws.kms events), is the EventBridge event as is.
type corpusEntry struct {
	Line         int
	Name         string            `json:"name"`
	Tier         string            `json:"tier"`
	Configs      []string          `json:"configs"`
	TierByConfig map[string]string `json:"tierByConfig"`
	Source       string            `json:"source"`
	Record       json.RawMessage   `json:"record"`
	Event        json.RawMessage   `json:"event"`
	// Touches and Undetected are for the red-team attacks (testdata/redteam): what the attack disables, by
	// kind and value, and why the attack cannot raise an alert when its tier is "none".
	Touches    []map[string]string `json:"touches"`
	Undetected string              `json:"undetected"`
}

// raw is the entry's record or event, whichever it has.
func (e corpusEntry) raw() json.RawMessage {
	if len(e.Event) > 0 {
		return e.Event
	}
	return e.Record
}

// event is the entry as EventBridge sees it in config (placeholders filled), and the decoded record or
// event for messages.
func (e corpusEntry) event(t *testing.T, file string, vars map[string]string) (replay.Event, map[string]any, bool) {
	t.Helper()
	raw := substitute(t, file, e, e.raw(), vars)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s:%d %q: %v", file, e.Line, e.Name, err)
		return replay.Event{}, nil, false
	}
	if len(e.Event) > 0 {
		v, err := ep.ValueOf(m)
		if err != nil {
			t.Errorf("%s:%d %q: %v", file, e.Line, e.Name, err)
			return replay.Event{}, nil, false
		}
		return replay.Event{Value: v, Delivered: true}, m, true
	}
	ev, err := replay.WrapRecord(m)
	if err != nil {
		t.Errorf("%s:%d %q: wrap: %v", file, e.Line, e.Name, err)
		return replay.Event{}, nil, false
	}
	return ev, m, true
}

func (e corpusEntry) expected(config string) []string {
	tier := e.Tier
	if o, ok := e.TierByConfig[config]; ok {
		tier = o
	}
	if tier == "none" {
		return nil
	}
	return []string{tier}
}

func (e corpusEntry) appliesTo(config string) bool {
	return len(e.Configs) == 0 || slices.Contains(e.Configs, config)
}

func loadCorpus(t *testing.T) []corpusEntry { return loadEntries(t, corpusPath) }

// loadEntries reads a JSON-lines file of labelled records (the corpus, the red-team attacks).
func loadEntries(t *testing.T, corpusPath string) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(corpusPath))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e corpusEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s:%d: %v", corpusPath, n, err)
		}
		e.Line = n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusVars are the per-configuration values the corpus refers to as ${NAME}; they come from the
// configuration the operator wrote (test/synth_test.go), not from the synthesized rules.
func corpusVars(t *testing.T, s *Synth) map[string]string {
	t.Helper()
	cfg := s.Stack.Config
	userArn := func(name string) string { return "arn:aws:iam::" + fakeAccount + ":user/" + name }
	serverName, serverArn := cfg.ServerUserName, userArn(cfg.ServerUserName)
	if len(cfg.KeyUserArns) > 0 { // the operator named existing users: the first IAM user plays the server
		serverArn = ""
		for _, arn := range cfg.KeyUserArns {
			if strings.Contains(arn, ":user/") {
				serverArn = arn
				break
			}
		}
		if serverArn == "" {
			t.Fatalf("%s: keyUserArns has no IAM user for ${SERVER_USER_ARN}", s.Name)
		}
		serverName = serverArn[strings.LastIndex(serverArn, "/")+1:]
	}
	role := "no-key-user-role" // a name no role of the configuration has
	for _, arn := range cfg.KeyUserArns {
		if strings.Contains(arn, ":role/") {
			role = arn[strings.LastIndex(arn, "/")+1:]
			break
		}
	}
	return map[string]string{
		"STACK":           cfg.StackName,
		"STACK_ID":        "arn:aws:cloudformation:us-east-1:" + fakeAccount + ":stack/" + cfg.StackName + "/" + fakeStackUUID,
		"ALIAS":           cfg.KeyAlias,
		"TRAIL":           cfg.TrailName,
		"LOG_GROUP":       fakeLogGroup, // Ref of the log group, resolved by detectionResolver
		"ADMIN":           cfg.AdminUserName,
		"ADMIN_ARN":       userArn(cfg.AdminUserName),
		"SERVER_USER":     serverName,
		"SERVER_USER_ARN": serverArn,
		"KEY_USER_ROLE":   role,
		"DELIVERY_ROLE":   fakeDeliveryRole(cfg.StackName),
		// Ref of the delivery role's managed policy, resolved by detectionResolver.
		"DELIVERY_POLICY_ARN": fakeDeliveryPolicyArn(cfg.StackName),
	}
}

// knownPlaceholders are the ${NAME}s a record may use: the keys of corpusVars.
var knownPlaceholders = []string{"STACK", "STACK_ID", "ALIAS", "TRAIL", "LOG_GROUP", "ADMIN", "ADMIN_ARN", "SERVER_USER",
	"SERVER_USER_ARN", "KEY_USER_ROLE", "DELIVERY_ROLE", "DELIVERY_POLICY_ARN"}

var placeholderRE = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// substitute fills the ${NAME} placeholders of a raw record; an unknown name fails the test.
func substitute(t *testing.T, file string, e corpusEntry, raw []byte, vars map[string]string) []byte {
	t.Helper()
	return placeholderRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok {
			t.Errorf("%s:%d %q: unknown placeholder ${%s}", file, e.Line, e.Name, name)
			return m
		}
		b, _ := json.Marshal(v) // escape for the inside of a JSON string
		return b[1 : len(b)-1]
	})
}

// detectionResolver resolves every reference the detection rules make: the master key through the key
// ARN, and the other keys, the two trail buckets, the alert topics and queues, the log group, the trail's
// delivery role and policy and the IAM users through Values, keyed by the logical ids found by type,
// metadata and properties. The second destination (security-alerts-key and its topic and queue) is
// resolved when the template has it.
func detectionResolver(t *testing.T, s *Synth) replay.Resolver {
	t.Helper()
	res, err := replay.NewResolver(fakeMasterKeyArn)
	if err != nil {
		t.Fatal(err)
	}
	masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	auditKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "audit-key")
	alertsKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "alerts-key")
	securityKeyID := ""
	if ids := s.Tpl.WithMetadata("kmsguard:role", "security-alerts-key"); len(ids) == 1 {
		securityKeyID = ids[0]
	}
	if n, want := len(s.resourcesOfType("AWS::KMS::Key")), map[bool]int{false: 3, true: 4}[securityKeyID != ""]; n != want {
		t.Fatalf("%s: want %d keys (master, audit, a key per alert topic), got %d", s.Name, want, n)
	}
	trailID := logicalIDOfType(t, s, "AWS::CloudTrail::Trail", nil)
	trailProps := s.resourcesOfType("AWS::CloudTrail::Trail")[trailID]["Properties"].(map[string]any)
	trailBucket, _ := cfntemplate.RefOf(trailProps["S3BucketName"])
	trailBucketID := trailBucket.ID
	if trailBucketID == "" || trailBucket.Attr != "" {
		t.Fatalf("%s: trail S3BucketName is not a Ref: %v", s.Name, trailProps["S3BucketName"])
	}
	if kms, _ := trailProps["KMSKeyId"].(map[string]any); !reflect.DeepEqual(kms, map[string]any{"Fn::GetAtt": []any{auditKeyID, "Arn"}}) {
		t.Errorf("%s: the trail is not encrypted with the audit key %s: %v", s.Name, auditKeyID, trailProps["KMSKeyId"])
	}
	var others []string
	for id := range s.resourcesOfType("AWS::S3::Bucket") {
		if id != trailBucketID {
			others = append(others, id)
		}
	}
	if len(others) != 1 {
		t.Fatalf("%s: want one bucket besides the trail bucket %s (the access-log bucket), found %v", s.Name, trailBucketID, others)
	}
	accessLogID := others[0]
	res.Values[auditKeyID+".Arn"] = fakeAuditKeyArn
	res.Values[alertsKeyID+".Arn"] = fakeAlertsKeyArn
	// Each topic by the key it is encrypted with.
	for id, topic := range s.resourcesOfType("AWS::SNS::Topic") {
		key, _ := cfntemplate.RefOf(topic["Properties"].(map[string]any)["KmsMasterKeyId"])
		switch key.ID {
		case alertsKeyID:
			res.Values[id] = fakeTopicArn
		case securityKeyID:
			res.Values[id] = fakeSecurityTopicArn
		default:
			t.Fatalf("%s: topic %s is encrypted with %v, neither alert topic key", s.Name, id, key)
		}
	}
	if securityKeyID != "" {
		res.Values[securityKeyID+".Arn"] = fakeSecurityKeyArn
	}
	// Each undelivered-alerts queue by its destination's name in its logical id.
	for id := range s.resourcesOfType("AWS::SQS::Queue") {
		if strings.Contains(id, "Security") {
			res.Values[id] = fakeSecurityDLQURL
		} else {
			res.Values[id] = fakeDeadLetterQueueURL
		}
	}
	// The delivery role is the trail's CloudWatchLogsRoleArn; its policy the managed policy attached to it.
	role, _ := cfntemplate.RefOf(trailProps["CloudWatchLogsRoleArn"])
	if role.ID == "" || role.Attr != "Arn" {
		t.Fatalf("%s: the trail's CloudWatchLogsRoleArn is not a role's Arn: %v", s.Name, trailProps["CloudWatchLogsRoleArn"])
	}
	stack := s.Stack.Config.StackName
	res.Values[role.ID] = fakeDeliveryRole(stack)
	res.Values[role.ID+".Arn"] = "arn:aws:iam::" + fakeAccount + ":role/" + fakeDeliveryRole(stack)
	policyID := logicalIDOfType(t, s, "AWS::IAM::ManagedPolicy", func(r map[string]any) bool {
		roles, _ := r["Properties"].(map[string]any)["Roles"].([]any)
		return len(roles) == 1 && reflect.DeepEqual(roles[0], map[string]any{"Ref": role.ID})
	})
	res.Values[policyID] = fakeDeliveryPolicyArn(stack)
	res.Values[trailBucketID] = fakeTrailBucket
	res.Values[accessLogID] = fakeAccessLogBucket
	res.Values[logicalIDOfType(t, s, "AWS::Logs::LogGroup", nil)] = fakeLogGroup
	for id, u := range s.resourcesOfType("AWS::IAM::User") {
		name, _ := u["Properties"].(map[string]any)["UserName"].(string)
		if name == "" {
			t.Fatalf("%s: user %s has no UserName", s.Name, id)
		}
		res.Values[id+".Arn"] = "arn:aws:iam::" + fakeAccount + ":user/" + name
	}
	if _, clash := res.Values[masterID]; clash {
		t.Fatalf("%s: the master key must be resolved through the key ARN", s.Name)
	}
	return res
}

// topicEncryptedBy is the topic whose KmsMasterKeyId is the key with the given kmsguard:role: each
// destination is found by its key, not by its logical id.
func topicEncryptedBy(t *testing.T, s *Synth, role string) string {
	t.Helper()
	keyID, _ := s.resourceWithMetadata(t, "kmsguard:role", role)
	return logicalIDOfType(t, s, "AWS::SNS::Topic", func(r map[string]any) bool {
		ref, _ := cfntemplate.RefOf(r["Properties"].(map[string]any)["KmsMasterKeyId"])
		return ref.ID == keyID
	})
}

// queueOf is the dead-letter queue of a destination, found by the word its construct id carries in the
// logical id ("" for the first destination, "Security" for the second).
func queueOf(t *testing.T, s *Synth, word string) string {
	t.Helper()
	var found []string
	for id := range s.resourcesOfType("AWS::SQS::Queue") {
		if strings.Contains(id, "Security") == (word == "Security") {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want one %q dead-letter queue, found %v", s.Name, word, found)
	}
	return found[0]
}

func loadDetectionRules(t *testing.T, s *Synth) replay.Rules {
	t.Helper()
	rules, warnings, err := replay.LoadRules(s.Bytes, detectionResolver(t, s))
	if err != nil {
		t.Fatalf("%s: LoadRules: %v", s.Name, err)
	}
	for _, w := range warnings {
		t.Errorf("%s: LoadRules warning (unresolved reference): %s", s.Name, w)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no AWS::Events::Rule in the template", s.Name)
	}
	return rules
}

// TestEveryLabelledRecordRaisesExactlyItsTier replays every labelled record through the synthesized rules
// of each configuration: each record must raise exactly its tier, or nothing.
func TestEveryLabelledRecordRaisesExactlyItsTier(t *testing.T) {
	corpus := loadCorpus(t)
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			rules := loadDetectionRules(t, s)
			vars := corpusVars(t, s)
			got := map[string]int{}
			for _, e := range corpus {
				if !e.appliesTo(config) {
					continue
				}
				ev, record, ok := e.event(t, corpusPath, vars)
				if !ok {
					continue
				}
				tiers := rules.Tiers(ev)
				want := e.expected(config)
				if !slices.Equal(tiers, want) {
					var fired []string
					for _, r := range rules {
						if r.Matches(ev) {
							fired = append(fired, r.LogicalID)
						}
					}
					t.Errorf("%s:%d %q (%s %s, errorCode %v): want %s, got %s (rules fired: %v)", corpusPath, e.Line, e.Name,
						record["eventSource"], record["eventName"], record["errorCode"], tierList(want), tierList(tiers), fired)
				}
				for _, tier := range tiers {
					got[tier]++
				}
				if len(tiers) == 0 {
					got["none"]++
				}
			}
			t.Logf("%s: records per tier raised: %v", config, got)
		})
	}
}

// TestWatchedIAMNamesInRequestsMatchInAnyLetterCase: IAM names are unique whatever their letter case
// (docs/aws-facts.md, "IAM names and letter case"), so a call that names a watched user, key-user role, the
// trail's delivery role or its policy in another letter case raises the tier it would raise with the name
// as created (the labelled records named "... in another letter case"). The control: the same rules with
// every equals-ignore-case turned back into the exact value miss every one of those records.
func TestWatchedIAMNamesInRequestsMatchInAnyLetterCase(t *testing.T) {
	corpus := loadCorpus(t)
	for _, config := range []string{"default", "existing-users"} {
		s := synth(t, config)
		rules, exact := loadDetectionRules(t, s), exactNameRules(t, s)
		vars := corpusVars(t, s)
		n := 0
		for _, e := range corpus {
			want := e.expected(config)
			if !e.appliesTo(config) || !strings.Contains(e.Name, "in another letter case") || len(want) == 0 {
				continue
			}
			ev, _, ok := e.event(t, corpusPath, vars)
			if !ok {
				continue
			}
			n++
			if got := rules.Tiers(ev); !slices.Equal(got, want) {
				t.Errorf("%s: %q raises %s, want %s", config, e.Name, tierList(got), tierList(want))
			}
			if got := exact.Tiers(ev); len(got) != 0 {
				t.Errorf("control: %s: %q still raises %s with exact names: it does not show the case-insensitive match", config, e.Name, tierList(got))
			}
		}
		if n == 0 {
			t.Errorf("%s: no labelled record names a watched IAM entity in another letter case", config)
		}
	}
}

// exactNameRules are the rules of s with every {"equals-ignore-case": value} replaced by the value itself:
// exact matching of the same names.
func exactNameRules(t *testing.T, s *Synth) replay.Rules {
	t.Helper()
	var tpl any
	if err := json.Unmarshal(s.Bytes, &tpl); err != nil {
		t.Fatal(err)
	}
	n := 0
	var strip func(v any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if inner, ok := x["equals-ignore-case"]; ok && len(x) == 1 {
				n++
				return inner
			}
			for k, e := range x {
				x[k] = strip(e)
			}
		case []any:
			for i, e := range x {
				x[i] = strip(e)
			}
		}
		return v
	}
	raw, err := json.Marshal(strip(tpl))
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s: the template has no equals-ignore-case to make exact", s.Name)
	}
	rules, _, err := replay.LoadRules(raw, detectionResolver(t, s))
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return rules
}

func tierList(tiers []string) string {
	if len(tiers) == 0 {
		return "[none]"
	}
	return "[" + strings.Join(tiers, ",") + "]"
}

// entryKey is what a well-formed entry raises in the default configuration and on what, for coverage:
// tier/outcome ("key-danger/ok", "denied/failed"), source (eventSource, or an event's source) and name
// (eventName, or an event's detail-type).
type entryKey struct{ tier, source, name string }

// checkEntryShape checks one labelled entry: name and source, a known tier and placeholders, and a full
// CloudTrail record (or a full EventBridge event) in the test account and region. placeholders are the
// ${NAME}s it may use. It returns its coverage key.
func checkEntryShape(t *testing.T, file string, e corpusEntry, placeholders []string) (entryKey, bool) {
	t.Helper()
	known := map[string]bool{"none": true}
	for tier := range tierSeverity {
		known[tier] = true
	}
	where := fmt.Sprintf("%s:%d %q", file, e.Line, e.Name)
	if e.Name == "" || e.Source == "" {
		t.Errorf("%s: name and source are required", where)
	}
	if !known[e.Tier] {
		t.Errorf("%s: unknown tier %q", where, e.Tier)
	}
	for c, tier := range e.TierByConfig {
		if !known[tier] || !slices.Contains(corpusConfigs, c) {
			t.Errorf("%s: tierByConfig %s=%s: unknown config or tier", where, c, tier)
		}
	}
	for _, c := range e.Configs {
		if !slices.Contains(corpusConfigs, c) {
			t.Errorf("%s: configs: %s is not one of %v", where, c, corpusConfigs)
		}
	}
	if e.Tier == "key-use" && e.TierByConfig["hardened"] != "none" {
		t.Errorf("%s: key-use records must expect none in hardened (notifyKeyUse=false)", where)
	}
	if (len(e.Record) > 0) == (len(e.Event) > 0) {
		t.Errorf("%s: give a record or an event, not both or neither", where)
		return entryKey{}, false
	}
	for _, m := range placeholderRE.FindAllSubmatch(e.raw(), -1) {
		if !slices.Contains(placeholders, string(m[1])) {
			t.Errorf("%s: unknown placeholder %s", where, m[0])
		}
	}
	var r map[string]any
	if err := json.Unmarshal(e.raw(), &r); err != nil {
		t.Errorf("%s: %v", where, err)
		return entryKey{}, false
	}
	if len(e.Event) > 0 { // an EventBridge event, as AWS's examples show it
		for _, f := range []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} {
			if _, ok := r[f]; !ok {
				t.Errorf("%s: event has no %s", where, f)
			}
		}
		if r["account"] != fakeAccount || r["region"] != "us-east-1" {
			t.Errorf("%s: account/region must be %s/us-east-1", where, fakeAccount)
		}
		src, _ := r["source"].(string)
		dt, _ := r["detail-type"].(string)
		return entryKey{e.Tier + "/ok", src, dt}, true
	}
	for _, f := range []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly",
		"eventType", "managementEvent", "recipientAccountId", "eventCategory"} {
		if _, ok := r[f]; !ok {
			t.Errorf("%s: record has no %s", where, f)
		}
	}
	if _, failed := r["errorCode"]; failed {
		if _, ok := r["errorMessage"]; !ok {
			t.Errorf("%s: errorCode without errorMessage", where)
		}
	}
	if r["recipientAccountId"] != fakeAccount || r["awsRegion"] != "us-east-1" {
		t.Errorf("%s: account/region must be %s/us-east-1", where, fakeAccount)
	}
	if res, ok := r["resources"].([]any); ok && r["eventSource"] == "kms.amazonaws.com" {
		for _, x := range res {
			m, _ := x.(map[string]any)
			// AWS's ACM example of a service event lists the key without a type.
			typed := m["type"] == "AWS::KMS::Key" || (m["type"] == nil && r["eventType"] == "AwsServiceEvent")
			if !typed || m["ARN"] == nil || m["accountId"] != fakeAccount {
				t.Errorf("%s: KMS resources entry %v lacks type AWS::KMS::Key, ARN or accountId", where, x)
			}
		}
	}
	outcome := "ok"
	if _, failed := r["errorCode"]; failed {
		outcome = "failed"
	}
	src, _ := r["eventSource"].(string)
	name, _ := r["eventName"].(string)
	return entryKey{e.Tier + "/" + outcome, src, name}, true
}

// TestCorpusWellFormed keeps the corpus honest: full CloudTrail records (or EventBridge events), known
// tiers and placeholders, a source for each record, and the coverage README.md's "Detection" calls for.
func TestCorpusWellFormed(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 45 {
		t.Errorf("corpus has %d records, want at least 45", len(corpus))
	}
	names := map[string]int{}
	perTier := map[string]int{}
	seen := map[entryKey]bool{}
	for _, e := range corpus {
		if prev, dup := names[e.Name]; dup {
			t.Errorf("%s:%d %q: same name as line %d", corpusPath, e.Line, e.Name, prev)
		}
		names[e.Name] = e.Line
		perTier[e.Tier]++
		if k, ok := checkEntryShape(t, corpusPath, e, knownPlaceholders); ok {
			seen[k] = true
		}
	}
	t.Logf("corpus: %d records, per tier %v", len(corpus), perTier)

	// Every tier is tested both ways in the default configuration (all four tiers on): records it must
	// raise, and lookalikes, the same call labelled otherwise, that it must not.
	tiersOfCall := map[string]map[string]bool{}
	for _, e := range corpus {
		if !e.appliesTo("default") {
			continue
		}
		var r struct{ EventSource, EventName string }
		_ = json.Unmarshal(e.Record, &r)
		tier := "none"
		if x := e.expected("default"); len(x) == 1 {
			tier = x[0]
		}
		call := r.EventSource + " " + r.EventName
		if tiersOfCall[call] == nil {
			tiersOfCall[call] = map[string]bool{}
		}
		tiersOfCall[call][tier] = true
	}
	for _, tier := range slices.Sorted(maps.Keys(tierSeverity)) {
		var raised, lookalike bool
		for _, tiers := range tiersOfCall {
			if tiers[tier] {
				raised = true
				lookalike = lookalike || len(tiers) > 1
			}
		}
		if !raised || !lookalike {
			t.Errorf("coverage: tier %s has a record it raises: %v; a lookalike it must not raise (the same call labelled otherwise): %v",
				tier, raised, lookalike)
		}
	}

	need := func(tier, source string, names ...string) {
		for _, n := range names {
			if !seen[entryKey{tier, source, n}] {
				t.Errorf("coverage: no %s record for %s %s", tier, source, n)
			}
		}
	}
	// Every danger call, succeeded, and KMS's own deletion and expiry events.
	need("key-danger/ok", "kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "RetireGrant",
		"RevokeGrant", "DisableKeyRotation", "EnableKey", "CancelKeyDeletion", "UpdateAlias", "DeleteAlias", "DeleteKey",
		"DeleteExpiredKeyMaterial")
	need("key-danger/ok", "aws.kms", "KMS CMK Deletion", "KMS Imported Key Material Expiration")
	need("key-danger/failed", "kms.amazonaws.com", "Decrypt")
	// The principals of the key: credentials, sessions, roles.
	need("key-danger/ok", "iam.amazonaws.com", "CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "EnableMFADevice",
		"UpdateAssumeRolePolicy", "AttachRolePolicy", "PutRolePolicy")
	need("key-danger/ok", "sts.amazonaws.com", "GetSessionToken")
	need("key-danger/failed", "iam.amazonaws.com", "CreateAccessKey")
	need("none/ok", "iam.amazonaws.com", "CreateAccessKey", "UpdateAssumeRolePolicy", "AttachRolePolicy", "CreatePolicyVersion")
	need("none/ok", "sts.amazonaws.com", "GetSessionToken")
	// Key use means use: the cryptographic calls, including a service's; metadata reads only when denied.
	need("key-use/ok", "kms.amazonaws.com", "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt")
	need("none/ok", "kms.amazonaws.com", "DescribeKey", "GetKeyPolicy", "GetKeyRotationStatus", "ListResourceTags", "EnableKeyRotation",
		"TagResource", "RotateKey")
	need("none/ok", "aws.kms", "KMS CMK Rotation", "KMS CMK Deletion")
	need("denied/failed", "kms.amazonaws.com", "Decrypt", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "GetKeyPolicy")
	need("denied/failed", "sts.amazonaws.com", "GetSessionToken")
	need("denied/failed", "iam.amazonaws.com", "CreateAccessKey", "UpdateAssumeRolePolicy")
	need("denied/failed", "cloudformation.amazonaws.com", "DeleteStack")
	need("denied/failed", "logs.amazonaws.com", "PutSubscriptionFilter")
	// Every tamper call against our resources, and the same calls against others.
	for _, tier := range []string{"audit-tamper/ok", "none/ok"} {
		need(tier, "cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
		need(tier, "s3.amazonaws.com", "PutBucketPolicy", "PutBucketAcl")
		need(tier, "events.amazonaws.com", "DisableRule", "DeleteRule", "RemoveTargets")
		need(tier, "sns.amazonaws.com", "DeleteTopic", "Unsubscribe", "SetTopicAttributes")
		need(tier, "logs.amazonaws.com", "DeleteLogGroup", "PutSubscriptionFilter", "PutTransformer")
		need(tier, "cloudformation.amazonaws.com", "UpdateStack", "DeleteStack")
	}
	need("audit-tamper/ok", "cloudformation.amazonaws.com", "CreateChangeSet", "ExecuteChangeSet", "SetStackPolicy", "UpdateTerminationProtection")
	need("none/ok", "cloudformation.amazonaws.com", "ExecuteChangeSet")
	need("audit-tamper/ok", "iam.amazonaws.com", "UpdateAssumeRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy",
		"DeleteRolePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion")
	need("audit-tamper/ok", "logs.amazonaws.com", "DeleteSubscriptionFilter", "DeleteTransformer", "AssociateKmsKey",
		"PutDataProtectionPolicy", "DeleteDataProtectionPolicy", "PutAccountPolicy")
	need("audit-tamper/ok", "kms.amazonaws.com", "DisableKey", "DeleteKey")
	need("audit-tamper/ok", "aws.kms", "KMS CMK Deletion")
	// Attempts: failed tamper calls whose error is not a denial.
	need("audit-tamper/failed", "cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
	need("audit-tamper/failed", "cloudformation.amazonaws.com", "UpdateStack")
	need("none/failed", "cloudtrail.amazonaws.com", "StopLogging")
	need("none/ok", "kms.amazonaws.com", "RotateKey", "CreateAlias", "DisableKey", "Decrypt")
	need("none/failed", "kms.amazonaws.com", "Decrypt")
	need("none/ok", "signin.amazonaws.com", "ConsoleLogin")
	need("none/ok", "ec2.amazonaws.com", "DescribeInstances")
	need("none/ok", "s3.amazonaws.com", "ListBuckets")
	// Every denial spelling README.md names, on our key.
	spellings := map[string]bool{}
	for _, e := range corpus {
		var r map[string]any
		_ = json.Unmarshal(e.raw(), &r)
		if code, ok := r["errorCode"].(string); ok && e.Tier == "denied" {
			spellings[code] = true
		}
	}
	for _, code := range []string{"AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "UnauthorizedOperation",
		"DisabledException", "KMSInvalidStateException"} {
		if !spellings[code] {
			t.Errorf("coverage: no denied record with errorCode %s", code)
		}
	}
}

// ---- assertions on the synthesized rules

// detectionRules returns the AWS::Events::Rule resources of a synth by logical id.
func detectionRules(t *testing.T, s *Synth) map[string]map[string]any {
	t.Helper()
	rules := s.resourcesOfType("AWS::Events::Rule")
	if len(rules) == 0 {
		t.Fatalf("%s: no AWS::Events::Rule", s.Name)
	}
	return rules
}

func ruleTier(r map[string]any) string {
	md, _ := r["Metadata"].(map[string]any)
	tier, _ := md["kmsguard:tier"].(string)
	return tier
}

// flatten renders a CloudFormation string value as text: Fn::Join is joined and references become
// ${LogicalId} or ${LogicalId.Attr}.
// flattener shows each reference as ${Logical.Attr}, so text that embeds one can be searched.
var flattener = &cfntemplate.Resolver{Fallback: func(r cfntemplate.Ref) (string, bool) { return "${" + r.String() + "}", true }}

// flatten resolves a template value to one string, every reference shown as ${Logical.Attr}.
func flatten(v any) string {
	s, _ := flattener.String(v)
	return s
}

var inputPlaceholderRE = regexp.MustCompile(`<([^<>\s]+)>`)

// TestEveryRuleMailsTheTopicAReadableAlertOfItsTier: each rule has a tier, the state its events need, a
// name the tamper rules recognise, one target (the alert topic, through an input transformer) and an email
// that names the tier and severity, who, what, when and how to look the event up.
func TestEveryRuleMailsTheTopicAReadableAlertOfItsTier(t *testing.T) {
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			alertsTopic, securityTopic := topicEncryptedBy(t, s, "alerts-key"), topicEncryptedBy(t, s, "security-alerts-key")
			for id, r := range detectionRules(t, s) {
				props := r["Properties"].(map[string]any)
				tier := ruleTier(r)
				severity, ok := tierSeverity[tier]
				if !ok {
					t.Errorf("%s: rule %s: Metadata kmsguard:tier = %q, want one of key-danger, denied, audit-tamper, key-use", config, id, tier)
					continue
				}
				state, _ := props["State"].(string)
				switch tier {
				case "key-danger", "denied", "key-use":
					// Decrypt and GenerateDataKeyWithoutPlaintext are read-only management events: a rule in state
					// ENABLED never receives them.
					if state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
						t.Errorf("%s: rule %s (%s): State %q, want ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", config, id, tier, state)
					}
				default:
					if state != "ENABLED" && state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
						t.Errorf("%s: rule %s (%s): State %q, want enabled", config, id, tier, state)
					}
				}
				if name, _ := props["Name"].(string); !strings.HasPrefix(name, s.Stack.Config.StackName+"-") {
					t.Errorf("%s: rule %s: Name %q does not start with %q (the tamper rules recognise our rules by that prefix)",
						config, id, name, s.Stack.Config.StackName+"-")
				}
				// Critical tiers reach both destinations, each target with its own destination's dead-letter
				// queue; the informational key-use tier only the alerts destination.
				targets, _ := props["Targets"].([]any)
				want := []any{map[string]any{"Ref": alertsTopic}, map[string]any{"Ref": securityTopic}}
				wantQueues := []string{queueOf(t, s, ""), queueOf(t, s, "Security")}
				if severity == "info" {
					want, wantQueues = want[:1], wantQueues[:1]
				}
				var got []any
				var gotQueues []string
				for _, tg := range targets {
					got = append(got, tg.(map[string]any)["Arn"])
					ref, _ := cfntemplate.RefOf(tg.(map[string]any)["DeadLetterConfig"].(map[string]any)["Arn"])
					gotQueues = append(gotQueues, ref.ID)
				}
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotQueues, wantQueues) {
					t.Errorf("%s: rule %s (%s): targets %v with dead-letter queues %v, want %v with %v", config, id, tier, got, gotQueues, want, wantQueues)
					continue
				}
				target := targets[0].(map[string]any)
				it, _ := target["InputTransformer"].(map[string]any)
				if it == nil {
					t.Errorf("%s: rule %s: target has no InputTransformer", config, id)
					continue
				}
				paths, _ := it["InputPathsMap"].(map[string]any)
				text := flatten(it["InputTemplate"])
				// KMS's own events (source aws.kms) have no caller, request or CloudTrail event id: their email
				// names what KMS announced, the key, the time and place, and how to look at the key.
				wants, lookupWord, lookupVar := []string{tier, "<eventName>", "<principal>", "<sourceIp>", "<time>", "<errorCode>", "<eventId>"}, "cloudtrail", "<eventId>"
				if pat, _ := props["EventPattern"].(map[string]any); reflect.DeepEqual(pat["source"], []any{"aws.kms"}) {
					wants, lookupWord, lookupVar = []string{tier, "<detailType>", "<kmsKeyId>", "<time>", "<region>", "<account>"}, "describe-key", "<kmsKeyId>"
				}
				for _, want := range wants {
					if !strings.Contains(text, want) {
						t.Errorf("%s: rule %s: InputTemplate does not mention %s:\n%s", config, id, want, text)
					}
				}
				if !strings.Contains(strings.ToLower(text), severity) {
					t.Errorf("%s: rule %s: InputTemplate does not carry the severity %q", config, id, severity)
				}
				lookup := false
				for _, line := range strings.Split(text, "\n") {
					if strings.Contains(strings.ToLower(line), lookupWord) && strings.Contains(line, lookupVar) {
						lookup = true
					}
					// EventBridge's multi-line text input: each line is one JSON string.
					var s string
					if err := json.Unmarshal([]byte(line), &s); err != nil {
						t.Errorf("%s: rule %s: InputTemplate line %q is not a JSON string: %v", config, id, line, err)
					}
				}
				if !lookup {
					t.Errorf("%s: rule %s: no lookup hint (%s with %s) in the InputTemplate", config, id, lookupWord, lookupVar)
				}
				for _, m := range inputPlaceholderRE.FindAllStringSubmatch(text, -1) {
					if _, ok := paths[m[1]]; !ok {
						t.Errorf("%s: rule %s: InputTemplate placeholder <%s> is not in InputPathsMap", config, id, m[1])
					}
				}
				for name, p := range paths {
					if ps, _ := p.(string); !strings.HasPrefix(ps, "$.") {
						t.Errorf("%s: rule %s: InputPathsMap %s = %v is not a JSON path", config, id, name, p)
					}
				}
			}
		})
	}
}

// patternRefPaths returns the event fields (dotted paths) at which an event pattern names logicalID.
func patternRefPaths(pattern any, logicalID string) map[string]bool {
	out := map[string]bool{}
	cfntemplate.Refs(pattern, func(path []string, r cfntemplate.Ref) {
		if r.ID == logicalID {
			out[strings.Join(path, ".")] = true
		}
	})
	return out
}

// TestKeyRulesRecogniseTheKeyByTheResourceKmsResolved: KMS rules identify the master key by detail.resources ARN; a rule that
// names the key in requestParameters.keyId only (callers choose the spelling: ARN, id, alias) is not enough.
func TestKeyRulesRecogniseTheKeyByTheResourceKmsResolved(t *testing.T) {
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
			byResources := map[string]int{}
			for id, r := range detectionRules(t, s) {
				pattern := r["Properties"].(map[string]any)["EventPattern"]
				paths := patternRefPaths(pattern, masterID)
				if len(paths) == 0 {
					continue
				}
				// KMS's own events (source aws.kms) name the key in the event's resources, not in a record.
				native := reflect.DeepEqual(pattern.(map[string]any)["source"], []any{"aws.kms"})
				if native && len(paths) == 1 && paths["resources"] {
					byResources[ruleTier(r)]++
					continue
				}
				if !paths["detail.resources.ARN"] {
					t.Errorf("%s: rule %s (%s) names the master key only under %v, not detail.resources.ARN", config, id, ruleTier(r), keys(paths))
				} else {
					byResources[ruleTier(r)]++
				}
			}
			for _, tier := range []string{"key-danger", "denied"} {
				if byResources[tier] == 0 {
					t.Errorf("%s: no %s rule matches the master key by detail.resources.ARN", config, tier)
				}
			}
		})
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestKeyUseAlertsAreOnByDefaultAndOffWithNotifyKeyUseFalse: the informational tier is on by default and off with notifyKeyUse=false.
func TestKeyUseAlertsAreOnByDefaultAndOffWithNotifyKeyUseFalse(t *testing.T) {
	for config, want := range map[string]bool{"default": true, "hardened": false} {
		s := synth(t, config)
		if s.Stack.Config.NotifyKeyUse != want {
			t.Fatalf("%s: notifyKeyUse = %v, the test configuration changed", config, s.Stack.Config.NotifyKeyUse)
		}
		tiers := map[string]int{}
		for _, r := range detectionRules(t, s) {
			tiers[ruleTier(r)]++
		}
		if got := tiers["key-use"] > 0; got != want {
			t.Errorf("%s (notifyKeyUse=%v): key-use rules present = %v (%d)", config, want, got, tiers["key-use"])
		}
		for _, tier := range []string{"key-danger", "denied", "audit-tamper"} {
			if tiers[tier] == 0 {
				t.Errorf("%s: no %s rule", config, tier)
			}
		}
		must(t, config+": key-use rule count", func() {
			n := 0
			if want {
				n = tiers["key-use"]
			}
			s.Template.ResourcePropertiesCountIs(jsii.String("AWS::Events::Rule"), assertions.Match_ObjectLike(&map[string]any{
				"Description": assertions.Match_StringLikeRegexp(jsii.String("^kmsguard key-use ")),
			}), jsii.Number(n))
		})
	}
}

// ---- alarms, metric filters, dashboard

// TestEveryAlarmNotifiesBothDestinations: the metric-filter route, the undelivered-alerts alarms and the
// heartbeat reach both topics, so that disabling one destination silences none of them.
func TestEveryAlarmNotifiesBothDestinations(t *testing.T) {
	for _, config := range corpusConfigs {
		s := synth(t, config)
		both := []any{map[string]any{"Ref": topicEncryptedBy(t, s, "alerts-key")}, map[string]any{"Ref": topicEncryptedBy(t, s, "security-alerts-key")}}
		alarms := s.resourcesOfType("AWS::CloudWatch::Alarm")
		if len(alarms) == 0 {
			t.Fatalf("%s: no AWS::CloudWatch::Alarm", config)
		}
		heartbeats := 0
		for id, a := range alarms {
			props := a["Properties"].(map[string]any)
			if !reflect.DeepEqual(props["AlarmActions"], both) || props["ActionsEnabled"] != true {
				t.Errorf("%s: alarm %s: AlarmActions %v, want both destinations %v", config, id, props["AlarmActions"], both)
			}
			want := "notBreaching" // no matching log event is the normal state of a metric filter
			if props["MetricName"] == "IncomingLogEvents" {
				heartbeats++
				want = "breaching" // silence is the failure the heartbeat is for
				if props["Namespace"] != "AWS/Logs" || props["ComparisonOperator"] != "LessThanThreshold" || props["Threshold"] != 1.0 || props["Period"] != 3600.0 {
					t.Errorf("%s: heartbeat %s: %v", config, id, props)
				}
			}
			if props["TreatMissingData"] != want {
				t.Errorf("%s: alarm %s: TreatMissingData %v, want %s", config, id, props["TreatMissingData"], want)
			}
		}
		if heartbeats != 1 {
			t.Errorf("%s: %d audit log heartbeat alarms, want 1", config, heartbeats)
		}
	}
}

// deployedFilter is an AWS::Logs::MetricFilter of a synthesized template, its pattern resolved with the
// corpus's fake deploy-time values and parsed as CloudWatch Logs reads it.
type deployedFilter struct {
	ID        string // the filter's name after "<stackName>-": the MetricFilters id in constructs/detection
	LogicalID string
	LogGroup  any
	Pattern   *logfilter.Filter
	Alarmed   bool // an alarm on its metric notifies both alert destinations
}

func deployedFilters(t *testing.T, s *Synth) []deployedFilter {
	t.Helper()
	res := detectionResolver(t, s)
	masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	values := maps.Clone(res.Values)
	values[masterID] = res.KeyID()
	values[masterID+".Arn"] = fakeMasterKeyArn
	values[masterID+".KeyId"] = res.KeyID()
	resolver := &cfntemplate.Resolver{Template: s.Tpl, Values: values,
		Pseudo: cfntemplate.Pseudo{Partition: res.Partition, Region: res.Region, AccountID: res.Account}}
	both := []any{map[string]any{"Ref": topicEncryptedBy(t, s, "alerts-key")}, map[string]any{"Ref": topicEncryptedBy(t, s, "security-alerts-key")}}
	alarmed := map[string]bool{} // namespace/metric of the alarms that notify both destinations
	for _, a := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
		p := props(a)
		if jsonEqual(p["AlarmActions"], both) {
			alarmed[fmt.Sprint(p["Namespace"], "/", p["MetricName"])] = true
		}
	}
	var out []deployedFilter
	for _, id := range slices.Sorted(maps.Keys(s.resourcesOfType("AWS::Logs::MetricFilter"))) {
		p := props(s.resourcesOfType("AWS::Logs::MetricFilter")[id])
		name, _ := p["FilterName"].(string)
		pattern, unresolved := resolver.String(p["FilterPattern"])
		if len(unresolved) > 0 {
			t.Fatalf("%s: metric filter %s: unresolved %v", s.Name, id, unresolved)
		}
		parsed, err := logfilter.Parse(pattern)
		if err != nil {
			t.Fatalf("%s: metric filter %s is not a pattern CloudWatch Logs reads: %v\n%s", s.Name, id, err, pattern)
		}
		f := deployedFilter{ID: strings.TrimPrefix(name, s.Stack.Config.StackName+"-"), LogicalID: id, LogGroup: p["LogGroupName"], Pattern: parsed}
		if ts, _ := p["MetricTransformations"].([]any); len(ts) == 1 {
			tr := ts[0].(map[string]any)
			f.Alarmed = alarmed[fmt.Sprint(tr["MetricNamespace"], "/", tr["MetricName"])]
		} else {
			t.Errorf("%s: metric filter %s has %d metric transformations, want 1", s.Name, id, len(ts))
		}
		out = append(out, f)
	}
	return out
}

// firing returns the ids of the deployed filters that count the record.
func firing(t *testing.T, filters []deployedFilter, record map[string]any) []string {
	t.Helper()
	var out []string
	for _, f := range filters {
		ok, err := f.Pattern.Match(record)
		if err != nil {
			t.Fatalf("metric filter %s: %v", f.ID, err)
		}
		if ok {
			out = append(out, f.ID)
		}
	}
	sort.Strings(out)
	return out
}

// corpusRecord returns the named corpus record with the configuration's placeholders filled.
func corpusRecord(t *testing.T, corpus []corpusEntry, name string, vars map[string]string) map[string]any {
	t.Helper()
	for _, e := range corpus {
		if e.Name == name {
			var r map[string]any
			if err := json.Unmarshal(substitute(t, corpusPath, e, e.Record, vars), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("no corpus record named %q", name)
	return nil
}

// TestTheAlarmsCountWhatTheyAreForInEveryDeployedConfiguration is the second, independent alert path
// (README.md, Detection: metric filters on the audit log group, each with an alarm to the topic): each
// deployed filter, read as CloudWatch Logs reads it (internal/logfilter), on labelled corpus records. Each
// row names exactly the filters that must count the record, so a filter that counts too much fails as
// surely as one that misses. Every alarmed filter must count at least one row.
func TestTheAlarmsCountWhatTheyAreForInEveryDeployedConfiguration(t *testing.T) {
	corpus := loadCorpus(t)
	const cis = "UnauthorizedCalls" // account-wide (CIS): counts every denial outside the noise it excludes
	rows := []struct {
		record string
		want   []string
	}{
		{"DisableKey on the master key", []string{"KeyCalls", "KeyDisabledOrScheduledForDeletion"}},
		{"ScheduleKeyDeletion on the master key", []string{"KeyCalls", "KeyDisabledOrScheduledForDeletion"}},
		{"PutKeyPolicy on the master key", []string{"KeyCalls", "KeyDisabledOrScheduledForDeletion"}},
		{"DisableKey on another key", nil},
		{"Decrypt by the MariaDB server user at startup", []string{"KeyCalls"}},
		{"Decrypt with another key", nil},
		{"Decrypt denied (AccessDeniedException) with the key in resources", []string{"KeyCalls", "KeyDenied", cis}},
		{"GenerateDataKeyWithoutPlaintext denied, key named only by requestParameters.keyId = our alias", []string{"KeyCalls", "KeyDenied", cis}},
		{"GenerateDataKeyWithoutPlaintext on the disabled key (DisabledException, the MariaDB journal example)", []string{"KeyCalls", "KeyDenied"}},
		{"Decrypt denied on another key", []string{cis}},
		{"EC2 RunInstances refused (Client.UnauthorizedOperation), unrelated", []string{cis}},
		{"StopLogging on our trail by name", []string{"CloudTrailChanges"}},
		{"StopLogging of another trail", []string{"CloudTrailChanges"}}, // CIS 3.5: any trail
		{"DisableRule on our key-danger rule", []string{"AlertPipelineChanges"}},
		{"DisableRule of another stack's rule", nil},
		{"Console sign-in of the key administrator", nil}, // with MFA
		{"Console sign-in without MFA by an IAM user (no rule; the CIS metric filter alarms)", []string{"ConsoleSignInWithoutMfa"}},
		{"DeleteUser of the MariaDB server user (a key-danger rule in us-east-1, a metric filter everywhere)", []string{"KeyPrincipalChanges", "KeyPrincipalReplaced"}},
		{"CreateUser re-creating the key administrator under its name (a key-danger rule in us-east-1, a metric filter everywhere)", []string{"KeyPrincipalChanges", "KeyPrincipalReplaced"}},
		{"CreateAccessKey for the MariaDB server user (a key-danger rule in us-east-1, a metric filter everywhere)", []string{"KeyPrincipalChanges"}},
		{"DeleteUser of an unrelated user", nil},
		{"GetSessionToken success for the key administrator", []string{"KeyPrincipalSessions"}},
		{"GetSessionToken success for an unrelated user", nil},
		{"UpdateAssumeRolePolicy on the trail's delivery role", []string{"RoleChanges"}},
		{"AttachRolePolicy to another role", nil},
	}
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			filters := deployedFilters(t, s)
			lgID := logicalIDOfType(t, s, "AWS::Logs::LogGroup", nil)
			// The trail delivers to the audit log group, and every filter reads it (by Ref: its name ends in
			// the stack id, docs/teardown.md).
			trail := s.resourcesOfType("AWS::CloudTrail::Trail")[logicalIDOfType(t, s, "AWS::CloudTrail::Trail", nil)]
			if !jsonEqual(props(trail)["CloudWatchLogsLogGroupArn"], map[string]any{"Fn::GetAtt": []any{lgID, "Arn"}}) {
				t.Errorf("the trail does not deliver to the log group %s", lgID)
			}
			for _, f := range filters {
				if !jsonEqual(f.LogGroup, map[string]any{"Ref": lgID}) {
					t.Errorf("metric filter %s reads %v, not the audit log group %s", f.ID, f.LogGroup, lgID)
				}
			}
			vars := corpusVars(t, s)
			counted := map[string]bool{}
			for _, row := range rows {
				got := firing(t, filters, corpusRecord(t, corpus, row.record, vars))
				if !slices.Equal(got, row.want) {
					t.Errorf("%q is counted by %v, want %v", row.record, got, row.want)
				}
				for _, id := range got {
					counted[id] = true
				}
			}
			for _, f := range filters {
				if f.ID != "KeyCalls" && !f.Alarmed {
					t.Errorf("metric filter %s has no alarm that notifies both alert destinations", f.ID)
				}
				if f.Alarmed && !counted[f.ID] {
					t.Errorf("alarmed metric filter %s counts none of the rows: add the record it is for", f.ID)
				}
			}
		})
	}
}

// TestTheDashboardShowsCallsOnTheKeyDenialsAndEveryAlarm: what an operator opens first in an incident.
func TestTheDashboardShowsCallsOnTheKeyDenialsAndEveryAlarm(t *testing.T) {
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			must(t, config+": one dashboard", func() {
				s.Template.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
			})
			dashboards := s.resourcesOfType("AWS::CloudWatch::Dashboard")
			if len(dashboards) != 1 {
				return
			}
			var body struct {
				Widgets []struct {
					Type       string         `json:"type"`
					Properties map[string]any `json:"properties"`
				} `json:"widgets"`
			}
			for _, d := range dashboards {
				text := flatten(d["Properties"].(map[string]any)["DashboardBody"])
				if err := json.Unmarshal([]byte(text), &body); err != nil {
					t.Fatalf("%s: dashboard body is not JSON once references are filled: %v\n%s", config, err, text)
				}
			}
			var byEventName, denied, alarmStatus bool
			alarmIDs := map[string]bool{}
			for id := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
				alarmIDs[id] = true
			}
			for _, w := range body.Widgets {
				metrics, _ := json.Marshal(w.Properties["metrics"])
				title, _ := w.Properties["title"].(string)
				switch w.Type {
				case "metric":
					if strings.Contains(string(metrics), "EventName") && strings.Contains(string(metrics), "KeyCalls") {
						byEventName = true
					}
					if strings.Contains(strings.ToLower(title), "denied") && strings.Contains(string(metrics), "KeyDeniedCalls") {
						denied = true
					}
				case "alarm":
					listed := map[string]bool{}
					alarms, _ := w.Properties["alarms"].([]any)
					for _, a := range alarms {
						as, _ := a.(string)
						if strings.HasPrefix(as, "${") && strings.HasSuffix(as, ".Arn}") {
							listed[strings.TrimSuffix(strings.TrimPrefix(as, "${"), ".Arn}")] = true
						}
					}
					if reflect.DeepEqual(listed, alarmIDs) {
						alarmStatus = true
					} else {
						t.Errorf("%s: alarm widget lists %v, want every alarm %v", config, keys(listed), keys(alarmIDs))
					}
				}
			}
			if !byEventName {
				t.Errorf("%s: no dashboard widget graphs calls on the key by event name", config)
			}
			if !denied {
				t.Errorf("%s: no dashboard widget graphs denied calls", config)
			}
			if !alarmStatus {
				t.Errorf("%s: no dashboard alarm-status widget", config)
			}
		})
	}
}

// TestEveryRuleReferenceResolvesSoNoPatternSilentlyMatchesNothing: every reference of every rule resolves with the corpus values, so a
// new reference in a pattern cannot silently match nothing.
func TestEveryRuleReferenceResolvesSoNoPatternSilentlyMatchesNothing(t *testing.T) {
	for _, config := range corpusConfigs {
		s := synth(t, config)
		rules := loadDetectionRules(t, s)
		for _, r := range rules {
			if strings.Contains(string(r.PatternJSON), "kmsguard-unresolved:") {
				t.Errorf("%s: rule %s has an unresolved value: %s", config, r.LogicalID, r.PatternJSON)
			}
			if _, ok := tierSeverity[r.Tier]; !ok {
				t.Errorf("%s: rule %s: tier %q", config, r.LogicalID, r.Tier)
			}
		}
	}
}
