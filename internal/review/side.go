// Package review compares two kmsguard templates as a security reviewer would (docs/review.md): who may
// use or manage each key, under which conditions, answered by asking the key policies the questions the
// test suite asks (internal/policyeval); which events alert in which tier and reach how many destinations,
// by replaying the labelled corpus, the red-team attacks and every branch of every rule through both rule
// sets (internal/replay, internal/eventpattern); and what CloudFormation would delete, replace or keep.
// Everything is computed from the two templates and data embedded in the binary: no network, no Node.
package review

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// The fixed stand-ins for what exists only after deployment: the same values the labelled corpus uses
// (test/testdata/cloudtrail/README.md), so the corpus's records name the resources the rules watch.
const (
	fakeAccount         = "111122223333"
	fakeRegion          = "us-east-1"
	fakeMasterKeyArn    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	fakeAuditKeyArn     = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	fakeAlertsKeyArn    = "arn:aws:kms:us-east-1:111122223333:key/5555eeee-66ff-7788-99aa-bbccddeeff00"
	fakeSecurityKeyArn  = "arn:aws:kms:us-east-1:111122223333:key/7777aaaa-88bb-99cc-00dd-eeff11223344"
	fakeTopicArn        = "arn:aws:sns:us-east-1:111122223333:KmsGuard-AlertingTopic-XYZ"
	fakeSecurityTopic   = "arn:aws:sns:us-east-1:111122223333:KmsGuard-SecurityAlertingTopic-UVW"
	fakeDLQ             = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionUndeliveredAlerts-ABC"
	fakeSecurityDLQ     = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionSecurityUndeliveredAlerts-DEF"
	fakeTrailBucket     = "kmsguard-trailbucket-abc123"
	fakeAccessLogBucket = "kmsguard-accesslogbucket-def456"
	fakeLogGroup        = "/kmsguard/cloudtrail/trail/0a1b2c3d-1111-2222-3333-444455556666"
	fakeStackUUID       = "11112222-3333-4444-5555-666677778888"
)

// fakes are the stand-ins above that hold words a rename could touch.
var fakes = []string{fakeTopicArn, fakeSecurityTopic, fakeDLQ, fakeSecurityDLQ, fakeTrailBucket, fakeAccessLogBucket, fakeLogGroup}

// keyRoles name the kmsguard keys by their Metadata "kmsguard:role", in the threat model's words.
var keyRoles = map[string]string{
	"master-key":          "the master key",
	"audit-key":           "the audit key",
	"alerts-key":          "the alert topic's key",
	"security-alerts-key": "the security topic's key",
}

// side is one template with what the review needs from it.
type side struct {
	// keyless marks a template that holds no master key: a fleet's central stack or identity StackSet
	// (docs/fleet.md). Only its lifecycle and alert paths are reviewed (docs/review.md, "Fleet templates").
	keyless bool
	raw     []byte
	tpl     *cfntemplate.Template
	stack   string
	keys    map[string]string // kmsguard:role → logical id
	res     replay.Resolver
	vars    map[string]string // the corpus placeholders (test/testdata/cloudtrail/README.md)
	// who the master key policy names
	admin      string   // ARN of the enable/disable administrator, "" when none
	keyUsers   []string // ARNs
	breakGlass []string
	deploy     []string
	cidrs      []string
	vpces      []string
	policies   map[string]any // kmsguard:role → key policy, resolved
	rules      replay.Rules
	topicDest  map[string]string  // topic logical id → destination ("alerts", "security")
	routes     map[string][]route // rule logical id → its targets
}

// route is one target of a rule, with the names an attack record uses for what it passes through: the
// rule's name, the topic's ARN, the topic key's ARN and the dead-letter queue's URL.
type route struct {
	dest, rule, topic, key, queue string
}

