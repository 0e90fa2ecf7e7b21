package test

// Each use of a lock exemption alerts (README.md, "Locked changes" and "What kmsguard does not protect
// against"). The locks deny the changes that could silence kmsguard to every principal but the break-glass
// principals and the deploy role; those principals can still make them, and each time one does, an alert
// must reach every destination the change did not itself disable.
//
// What is exempted is read from the synthesized template, never from a list here: every Deny statement of a
// key policy, topic policy or bucket policy that spares principals by aws:PrincipalArn (the shape
// internal/lockdown writes) gives, for each of its actions and each spared principal, the successful call
// as CloudTrail records it (the documented record shapes of each service), which is then
//   - required to be recorded by the trail, from the trail's own event selectors in the template (an S3
//     data event is recorded only if a selector selects it), and
//   - replayed through the synthesized rules: it must reach, on a rule → topic route, every destination
//     whose topic and topic key the call did not touch (a call on a topic or on its key touches that
//     destination; "touch" is read from the template as in the red-team suite, redteam_routes_test.go).
// A new denied action that no rule watches therefore fails this test; the controls add one, and take the
// data events out of the trail.

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/lockdown"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// exemptedEvents maps an IAM action to the CloudTrail event names of the calls it authorizes, where they
// differ from the action's name (Service Authorization Reference for Amazon S3: PutObjectLockConfiguration
// is authorized by s3:PutBucketObjectLockConfiguration; s3:BypassGovernanceRetention is the extra
// permission of a DeleteObject, DeleteObjects or PutObjectRetention that removes or shortens a
// governance-mode retention, docs/aws-facts.md). Every other action's event is its name without the
// service prefix.
var exemptedEvents = map[string][]string{
	"s3:PutBucketObjectLockConfiguration": {"PutObjectLockConfiguration"},
	lockdown.GovernanceBypassAction:       {"DeleteObject", "DeleteObjects", "PutObjectRetention"},
}

// exemptedUse is one (action, resource) a lock denies to all but the principals in exempt.
type exemptedUse struct {
	action string
	// kind is "key", "topic" or "bucket"; id the logical id of the key, topic or bucket; value its ARN or name.
	kind, id, value string
	exempt          []string
	breakGlass      map[string]bool // exempt principals that must use MFA
	sid             string
}

// lockTemplate is a template read for exemptions: the template, a resolver for the values an attacker's
// record carries, and the alert paths.
type lockTemplate struct {
	s     *Synth
	raw   []byte
	doc   map[string]any
	res   replay.Resolver
	r     *cfntemplate.Resolver
	paths alertPaths
}

func readLockTemplate(t *testing.T, s *Synth, raw []byte) lockTemplate {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res := detectionResolver(t, s)
	values := map[string]string{}
	for k, v := range res.Values {
		values[k] = v
	}
	// A bucket's Arn, from the name the resolver gives it.
	for _, id := range tpl.OfType("AWS::S3::Bucket") {
		if name, ok := values[id]; ok {
			values[id+".Arn"] = "arn:aws:s3:::" + name
		}
	}
	masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	r := &cfntemplate.Resolver{Template: tpl, Values: values,
		Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: "us-east-1", AccountID: fakeAccount, StackName: s.Stack.Config.StackName},
		Fallback: func(ref cfntemplate.Ref) (string, bool) {
			if ref.ID == masterID && ref.Attr == "Arn" {
				return fakeMasterKeyArn, true
			}
			return "", false
		}}
	return lockTemplate{s: s, raw: raw, doc: doc, res: res, r: r, paths: readAlertPaths(t, s, raw, res)}
}

