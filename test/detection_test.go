package test

// Detection tests: a labelled corpus of CloudTrail records replayed through the synthesized template's actual
// EventBridge rules (internal/replay), and assertions on the rules, alarms, metric filters and dashboard.
//
// Expected tiers come from the tier definitions and the lead's design decisions (tiers are disjoint):
//   - key-danger: successful danger calls on the master key (DisableKey, ScheduleKeyDeletion, PutKeyPolicy,
//     CreateGrant, RetireGrant, RevokeGrant, DisableKeyRotation, EnableKey, CancelKeyDeletion), alias
//     operations naming our alias (whatever key they point at), the DeleteKey service event, and failures
//     on our key whose errorCode is not a denial/unusable-key spelling;
//   - denied: denials and DisabledException/KMSInvalidStateException on our key (by resources ARN, by
//     requestParameters.aliasName, or by requestParameters.keyId = key ARN/id/alias/alias ARN), denials on
//     the audit pipeline, and refused GetSessionToken of our admin and server users;
//   - audit-tamper: successful changes to this stack's trail, buckets, log group, audit key, rules, alarms
//     and topic (failures with non-denial errors raise nothing);
//   - key-use: every other successful call on the key (off when notifyKeyUse=false);
//   - none: everything else.
//
// The corpus (testdata/cloudtrail/corpus.jsonl) writes per-config values as ${VAR} placeholders (see
// corpusVars); fixed fake values for deploy-time names (buckets, topic, audit key) are filled into the
// replay resolver by finding the logical ids in the template.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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
	// The second, independent destination (README.md, "Two alert destinations").
	fakeSecurityTopicArn           = "arn:aws:sns:us-east-1:111122223333:KmsGuard-SecurityAlertingTopic-UVW"
	fakeSecurityKeyArn             = "arn:aws:kms:us-east-1:111122223333:key/7777aaaa-88bb-99cc-00dd-eeff11223344"
	fakeSecurityDeadLetterQueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionSecurityUndeliveredAlerts-DEF"
	// fakeLogGroup is what Ref of the audit log group gives: its name, which ends in the stack id.
	fakeLogGroup = "/kmsguard/cloudtrail/trail/0a1b2c3d-1111-2222-3333-444455556666"
)

// The tiers of the issue, with the severity each one's emails must carry.
var tierSeverity = map[string]string{
	"key-danger":   "critical",
	"denied":       "critical",
	"audit-tamper": "critical",
	"key-use":      "info",
}

// corpusConfigs are the synthesized configurations the corpus is replayed through.
var corpusConfigs = []string{"default", "hardened"}

const corpusPath = "testdata/cloudtrail/corpus.jsonl"

// corpusEntry is one labelled record. Tier is the expected tier ("none": no rule may fire); TierByConfig
// overrides it for a configuration (key-use records expect "none" when notifyKeyUse=false); Configs, when
// set, restricts the entry to those configurations.
type corpusEntry struct {
	Line         int
	Name         string            `json:"name"`
	Tier         string            `json:"tier"`
	Configs      []string          `json:"configs"`
	TierByConfig map[string]string `json:"tierByConfig"`
	Source       string            `json:"source"`
	Record       json.RawMessage   `json:"record"`
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

func loadCorpus(t *testing.T) []corpusEntry {
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
	return map[string]string{
		"STACK":           cfg.StackName,
		"ALIAS":           cfg.KeyAlias,
		"TRAIL":           cfg.TrailName,
		"LOG_GROUP":       fakeLogGroup, // Ref of the log group, resolved by detectionResolver
		"ADMIN":           cfg.AdminUserName,
		"ADMIN_ARN":       userArn(cfg.AdminUserName),
		"SERVER_USER":     serverName,
		"SERVER_USER_ARN": serverArn,
	}
}

var placeholderRE = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// substitute fills the ${NAME} placeholders of a raw record; an unknown name fails the test.
func substitute(t *testing.T, e corpusEntry, raw []byte, vars map[string]string) []byte {
	t.Helper()
	return placeholderRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok {
			t.Errorf("%s:%d %q: unknown placeholder ${%s}", corpusPath, e.Line, e.Name, name)
			return m
		}
		b, _ := json.Marshal(v) // escape for the inside of a JSON string
		return b[1 : len(b)-1]
	})
}