func load(raw []byte, which string) (*side, error) {
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", which, err)
	}
	s := &side{raw: raw, tpl: tpl, keys: map[string]string{}, policies: map[string]any{}}
	for _, id := range tpl.OfType("AWS::KMS::Key") {
		if role, ok := tpl.Resources[id].Metadata["kmsguard:role"].(string); ok && keyRoles[role] != "" {
			s.keys[role] = id
		}
	}
	if s.keys["master-key"] == "" {
		if !isFleetTemplate(tpl) {
			return nil, fmt.Errorf("%s: no AWS::KMS::Key with Metadata kmsguard:role master-key: not a kmsguard template", which)
		}
		s.keyless = true
		s.stack = stackName(tpl)
		return s, nil
	}
	s.stack = stackName(tpl)
	s.res = s.resolver()
	cr := s.cfnResolver()
	for role, id := range s.keys {
		pol, unresolved := cr.Resolve(tpl.Resources[id].Properties["KeyPolicy"])
		if len(unresolved) > 0 {
			return nil, fmt.Errorf("%s: %s's policy: cannot resolve %v", which, keyRoles[role], unresolved)
		}
		s.policies[role] = pol
	}
	s.readMasterPolicy()
	s.vars = s.corpusVars()
	rules, _, err := replay.LoadRules(raw, s.res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", which, err)
	}
	s.rules = rules
	s.readDestinations()
	return s, nil
}

// stackName is the prefix of the tier rules' names (STACK-TIER-N), which kmsguard derives from the stack
// name; "KmsGuard" when the template has no named tier rule.
func stackName(tpl *cfntemplate.Template) string {
	for _, id := range tpl.OfType("AWS::Events::Rule") {
		r := tpl.Resources[id]
		tier, _ := r.Metadata["kmsguard:tier"].(string)
		name, _ := r.Properties["Name"].(string)
		if i := strings.Index(name, "-"+tier+"-"); tier != "" && i > 0 {
			return name[:i]
		}
	}
	return "KmsGuard"
}

func (s *side) userArns() map[string]string {
	out := map[string]string{}
	for _, id := range s.tpl.OfType("AWS::IAM::User") {
		props := s.tpl.Resources[id].Properties
		name, _ := props["UserName"].(string)
		if name == "" {
			continue
		}
		path, _ := props["Path"].(string)
		if path == "" {
			path = "/"
		}
		out[id] = "arn:aws:iam::" + fakeAccount + ":user" + path + name
	}
	return out
}

// resolver gives every reference the rules and policies make the corpus's fixed fake value, finding each
// resource by its kmsguard role, its type and what refers to it (as the detection tests do).
func (s *side) resolver() replay.Resolver {
	res, _ := replay.NewResolver(fakeMasterKeyArn)
	v := res.Values
	for role, arn := range map[string]string{"audit-key": fakeAuditKeyArn, "alerts-key": fakeAlertsKeyArn, "security-alerts-key": fakeSecurityKeyArn} {
		if id := s.keys[role]; id != "" {
			v[id+".Arn"] = arn
		}
	}
	for _, id := range s.tpl.OfType("AWS::SNS::Topic") {
		key, _ := cfntemplate.RefOf(s.tpl.Resources[id].Properties["KmsMasterKeyId"])
		switch key.ID {
		case s.keys["security-alerts-key"]:
			v[id] = fakeSecurityTopic
		default:
			v[id] = fakeTopicArn
		}
	}
	for _, id := range s.tpl.OfType("AWS::SQS::Queue") {
		if strings.Contains(id, "Security") {
			v[id] = fakeSecurityDLQ
		} else {
			v[id] = fakeDLQ
		}
	}
	trailBucket := ""
	for _, id := range s.tpl.OfType("AWS::CloudTrail::Trail") {
		props := s.tpl.Resources[id].Properties
		if b, ok := cfntemplate.RefOf(props["S3BucketName"]); ok {
			trailBucket = b.ID
		}
		if role, ok := cfntemplate.RefOf(props["CloudWatchLogsRoleArn"]); ok {
			v[role.ID] = s.stack + "-AuditTrailDeliveryRole-ABC"
			v[role.ID+".Arn"] = "arn:aws:iam::" + fakeAccount + ":role/" + v[role.ID]
			for _, pid := range s.tpl.OfType("AWS::IAM::ManagedPolicy") {
				roles, _ := s.tpl.Resources[pid].Properties["Roles"].([]any)
				if len(roles) == 1 {
					if r, ok := cfntemplate.RefOf(roles[0]); ok && r.ID == role.ID {
						v[pid] = "arn:aws:iam::" + fakeAccount + ":policy/" + s.stack + "-AuditTrailDeliveryPolicy-ABC"
					}
				}
			}
		}
	}
	for _, id := range s.tpl.OfType("AWS::S3::Bucket") {
		if id == trailBucket {
			v[id] = fakeTrailBucket
		} else {
			v[id] = fakeAccessLogBucket
		}
		v[id+".Arn"] = "arn:aws:s3:::" + v[id]
	}
	for _, id := range s.tpl.OfType("AWS::Logs::LogGroup") {
		v[id] = fakeLogGroup
	}
	for id, arn := range s.userArns() {
		v[id+".Arn"] = arn
	}
	res.Partition, res.Region, res.Account = "aws", fakeRegion, fakeAccount
	return res
}

