package athena

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// The committed golden templates and the labelled CloudTrail corpus
// (test/testdata/cloudtrail/README.md gives the fixed fake deploy-time
// values used here and by the other replay tests).
const (
	corpusPath = "../../test/testdata/cloudtrail/corpus.jsonl"
	masterKey  = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	logGroup   = "/kmsguard/cloudtrail/mariadb-encryption-key"
)

// golden is one committed template with the corpus placeholders of its
// configuration (test/synth_test.go's "default" and "hardened").
type golden struct {
	name string
	vars map[string]string
}

var goldens = []golden{
	{"default", map[string]string{
		"STACK": "KmsGuard", "ALIAS": "alias/mariadb-encryption", "TRAIL": "mariadb-encryption-key",
		"LOG_GROUP": logGroup, "ADMIN": "MDBEncAdmin", "SERVER_USER": "MDBEnc",
		"ADMIN_ARN": "arn:aws:iam::111122223333:user/MDBEncAdmin", "SERVER_USER_ARN": "arn:aws:iam::111122223333:user/MDBEnc",
		"STACK_ID":            "arn:aws:cloudformation:us-east-1:111122223333:stack/KmsGuard/11112222-3333-4444-5555-666677778888",
		"KEY_USER_ROLE":       "no-key-user-role",
		"DELIVERY_ROLE":       "KmsGuard-AuditTrailDeliveryRole-ABC",
		"DELIVERY_POLICY_ARN": "arn:aws:iam::111122223333:policy/KmsGuard-AuditTrailDeliveryPolicy-ABC",
	}},
	{"hardened", map[string]string{
		"STACK": "KmsGuardProd", "ALIAS": "alias/prod/mariadb", "TRAIL": "prod-mariadb-key",
		"LOG_GROUP": logGroup, "ADMIN": "KeyToggler", "SERVER_USER": "mariadb-prod",
		"ADMIN_ARN": "arn:aws:iam::111122223333:user/KeyToggler", "SERVER_USER_ARN": "arn:aws:iam::111122223333:user/mariadb-prod",
		"STACK_ID":            "arn:aws:cloudformation:us-east-1:111122223333:stack/KmsGuardProd/11112222-3333-4444-5555-666677778888",
		"KEY_USER_ROLE":       "no-key-user-role",
		"DELIVERY_ROLE":       "KmsGuardProd-AuditTrailDeliveryRole-ABC",
		"DELIVERY_POLICY_ARN": "arn:aws:iam::111122223333:policy/KmsGuardProd-AuditTrailDeliveryPolicy-ABC",
	}},
}

// stackOf is a golden configuration's stack name, its STACK placeholder.
func stackOf(name string) string {
	for _, g := range goldens {
		if g.name == name {
			return g.vars["STACK"]
		}
	}
	return ""
}

func goldenTemplate(tb testing.TB, name string) []byte {
	tb.Helper()
	tpl, err := os.ReadFile("../../test/testdata/" + name + ".template.json")
	if err != nil {
		tb.Fatal(err)
	}
	return tpl
}

// goldenRules loads a golden template's rules with replay.LoadRules, every
// reference resolved to the corpus's fake deploy-time values.
func goldenRules(tb testing.TB, name string) replay.Rules {
	tb.Helper()
	raw := goldenTemplate(tb, name)
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := replay.NewResolver(masterKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyArns := map[string]string{
		"audit-key":  "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
		"alerts-key": "arn:aws:kms:us-east-1:111122223333:key/5555eeee-66ff-7788-99aa-bbccddeeff00",
		// The second, independent alert destination.
		"security-alerts-key": "arn:aws:kms:us-east-1:111122223333:key/7777aaaa-88bb-99cc-00dd-eeff11223344",
	}
	trailBucket := ""
	for _, id := range tpl.OfType("AWS::CloudTrail::Trail") {
		if ref, ok := cfntemplate.RefOf(tpl.Resources[id].Properties["S3BucketName"]); ok {
			trailBucket = ref.ID
		}
	}
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::KMS::Key":
			role, _ := r.Metadata["kmsguard:role"].(string)
			if arn, ok := keyArns[role]; ok {
				res.Values[id+".Arn"] = arn
			}
		case "AWS::SQS::Queue":
			res.Values[id] = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionUndeliveredAlerts-ABC"
			if strings.Contains(id, "Security") { // one dead-letter queue per destination
				res.Values[id] = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionSecurityUndeliveredAlerts-DEF"
			}
		case "AWS::S3::Bucket":
			if id == trailBucket {
				res.Values[id] = "kmsguard-trailbucket-abc123"
			} else {
				res.Values[id] = "kmsguard-accesslogbucket-def456"
			}
		case "AWS::SNS::Topic":
			res.Values[id] = "arn:aws:sns:us-east-1:111122223333:KmsGuard-AlertingTopic-XYZ"
			if strings.Contains(id, "Security") {
				res.Values[id] = "arn:aws:sns:us-east-1:111122223333:KmsGuard-SecurityAlertingTopic-UVW"
			}
		case "AWS::Logs::LogGroup":
			res.Values[id] = logGroup
		case "AWS::IAM::Role": // the trail's delivery role; the managed policy is its delivery policy
			res.Values[id] = stackOf(name) + "-AuditTrailDeliveryRole-ABC"
		case "AWS::IAM::ManagedPolicy":
			res.Values[id] = "arn:aws:iam::111122223333:policy/" + stackOf(name) + "-AuditTrailDeliveryPolicy-ABC"
		case "AWS::IAM::User":
			name, _ := r.Properties["UserName"].(string)
			res.Values[id+".Arn"] = "arn:aws:iam::111122223333:user/" + name
		}
	}
	rules, warnings, err := replay.LoadRules(raw, res)
	if err != nil {
		tb.Fatal(err)
	}
	if len(warnings) > 0 {
		tb.Fatalf("%s: unresolved references: %s", name, strings.Join(warnings, "; "))
	}
	return rules
}