// detectionResolver resolves every reference the detection rules make: the master key through the key
// ARN, and the audit key, the two trail buckets, the alert topic and the IAM users through Values, keyed by
// the logical ids found by type and properties.
func detectionResolver(t *testing.T, s *Synth) replay.Resolver {
	t.Helper()
	res, err := replay.NewResolver(fakeMasterKeyArn)
	if err != nil {
		t.Fatal(err)
	}
	masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	auditKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "audit-key")
	alertsKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "alerts-key")
	securityKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "security-alerts-key")
	if n := len(s.resourcesOfType("AWS::KMS::Key")); n != 4 {
		t.Fatalf("%s: want four keys (master, audit, and each alert topic's), got %d", s.Name, n)
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
	res.Values[securityKeyID+".Arn"] = fakeSecurityKeyArn
	res.Values[topicEncryptedBy(t, s, "alerts-key")] = fakeTopicArn
	res.Values[topicEncryptedBy(t, s, "security-alerts-key")] = fakeSecurityTopicArn
	res.Values[queueOf(t, s, "")] = fakeDeadLetterQueueURL
	res.Values[queueOf(t, s, "Security")] = fakeSecurityDeadLetterQueueURL
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

// TestCorpusReplay replays every labelled record through the synthesized rules of each configuration: each
// record must raise exactly its tier, or nothing.
func TestCorpusReplay(t *testing.T) {
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
				raw := substitute(t, e, e.Record, vars)
				var record map[string]any
				if err := json.Unmarshal(raw, &record); err != nil {
					t.Errorf("%s:%d %q: record: %v", corpusPath, e.Line, e.Name, err)
					continue
				}
				ev, err := replay.WrapRecord(record)
				if err != nil {
					t.Errorf("%s:%d %q: wrap: %v", corpusPath, e.Line, e.Name, err)
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

func tierList(tiers []string) string {
	if len(tiers) == 0 {
		return "[none]"
	}
	return "[" + strings.Join(tiers, ",") + "]"
}

// TestCorpusWellFormed keeps the corpus honest: full CloudTrail records, known tiers and placeholders, a
// source for each record, and the coverage the issue asks for.
func TestCorpusWellFormed(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 45 {
		t.Errorf("corpus has %d records, want at least 45", len(corpus))
	}
	known := map[string]bool{"none": true}
	for tier := range tierSeverity {
		known[tier] = true
	}
	knownVars := map[string]bool{}
	for k := range map[string]string{"STACK": "", "ALIAS": "", "TRAIL": "", "LOG_GROUP": "", "ADMIN": "", "ADMIN_ARN": "", "SERVER_USER": "", "SERVER_USER_ARN": ""} {
		knownVars[k] = true
	}
	names := map[string]int{}
	perTier := map[string]int{}
	// What each record raises in the default configuration, by eventSource/eventName/outcome, for coverage.
	type key struct{ tier, source, name string }
	seen := map[key]bool{}
	for _, e := range corpus {
		where := fmt.Sprintf("%s:%d %q", corpusPath, e.Line, e.Name)
		if e.Name == "" || e.Source == "" {
			t.Errorf("%s: name and source are required", where)
		}
		if prev, dup := names[e.Name]; dup {
			t.Errorf("%s: same name as line %d", where, prev)
		}
		names[e.Name] = e.Line
		if !known[e.Tier] {
			t.Errorf("%s: unknown tier %q", where, e.Tier)
		}
		for c, tier := range e.TierByConfig {
			if !known[tier] || !slices.Contains(corpusConfigs, c) {
				t.Errorf("%s: tierByConfig %s=%s: unknown config or tier", where, c, tier)
			}
		}
		if e.Tier == "key-use" && e.TierByConfig["hardened"] != "none" {
			t.Errorf("%s: key-use records must expect none in hardened (notifyKeyUse=false)", where)
		}
		for _, m := range placeholderRE.FindAllSubmatch(e.Record, -1) {
			if !knownVars[string(m[1])] {
				t.Errorf("%s: unknown placeholder %s", where, m[0])
			}
		}
		perTier[e.Tier]++
		var r map[string]any
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Errorf("%s: %v", where, err)
			continue
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
				if m["type"] != "AWS::KMS::Key" || m["ARN"] == nil || m["accountId"] != fakeAccount {
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
		seen[key{e.Tier + "/" + outcome, src, name}] = true
	}
	t.Logf("corpus: %d records, per tier %v", len(corpus), perTier)

	need := func(tier, source string, names ...string) {
		for _, n := range names {
			if !seen[key{tier, source, n}] {
				t.Errorf("coverage: no %s record for %s %s", tier, source, n)
			}
		}
	}
	// Tier 1 of the issue: every danger call, succeeded.
	need("key-danger/ok", "kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "RetireGrant",
		"RevokeGrant", "DisableKeyRotation", "EnableKey", "CancelKeyDeletion", "UpdateAlias", "DeleteAlias", "DeleteKey")
	need("key-danger/failed", "kms.amazonaws.com", "Decrypt")
	need("key-use/ok", "kms.amazonaws.com", "Decrypt", "GenerateDataKeyWithoutPlaintext", "DescribeKey")
	need("denied/failed", "kms.amazonaws.com", "Decrypt", "GenerateDataKeyWithoutPlaintext")
	need("denied/failed", "sts.amazonaws.com", "GetSessionToken")
	// Tier 3 of the issue: every tamper call against our resources, and the same calls against others.
	for _, tier := range []string{"audit-tamper/ok", "none/ok"} {
		need(tier, "cloudtrail.amazonaws.com", "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
		need(tier, "s3.amazonaws.com", "PutBucketPolicy", "PutBucketAcl")
		need(tier, "events.amazonaws.com", "DisableRule", "DeleteRule", "RemoveTargets")
		need(tier, "sns.amazonaws.com", "DeleteTopic", "Unsubscribe", "SetTopicAttributes")
		need(tier, "logs.amazonaws.com", "DeleteLogGroup")
	}
	need("none/ok", "kms.amazonaws.com", "RotateKey", "CreateAlias", "DisableKey", "Decrypt")
	need("none/failed", "kms.amazonaws.com", "Decrypt")
	need("none/ok", "signin.amazonaws.com", "ConsoleLogin")
	need("none/ok", "ec2.amazonaws.com", "DescribeInstances")
	need("none/ok", "s3.amazonaws.com", "ListBuckets")
	// Every denial spelling of the issue on our key.
	spellings := map[string]bool{}
	for _, e := range corpus {
		var r map[string]any
		_ = json.Unmarshal(e.Record, &r)
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

func TestRulesTiersStatesAndTargets(t *testing.T) {
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
				for _, want := range []string{tier, "<eventName>", "<principal>", "<sourceIp>", "<time>", "<errorCode>", "<eventId>"} {
					if !strings.Contains(text, want) {
						t.Errorf("%s: rule %s: InputTemplate does not mention %s:\n%s", config, id, want, text)
					}
				}
				if !strings.Contains(strings.ToLower(text), severity) {
					t.Errorf("%s: rule %s: InputTemplate does not carry the severity %q", config, id, severity)
				}
				lookup := false
				for _, line := range strings.Split(text, "\n") {
					if strings.Contains(strings.ToLower(line), "cloudtrail") && strings.Contains(line, "<eventId>") {
						lookup = true
					}
					// EventBridge's multi-line text input: each line is one JSON string.
					var s string
					if err := json.Unmarshal([]byte(line), &s); err != nil {
						t.Errorf("%s: rule %s: InputTemplate line %q is not a JSON string: %v", config, id, line, err)
					}
				}
				if !lookup {
					t.Errorf("%s: rule %s: no CloudTrail lookup hint with <eventId> in the InputTemplate", config, id)
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

// TestRulesMatchKeyByResources: KMS rules identify the master key by detail.resources ARN; a rule that
// names the key in requestParameters.keyId only (callers choose the spelling: ARN, id, alias) is not enough.
func TestRulesMatchKeyByResources(t *testing.T) {
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
			byResources := map[string]int{}
			for id, r := range detectionRules(t, s) {
				paths := patternRefPaths(r["Properties"].(map[string]any)["EventPattern"], masterID)
				if len(paths) == 0 {
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

// TestRulesKeyUseFollowsNotifyKeyUse: the informational tier is on by default and off with notifyKeyUse=false.
func TestRulesKeyUseFollowsNotifyKeyUse(t *testing.T) {
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

// metricFilter is an AWS::Logs::MetricFilter, flattened.
type metricFilter struct {
	ID, Pattern, LogGroup, MetricName, Namespace string
}

func metricFilters(t *testing.T, s *Synth) []metricFilter {
	t.Helper()
	var out []metricFilter
	for id, r := range s.resourcesOfType("AWS::Logs::MetricFilter") {
		p := r["Properties"].(map[string]any)
		mf := metricFilter{ID: id, Pattern: flatten(p["FilterPattern"]), LogGroup: flatten(p["LogGroupName"])}
		if ts, _ := p["MetricTransformations"].([]any); len(ts) == 1 {
			tr := ts[0].(map[string]any)
			mf.MetricName, _ = tr["MetricName"].(string)
			mf.Namespace, _ = tr["MetricNamespace"].(string)
		} else {
			t.Errorf("%s: metric filter %s has %d metric transformations, want 1", s.Name, id, len(ts))
		}
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func TestAlarmsMetricFilters(t *testing.T) {
	for _, config := range corpusConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			lgID := logicalIDOfType(t, s, "AWS::Logs::LogGroup", nil)
			// The name ends in the stack id (docs/teardown.md): every filter must reference the log group.
			logGroup := flatten(map[string]any{"Ref": lgID})
			if trail := s.resourcesOfType("AWS::CloudTrail::Trail")[logicalIDOfType(t, s, "AWS::CloudTrail::Trail", nil)]; !reflect.DeepEqual(
				trail["Properties"].(map[string]any)["CloudWatchLogsLogGroupArn"], map[string]any{"Fn::GetAtt": []any{lgID, "Arn"}}) {
				t.Errorf("%s: the trail does not deliver to log group %s", config, lgID)
			}
			masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
			filters := metricFilters(t, s)
			for _, f := range filters {
				if f.LogGroup != logGroup {
					t.Errorf("%s: metric filter %s is on %q, want the audit log group %q", config, f.ID, f.LogGroup, logGroup)
				}
			}
			alarmed := map[string]bool{} // namespace/metric with an alarm
			for _, a := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
				p := a["Properties"].(map[string]any)
				alarmed[fmt.Sprint(p["Namespace"], "/", p["MetricName"])] = true
			}
			want := []struct {
				what  string
				terms []string
			}{
				{"unauthorized API calls (CIS)", []string{"$.errorCode", "UnauthorizedOperation", "AccessDenied"}},
				{"master key disabled, scheduled for deletion or its policy changed", []string{"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "${" + masterID + ".Arn}"}},
				{"CloudTrail configuration changes (CIS)", []string{"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"}},
				{"console sign-in without MFA (CIS)", []string{"ConsoleLogin", "MFAUsed", "Yes"}},
			}
			for _, w := range want {
				found := false
				for _, f := range filters {
					all := true
					for _, term := range w.terms {
						all = all && strings.Contains(f.Pattern, term)
					}
					if !all {
						continue
					}
					found = true
					if !alarmed[f.Namespace+"/"+f.MetricName] {
						t.Errorf("%s: metric filter %s (%s) has no alarm on %s/%s", config, f.ID, w.what, f.Namespace, f.MetricName)
					}
				}
				if !found {
					t.Errorf("%s: no metric filter for %s (pattern with %v)", config, w.what, w.terms)
				}
			}
		})
	}
}

func TestDashboardWidgets(t *testing.T) {
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

// TestDetectionTemplatesReplayCleanly: every reference of every rule resolves with the corpus values, so a
// new reference in a pattern cannot silently match nothing.
func TestDetectionTemplatesReplayCleanly(t *testing.T) {
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