func (s *side) cfnResolver() *cfntemplate.Resolver {
	master := s.keys["master-key"]
	return &cfntemplate.Resolver{Template: s.tpl, Values: s.res.Values,
		Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: fakeRegion, AccountID: fakeAccount, StackName: s.stack,
			StackID: "arn:aws:cloudformation:" + fakeRegion + ":" + fakeAccount + ":stack/" + s.stack + "/" + fakeStackUUID},
		Fallback: func(ref cfntemplate.Ref) (string, bool) {
			if ref.ID == master && ref.Attr == "Arn" {
				return fakeMasterKeyArn, true
			}
			return "", false
		}}
}

// readMasterPolicy reads who and which networks the master key policy names, by statement Sid (README.md,
// "The key policy").
func (s *side) readMasterPolicy() {
	doc, _ := s.policies["master-key"].(map[string]any)
	sts, _ := doc["Statement"].([]any)
	for _, x := range sts {
		st, _ := x.(map[string]any)
		cond, _ := st["Condition"].(map[string]any)
		get := func(op, key string) []string {
			m, _ := cond[op].(map[string]any)
			return strList(m[key])
		}
		switch st["Sid"] {
		case "AllowUseOfTheKey":
			s.keyUsers = get("ArnEquals", "aws:PrincipalArn")
		case "AllowEnableDisable":
			if a := get("ArnEquals", "aws:PrincipalArn"); len(a) > 0 {
				s.admin = a[0]
			}
		case "DenyUseOutsideNetwork":
			s.cidrs = get("NotIpAddress", "aws:SourceIp")
			s.vpces = get("StringNotEquals", "aws:SourceVpce")
		case "DenyKeyPolicyAndDeletion":
			s.deploy = get("ArnNotEquals", "aws:PrincipalArn")
		case "DenyKeyPolicyAndDeletionWithoutMfa":
			s.breakGlass = get("ArnEquals", "aws:PrincipalArn")
		}
	}
	var deploy []string
	for _, a := range s.deploy {
		if !slices.Contains(s.breakGlass, a) {
			deploy = append(deploy, a)
		}
	}
	s.deploy = deploy
}

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// corpusVars fills the corpus's placeholders from the template (test/testdata/cloudtrail/README.md).
func (s *side) corpusVars() map[string]string {
	str := func(typ, prop, def string) string {
		for _, id := range s.tpl.OfType(typ) {
			if v, ok := s.tpl.Resources[id].Properties[prop].(string); ok {
				return v
			}
		}
		return def
	}
	admin := s.admin
	if admin == "" {
		admin = "arn:aws:iam::" + fakeAccount + ":user/no-admin"
	}
	server, role := "arn:aws:iam::"+fakeAccount+":user/no-server-user", "no-key-user-role"
	for _, u := range s.keyUsers {
		if strings.Contains(u, ":user/") && server == "arn:aws:iam::"+fakeAccount+":user/no-server-user" {
			server = u
		}
		if strings.Contains(u, ":role/") && role == "no-key-user-role" {
			role = lastPart(u)
		}
	}
	vars := map[string]string{
		"STACK": s.stack, "STACK_ID": "arn:aws:cloudformation:us-east-1:" + fakeAccount + ":stack/" + s.stack + "/" + fakeStackUUID,
		"ALIAS": str("AWS::KMS::Alias", "AliasName", "alias/none"), "TRAIL": str("AWS::CloudTrail::Trail", "TrailName", "no-trail"),
		"LOG_GROUP": fakeLogGroup, "ADMIN": lastPart(admin), "ADMIN_ARN": admin, "SERVER_USER": lastPart(server),
		"SERVER_USER_ARN": server, "KEY_USER_ROLE": role, "DELIVERY_ROLE": s.stack + "-AuditTrailDeliveryRole-ABC",
		"DELIVERY_POLICY_ARN": "arn:aws:iam::" + fakeAccount + ":policy/" + s.stack + "-AuditTrailDeliveryPolicy-ABC",
	}
	// The red-team attacks name the audit-tamper rules that watch rule changes: the one for changes made
	// (EVENTS_WATCH_RULE) and the one for attempts ("anything-but" an error code), not the watchdog.
	for _, id := range s.tpl.OfType("AWS::Events::Rule") {
		r := s.tpl.Resources[id]
		pattern, _ := json.Marshal(r.Properties["EventPattern"])
		name, _ := r.Properties["Name"].(string)
		if r.Metadata["kmsguard:tier"] != "audit-tamper" || !strings.Contains(string(pattern), `"DisableRule"`) ||
			strings.HasSuffix(name, "-audit-tamper-watchdog") {
			continue
		}
		key := "EVENTS_WATCH_RULE"
		if strings.Contains(string(pattern), `"anything-but"`) {
			key = "EVENTS_WATCH_ATTEMPT_RULE"
		}
		vars[key] = name
	}
	return vars
}