// corpusRecords returns the labelled corpus's records, placeholders filled.
func corpusRecords(tb testing.TB, vars map[string]string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(corpusPath)
	if err != nil {
		tb.Fatal(err)
	}
	re := regexp.MustCompile(`\$\{([A-Z_]+)\}`)
	var out [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e struct {
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			tb.Fatal(err)
		}
		if len(e.Record) == 0 {
			continue // KMS's own aws.kms events are not CloudTrail records: no Athena table holds them
		}
		rec := re.ReplaceAllFunc(e.Record, func(m []byte) []byte {
			v, ok := vars[string(m[2:len(m)-1])]
			if !ok {
				tb.Fatalf("unknown placeholder %s", m)
			}
			return []byte(v)
		})
		var compact bytes.Buffer
		if err := json.Compact(&compact, rec); err != nil {
			tb.Fatal(err)
		}
		out = append(out, compact.Bytes())
	}
	return out
}

// syntheticPatterns use every operator and every kind of field the
// translator handles, beyond what kmsguard's rules use today: numbers,
// booleans and null inside request parameters, arrays of objects, $or
// below the record, anything-but in its forms, the envelope's fields, a
// rule without detail-type (so delivery matters), states ENABLED and
// DISABLED. Each is its own tier.
var syntheticPatterns = []struct{ id, state, pattern string }{
	{"S01Numeric", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"eventSource":["kms.amazonaws.com"],"requestParameters":{"pendingWindowInDays":[{"numeric":[">=",7,"<",30]}]}}}`},
	{"S02NumbersExactAndExcluded", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"pendingWindowInDays":[30,{"anything-but":[7,3]}]}}}`},
	{"S03Boolean", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"force":[true]}}}`},
	{"S04StringThatLooksBoolean", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"force":["false"]}}}`},
	{"S05ArrayOfObjects", "ENABLED", `{"detail":{"requestParameters":{"eventSelectors":{"includeManagementEvents":[false],"readWriteType":[{"prefix":"Write"}]}}}}`},
	{"S06OrBelowTheRecord", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"$or":[{"keyId":[{"suffix":"567890ab"}]},{"aliasName":[{"exists":true}]}]},"eventName":[{"anything-but":{"prefix":"Get"}}]}}`},
	{"S07AbsentParameter", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"keyId":[{"exists":false}]},"eventSource":["kms.amazonaws.com"]}}`},
	{"S08ResourceFields", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"resources":{"type":[{"wildcard":"AWS::*::Key"}],"ARN":[{"suffix":"90ab"}]}}}`},
	{"S09NoResourceARN", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"resources":{"ARN":[{"exists":false}]},"eventSource":["kms.amazonaws.com"]}}`},
	{"S10Envelope", "ENABLED", `{"account":["111122223333"],"region":[{"prefix":"us-"}],"version":["0"],"id":[{"exists":true}],"time":[{"prefix":"2025-05"}],"source":["aws.kms"],"detail-type":[{"anything-but":"AWS Service Event via CloudTrail"}],"resources":[{"exists":false}],"detail":{"readOnly":[false]}}`},
	{"S11Structs", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":["true"]}}},"tlsDetails":{"tlsVersion":[{"anything-but":{"wildcard":"TLSv1.*2"}}]}}}`},
	{"S12NumberEquals", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"additionalEventData":{"bytesTransferredIn":[{"numeric":["=",0]}]}}}`},
	{"S13Disabled", "DISABLED", `{"detail":{"eventSource":["kms.amazonaws.com"]}}`},
	{"S14ExistsOrValue", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"ids":["AlertTopic"]},"errorCode":[{"exists":true},"AccessDenied"]}}`},
	{"S15AnythingButStrings", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"responseElements":{"keyState":[{"anything-but":["Enabled"]}]}}}`},
	{"S16Null", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"policyName":[null,"default"]}}}`},
	{"S17Deep", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"ObjectLockConfiguration":{"Rule":{"DefaultRetention":{"Days":[{"numeric":[">",0]}]}}}}}}`},
	{"S19AnythingButNumbersOnText", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"errorCode":[{"anything-but":[5,7]}]}}`},
	{"S20AnythingButOnTheBoolean", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"readOnly":[{"anything-but":["x"]}],"eventSource":["sts.amazonaws.com"]}}`},
	{"S18AnythingButAffixes", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", `{"detail":{"requestParameters":{"keyId":[{"anything-but":{"prefix":"arn:aws:kms:"}},{"anything-but":{"suffix":"-abc"}}]},"errorCode":[{"anything-but":{"wildcard":"*Denied*"}}]}}`},
}

// syntheticTemplate is a template holding the synthetic rules.
func syntheticTemplate(tb testing.TB) []byte {
	tb.Helper()
	resources := map[string]any{}
	for _, p := range syntheticPatterns {
		var pattern any
		if err := json.Unmarshal([]byte(p.pattern), &pattern); err != nil {
			tb.Fatalf("%s: %v", p.id, err)
		}
		resources[p.id] = map[string]any{
			"Type":       "AWS::Events::Rule",
			"Metadata":   map[string]any{"kmsguard:tier": p.id},
			"Properties": map[string]any{"State": p.state, "EventPattern": pattern},
		}
	}
	b, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func syntheticRules(tb testing.TB) replay.Rules {
	tb.Helper()
	rules, warnings, err := replay.LoadRules(syntheticTemplate(tb), replay.Resolver{})
	if err != nil || len(warnings) > 0 {
		tb.Fatalf("%v %v", err, warnings)
	}
	return rules
}