func (lt lockTemplate) str(t *testing.T, what string, v any) string {
	t.Helper()
	out, unresolved := lt.r.String(v)
	if len(unresolved) > 0 {
		t.Fatalf("%s: %s: unresolved %v", lt.s.Name, what, unresolved)
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// exemptedUses reads every exempting Deny of the template's key, topic and bucket policies.
func (lt lockTemplate) exemptedUses(t *testing.T) []exemptedUse {
	t.Helper()
	var uses []exemptedUse
	resources := lt.doc["Resources"].(map[string]any)
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := resources[id].(map[string]any)
		p, _ := r["Properties"].(map[string]any)
		var statements []any
		type target struct{ kind, id, value string }
		var targets []target
		switch r["Type"] {
		case "AWS::KMS::Key":
			statements = asList(p["KeyPolicy"].(map[string]any)["Statement"])
			targets = []target{{"key", id, lt.paths.keyArn[id]}}
		case "AWS::SNS::TopicPolicy":
			statements = asList(p["PolicyDocument"].(map[string]any)["Statement"])
			for _, topic := range asList(p["Topics"]) {
				ref, ok := cfntemplate.RefOf(topic)
				if !ok {
					t.Fatalf("%s: %s names a topic that is not in the template: %v", lt.s.Name, id, topic)
				}
				targets = append(targets, target{"topic", ref.ID, lt.paths.topicArn[ref.ID]})
			}
		case "AWS::S3::BucketPolicy":
			statements = asList(p["PolicyDocument"].(map[string]any)["Statement"])
			ref, ok := cfntemplate.RefOf(p["Bucket"])
			if !ok {
				t.Fatalf("%s: %s names a bucket that is not in the template: %v", lt.s.Name, id, p["Bucket"])
			}
			targets = []target{{"bucket", ref.ID, lt.str(t, id+".Bucket", p["Bucket"])}}
		default:
			continue
		}
		breakGlass := map[string]bool{}
		for _, raw := range statements {
			st := raw.(map[string]any)
			cond, _ := st["Condition"].(map[string]any)
			if eq, ok := cond["ArnEquals"].(map[string]any); ok && cond["BoolIfExists"] != nil {
				for _, arn := range asList(eq["aws:PrincipalArn"]) {
					breakGlass[lt.str(t, id+" break-glass", arn)] = true
				}
			}
		}
		for _, raw := range statements {
			st := raw.(map[string]any)
			cond, _ := st["Condition"].(map[string]any)
			notEq, ok := cond["ArnNotEquals"].(map[string]any)
			if st["Effect"] != "Deny" || !ok || notEq["aws:PrincipalArn"] == nil {
				continue
			}
			var exempt []string
			for _, arn := range asList(notEq["aws:PrincipalArn"]) {
				exempt = append(exempt, lt.str(t, id+" exempt principal", arn))
			}
			sid, _ := st["Sid"].(string)
			for _, tg := range targets {
				if tg.value == "" {
					t.Fatalf("%s: %s %s has no deploy-time value", lt.s.Name, tg.kind, tg.id)
				}
				for _, a := range asList(st["Action"]) {
					uses = append(uses, exemptedUse{action: a.(string), kind: tg.kind, id: tg.id, value: tg.value,
						exempt: exempt, breakGlass: breakGlass, sid: sid})
				}
			}
		}
	}
	return uses
}

// identity is the userIdentity of a successful call by principal (an IAM role as one of its sessions, an
// IAM user, or the account root), as CloudTrail records it.
func identity(principal string, mfa bool) map[string]any {
	attrs := map[string]any{"creationDate": "2025-05-20T08:00:00Z", "mfaAuthenticated": fmt.Sprint(mfa)}
	switch {
	case strings.HasSuffix(principal, ":root"):
		return map[string]any{"type": "Root", "principalId": fakeAccount, "arn": principal, "accountId": fakeAccount,
			"accessKeyId": "ASIAEXAMPLEROOTKEY", "sessionContext": map[string]any{"attributes": attrs}}
	case strings.Contains(principal, ":user/"):
		name := principal[strings.LastIndex(principal, "/")+1:]
		return map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER", "arn": principal, "accountId": fakeAccount,
			"accessKeyId": "ASIAEXAMPLEUSERKEY", "userName": name, "sessionContext": map[string]any{"attributes": attrs}}
	default: // a role: every session carries the role's ARN as aws:PrincipalArn
		name := principal[strings.LastIndex(principal, "/")+1:]
		return map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLEROLE:session",
			"arn": "arn:aws:sts::" + fakeAccount + ":assumed-role/" + name + "/session", "accountId": fakeAccount,
			"accessKeyId": "ASIAEXAMPLEROLEKEY", "sessionContext": map[string]any{
				"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLEROLE", "arn": principal,
					"accountId": fakeAccount, "userName": name},
				"attributes": attrs}}
	}
}