// readDestinations maps each rule to the destinations its targets publish to: a topic is the "security"
// destination when its key is the security topic's key, else "alerts" (README.md, "Two alert destinations").
func (s *side) readDestinations() {
	s.topicDest, s.routes = map[string]string{}, map[string][]route{}
	for _, id := range s.tpl.OfType("AWS::SNS::Topic") {
		key, _ := cfntemplate.RefOf(s.tpl.Resources[id].Properties["KmsMasterKeyId"])
		if key.ID != "" && key.ID == s.keys["security-alerts-key"] {
			s.topicDest[id] = "security"
		} else {
			s.topicDest[id] = "alerts"
		}
	}
	for _, id := range s.tpl.OfType("AWS::Events::Rule") {
		targets, _ := s.tpl.Resources[id].Properties["Targets"].([]any)
		for _, t := range targets {
			m, _ := t.(map[string]any)
			ref, ok := cfntemplate.RefOf(m["Arn"])
			d := s.topicDest[ref.ID]
			if !ok || d == "" {
				continue
			}
			rt := route{dest: d, topic: s.res.Values[ref.ID]}
			rt.rule, _ = s.tpl.Resources[id].Properties["Name"].(string)
			if key, ok := cfntemplate.RefOf(s.tpl.Resources[ref.ID].Properties["KmsMasterKeyId"]); ok {
				rt.key = s.res.Values[key.ID+".Arn"]
			}
			if dlc, ok := m["DeadLetterConfig"].(map[string]any); ok {
				if q, ok := cfntemplate.RefOf(dlc["Arn"]); ok {
					rt.queue = s.res.Values[q.ID]
				}
			}
			s.routes[id] = append(s.routes[id], rt)
		}
	}
}

// renames are the names a reviewer chose to change, old → new: the stack, the alias, the trail, the key
// administrator and key users (by position). Branch events of the old rules are renamed before they are
// asked of the new rules, so a rename alone changes no alert.
func renames(o, n *side) [][2]string {
	var out [][2]string
	add := func(a, b string) {
		if a != "" && b != "" && a != b {
			out = append(out, [2]string{a, b})
		}
	}
	for _, k := range []string{"STACK", "ALIAS", "TRAIL", "ADMIN_ARN", "ADMIN", "SERVER_USER_ARN", "SERVER_USER"} {
		add(o.vars[k], n.vars[k])
	}
	slices.SortStableFunc(out, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	return out
}

func renamed(ev map[string]any, pairs [][2]string) map[string]any {
	if len(pairs) == 0 {
		return ev
	}
	b, _ := json.Marshal(ev)
	s := string(b)
	// The fixed stand-ins are the same in both templates and may contain a name ("KmsGuard-AlertingTopic"):
	// they are set aside while the names are replaced.
	for i, f := range fakes {
		s = strings.ReplaceAll(s, f, fmt.Sprintf("\x00%d\x00", i))
	}
	for _, p := range pairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	for i, f := range fakes {
		s = strings.ReplaceAll(s, fmt.Sprintf("\x00%d\x00", i), f)
	}
	var out map[string]any
	if json.Unmarshal([]byte(s), &out) != nil {
		return ev
	}
	return out
}