// logFileKey is a log file of the trail, in CloudTrail's documented bucket layout.
const logFileKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/05/20/111122223333_CloudTrail_us-east-1_20250520T2025Z_abcdEFGHijklMNOP.json.gz"

// exemptedRecord is the CloudTrail record of one successful call of event on the use's resource by
// principal, in the shape each service documents (AWS KMS, Amazon SNS and Amazon S3 "Logging ... with AWS
// CloudTrail" pages: request parameters named as in the API, the resources a KMS or S3 data event carries).
// ok is false for a service this test has no record shape for (the caller fails the test).
func exemptedRecord(u exemptedUse, event, principal string) (map[string]any, bool) {
	rec := map[string]any{
		"eventVersion": "1.11", "userIdentity": identity(principal, u.breakGlass[principal]),
		"eventTime": "2025-05-20T20:28:41Z", "eventName": event, "awsRegion": "us-east-1",
		"sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023",
		"requestID": "d6b8e43a-63bc-11e4-bc2b-4198b6150d5c", "eventID": "f773423a-9ec5-4c80-9f36-528ebbe36bc4",
		"readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": fakeAccount,
		"eventCategory": "Management", "responseElements": nil,
	}
	if strings.Contains(principal, "cfn-exec-role") || strings.Contains(principal, "Deploy") {
		rec["sourceIPAddress"], rec["userAgent"], rec["invokedBy"] = "cloudformation.amazonaws.com", "cloudformation.amazonaws.com", "cloudformation.amazonaws.com"
	}
	service, _, _ := strings.Cut(u.action, ":")
	switch service {
	case "kms":
		rec["eventSource"] = "kms.amazonaws.com"
		req := map[string]any{"keyId": u.value}
		switch event {
		case "PutKeyPolicy":
			req["policyName"], req["policy"] = "default", `{"Version":"2012-10-17","Statement":[]}`
		case "ScheduleKeyDeletion":
			req["pendingWindowInDays"] = 30
		case "CreateGrant":
			req["granteePrincipal"], req["operations"] = "arn:aws:iam::"+fakeAccount+":role/Attacker", []any{"Decrypt", "Encrypt"}
		}
		rec["requestParameters"] = req
		rec["resources"] = []any{map[string]any{"accountId": fakeAccount, "type": "AWS::KMS::Key", "ARN": u.value}}
	case "sns":
		rec["eventSource"] = "sns.amazonaws.com"
		req := map[string]any{"topicArn": u.value}
		switch event {
		case "Subscribe":
			req["protocol"], req["endpoint"], req["returnSubscriptionArn"] = "email", "attacker@example.net", true
		case "SetTopicAttributes":
			req["attributeName"], req["attributeValue"] = "KmsMasterKeyId", "alias/aws/sns"
		case "AddPermission":
			req["label"], req["aWSAccountId"], req["actionName"] = "x", []any{"444455556666"}, []any{"Subscribe"}
		case "RemovePermission":
			req["label"] = "x"
		case "PutDataProtectionPolicy":
			// The API names the topic ResourceArn (SNS API Reference, PutDataProtectionPolicy).
			req = map[string]any{"resourceArn": u.value, "dataProtectionPolicy": `{"Name":"x","Version":"2021-06-01","Statement":[]}`}
		}
		rec["requestParameters"] = req
	case "s3":
		rec["eventSource"] = "s3.amazonaws.com"
		host := u.value + ".s3.us-east-1.amazonaws.com"
		req := map[string]any{"bucketName": u.value, "Host": host}
		bucketRes := map[string]any{"accountId": fakeAccount, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + u.value}
		rec["resources"] = []any{bucketRes}
		switch event {
		case "PutBucketPolicy":
			req["bucketPolicy"], req["policy"] = map[string]any{"Version": "2012-10-17", "Statement": []any{}}, ""
		case "DeleteBucketPolicy":
			req["policy"] = ""
		case "PutObjectLockConfiguration":
			req["objectLock"] = ""
		case "DeleteObject", "PutObjectRetention":
			// Object-level calls are data events; their resources name the object and its bucket.
			req["key"] = logFileKey
			req["versionId"] = "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY-MTRCxf-lO5fwXkUkVkzl9Kpz5-xtrz"
			if event == "PutObjectRetention" {
				req["retention"] = map[string]any{"Mode": "GOVERNANCE", "RetainUntilDate": "2025-05-21T00:00:00Z"}
				req["retention"], req["x-amz-bypass-governance-retention"] = req["retention"], "true"
			} else {
				req["x-amz-bypass-governance-retention"] = "true"
			}
			rec["resources"] = []any{map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + u.value + "/" + logFileKey}, bucketRes}
			rec["managementEvent"], rec["eventCategory"] = false, "Data"
		case "DeleteObjects":
			// The multi-object delete names the bucket, not the objects.
			req["delete"] = ""
			rec["resources"] = []any{map[string]any{"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::" + u.value + "/"}, bucketRes}
			rec["managementEvent"], rec["eventCategory"] = false, "Data"
		}
		rec["requestParameters"] = req
	default:
		return nil, false
	}
	return rec, true
}

// recordedByTrail reports whether the template's trail records the record: its advanced event selectors
// (a record is logged when every field selector of one selector matches; Equals, StartsWith, NotEquals and
// NotStartsWith as the CloudTrail User Guide, "Filtering data events by using advanced event selectors",
// describes them), or its basic event selectors (management events; S3 object data events by ARN prefix).
func (lt lockTemplate) recordedByTrail(t *testing.T, rec map[string]any) bool {
	t.Helper()
	var trail map[string]any
	for _, r := range lt.doc["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == "AWS::CloudTrail::Trail" {
			trail = res["Properties"].(map[string]any)
		}
	}
	if trail == nil {
		t.Fatalf("%s: no trail", lt.s.Name)
	}
	category, _ := rec["eventCategory"].(string)
	resources, _ := rec["resources"].([]any)
	for _, raw := range asList(trail["AdvancedEventSelectors"]) {
		sel, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		fields := asList(sel["FieldSelectors"])
		resourceType := ""
		for _, f := range fields {
			if fs := f.(map[string]any); fs["Field"] == "resources.type" {
				resourceType, _ = asList(fs["Equals"])[0].(string)
			}
		}
		all := true
		for _, f := range fields {
			fs := f.(map[string]any)
			var values []string // the record's values of the field
			switch field := fs["Field"].(string); field {
			case "eventCategory":
				values = []string{category}
			case "eventName", "eventSource":
				values = []string{rec[field].(string)}
			case "readOnly":
				values = []string{fmt.Sprint(rec["readOnly"])}
			case "resources.type", "resources.ARN":
				for _, r := range resources {
					rm := r.(map[string]any)
					if field == "resources.type" {
						values = append(values, rm["type"].(string))
					} else if arn, ok := rm["ARN"].(string); ok && rm["type"] == resourceType {
						values = append(values, arn)
					}
				}
			default:
				t.Fatalf("%s: trail field selector on %q: this test does not model it", lt.s.Name, field)
			}
			if !fieldMatches(t, lt, fs, values) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	for _, raw := range asList(trail["EventSelectors"]) {
		sel, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		if category == "Management" && sel["IncludeManagementEvents"] != false {
			return true
		}
		for _, d := range asList(sel["DataResources"]) {
			dr, ok := d.(map[string]any)
			if !ok || dr["Type"] != "AWS::S3::Object" || category != "Data" {
				continue
			}
			for _, v := range asList(dr["Values"]) {
				prefix := lt.str(t, "DataResources", v)
				for _, r := range resources {
					if arn, _ := r.(map[string]any)["ARN"].(string); arn != "" && strings.HasPrefix(arn, prefix) {
						return true
					}
				}
			}
		}
	}
	return false
}

// fieldMatches applies one advanced field selector to the record's values of its field.
func fieldMatches(t *testing.T, lt lockTemplate, fs map[string]any, values []string) bool {
	t.Helper()
	ops := map[string]func(v, x string) bool{
		"Equals": func(v, x string) bool { return v == x }, "StartsWith": strings.HasPrefix, "EndsWith": strings.HasSuffix,
	}
	for op, list := range fs {
		if op == "Field" {
			continue
		}
		negated := strings.HasPrefix(op, "Not")
		f, known := ops[strings.TrimPrefix(op, "Not")]
		if !known {
			t.Fatalf("%s: trail field selector operator %q: this test does not model it", lt.s.Name, op)
		}
		hit := false
		for _, x := range asList(list) {
			want := lt.str(t, "field selector", x)
			for _, v := range values {
				if f(v, want) {
					hit = true
				}
			}
		}
		if hit == negated {
			return false
		}
	}
	return true
}

// exemptionFailures returns every exempted use whose successful call is not recorded by the trail or does
// not reach each destination it left intact, and how many calls were checked.
func exemptionFailures(t *testing.T, s *Synth, raw []byte) (failures []string, checked int, uses []exemptedUse) {
	t.Helper()
	lt := readLockTemplate(t, s, raw)
	rules, warnings, err := replay.LoadRules(raw, lt.res)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%s: LoadRules: %v %v", s.Name, err, warnings)
	}
	uses = lt.exemptedUses(t)
	for _, u := range uses {
		events, ok := exemptedEvents[u.action]
		if !ok {
			_, name, _ := strings.Cut(u.action, ":")
			events = []string{name}
		}
		// What the call disables: a topic, or the key of a topic.
		touchedTopics := map[string]bool{}
		for topic, key := range lt.paths.topicKey {
			if (u.kind == "topic" && u.id == topic) || (u.kind == "key" && u.id == key) {
				touchedTopics[topic] = true
			}
		}
		var want []string
		for topic := range lt.paths.topicArn {
			if !touchedTopics[topic] {
				want = append(want, topic)
			}
		}
		sort.Strings(want)
		for _, event := range events {
			for _, principal := range u.exempt {
				what := fmt.Sprintf("%s: %s (%s) on %s %s by %s", s.Name, u.action, event, u.kind, u.value, principal)
				rec, ok := exemptedRecord(u, event, principal)
				if !ok {
					failures = append(failures, what+": no CloudTrail record shape for this service in exemptedRecord")
					continue
				}
				checked++
				if !lt.recordedByTrail(t, rec) {
					failures = append(failures, what+": not recorded by the trail's event selectors")
					continue
				}
				ev, err := replay.WrapRecord(rec)
				if err != nil {
					t.Fatal(err)
				}
				reached := map[string]bool{}
				for i := range rules {
					if !rules[i].Matches(ev) {
						continue
					}
					for _, tg := range lt.paths.targets[rules[i].LogicalID] {
						if !touchedTopics[tg.topic] {
							reached[tg.topic] = true
						}
					}
				}
				var missing []string
				for _, topic := range want {
					if !reached[topic] {
						missing = append(missing, topic)
					}
				}
				if len(missing) > 0 {
					failures = append(failures, fmt.Sprintf("%s: no alert reaches %v (tiers raised: %v)", what, missing, rules.Tiers(ev)))
				}
			}
		}
	}
	return failures, checked, uses
}

// TestEveryUseOfALockExemptionAlerts: in the default configuration (the deploy role alone is exempt) and the
// hardened one (two break-glass principals and a named deploy role), every exempted change to every
// kmsguard key, alert topic and the trail bucket, made by every exempt principal, is recorded by the trail
// and alerts every destination it did not disable. Every action internal/lockdown denies is among those read
// from the template, and every key, topic and the trail bucket carries a lock, so the check cannot pass by
// reading nothing.
func TestEveryUseOfALockExemptionAlerts(t *testing.T) {
	for _, config := range redTeamConfigs {
		t.Run(config, func(t *testing.T) {
			s := synth(t, config)
			failures, checked, uses := exemptionFailures(t, s, s.Bytes)
			for _, f := range failures {
				t.Error(f)
			}
			locked := map[string]bool{}
			var actions []string
			for _, u := range uses {
				locked[u.kind+" "+u.id] = true
				if !slices.Contains(actions, u.action) {
					actions = append(actions, u.action)
				}
			}
			want := [][]string{lockdown.SupportingKeyActions, lockdown.MasterKeyActions, lockdown.TopicActions, lockdown.BucketPolicyActions}
			if len(s.Stack.Config.BreakGlassArns) > 0 {
				// Without a break-glass principal the governance bypass is denied to everyone: nothing is exempt.
				want = append(want, []string{lockdown.GovernanceBypassAction})
			}
			for _, want := range want {
				for _, a := range want {
					if !slices.Contains(actions, a) {
						t.Errorf("%s: internal/lockdown denies %s, but no exempting deny of it was found in the template", config, a)
					}
				}
			}
			for _, id := range append(append(s.Tpl.OfType("AWS::KMS::Key"), s.Tpl.OfType("AWS::SNS::Topic")...), logicalIDOfType(t, s, "AWS::S3::Bucket", func(r map[string]any) bool {
				return props(r)["ObjectLockEnabled"] == true
			})) {
				found := false
				for k := range locked {
					found = found || strings.HasSuffix(k, " "+id)
				}
				if !found {
					t.Errorf("%s: %s has no lock with an exemption", config, id)
				}
			}
			t.Logf("%s: %d exempted calls (%d actions on %d resources), each recorded and alerting every untouched destination", config, checked, len(actions), len(locked))
		})
	}
}

// TestANewlyDeniedActionThatNoRuleWatchesFailsTheExemptionCheck is the control: the default template with
// one more exempted action on the audit key (kms:UpdateKeyDescription) and on a topic (sns:TagResource),
// which no rule watches, must fail the check on exactly those; and the hardened template with the trail's
// selectors back to management events only (the basic selector kmsguard had before), where the
// break-glass principals' governance-bypass deletions of log files are not recorded, must fail too.
func TestANewlyDeniedActionThatNoRuleWatchesFailsTheExemptionCheck(t *testing.T) {
	s := synth(t, "default")
	auditKey, _ := s.resourceWithMetadata(t, "kmsguard:role", "audit-key")
	mutate := func(f func(resources map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(s.Bytes, &doc); err != nil {
			t.Fatal(err)
		}
		f(doc["Resources"].(map[string]any))
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	addAction := func(statements []any, sid, action string) bool {
		for _, raw := range statements {
			if st := raw.(map[string]any); st["Sid"] == sid {
				st["Action"] = append(asList(st["Action"]), action)
				return true
			}
		}
		return false
	}
	extra := mutate(func(resources map[string]any) {
		key := resources[auditKey].(map[string]any)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)
		if !addAction(asList(key["Statement"]), "DenyKeyChanges", "kms:UpdateKeyDescription") {
			t.Fatal("no DenyKeyChanges statement on the audit key")
		}
		for _, r := range resources {
			if res := r.(map[string]any); res["Type"] == "AWS::SNS::TopicPolicy" {
				doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
				if !addAction(asList(doc["Statement"]), "DenyTopicChanges", "sns:TagResource") {
					t.Fatal("no DenyTopicChanges statement on a topic")
				}
				break
			}
		}
	})
	failures, _, _ := exemptionFailures(t, s, extra)
	for _, action := range []string{"kms:UpdateKeyDescription", "sns:TagResource"} {
		if !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, action) }) {
			t.Errorf("control: %s is denied but watched by no rule, and the check did not report it: %v", action, failures)
		}
	}
	for _, f := range failures {
		if !strings.Contains(f, "kms:UpdateKeyDescription") && !strings.Contains(f, "sns:TagResource") {
			t.Errorf("control: a failure beyond the two planted actions: %s", f)
		}
	}

	// The governance bypass is exempt only for break-glass principals, which the hardened configuration has.
	hardened := synth(t, "hardened")
	s = hardened
	managementOnly := mutate(func(resources map[string]any) {
		for _, r := range resources {
			if res := r.(map[string]any); res["Type"] == "AWS::CloudTrail::Trail" {
				p := res["Properties"].(map[string]any)
				delete(p, "AdvancedEventSelectors")
				p["EventSelectors"] = []any{map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true, "ExcludeManagementEventSources": []any{}}}
			}
		}
	})
	failures, _, _ = exemptionFailures(t, hardened, managementOnly)
	for _, event := range exemptedEvents[lockdown.GovernanceBypassAction] {
		if !slices.ContainsFunc(failures, func(f string) bool {
			return strings.Contains(f, "("+event+")") && strings.Contains(f, "not recorded by the trail")
		}) {
			t.Errorf("control: with management events only, %s with the governance bypass was not reported as unrecorded: %v", event, failures)
		}
	}
}
