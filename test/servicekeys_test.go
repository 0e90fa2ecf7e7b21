package test

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// The AWS services kmsguard relies on must be able to do their part: CloudTrail must be able to assume its
// delivery role and use the audit key, CloudWatch Logs must be able to use the audit key for the log group,
// and EventBridge and CloudWatch alarms must be able to publish to the encrypted topic. A gap shows up only
// on a real account (CreateTrail fails, or alerts vanish), so these tests derive from each template which
// service uses which key, and check it against what AWS documents for that service (docs/aws-facts.md).

// documentedTrustConditions are the condition keys AWS documents for a service's trust policy. CloudTrail's
// CloudWatch Logs delivery role supports none: "The role policy doesn't support the use of aws:SourceArn
// and aws:SourceAccount" (docs/aws-facts.md).
var documentedTrustConditions = map[string][]string{
	"cloudtrail.amazonaws.com": {},
}

// keyUse is what one service principal needs on one key, as AWS documents it: each action, and the
// condition keys a statement granting that action may test (a condition on a key the service does not send
// never matches, and the grant silently does nothing).
type keyUse struct {
	doc     string
	actions map[string][]string // action -> condition keys AWS documents for it
}

// documentedKeyUse returns the documented requirement for a service principal, or false when AWS documents
// none kmsguard knows of. region is the template's region (CloudWatch Logs' principal is regional);
// bucketKey says the trail's bucket uses an S3 Bucket Key, which adds kms:Decrypt for CloudTrail.
func documentedKeyUse(principal, region string, bucketKey bool) (keyUse, bool) {
	switch principal {
	case "cloudtrail.amazonaws.com":
		u := keyUse{doc: "CloudTrail: Configure AWS KMS key policies for CloudTrail", actions: map[string][]string{
			"kms:GenerateDataKey": {"aws:SourceArn", "aws:SourceAccount", "kms:EncryptionContext:aws:cloudtrail:arn"},
			"kms:DescribeKey":     {"aws:SourceArn", "aws:SourceAccount"},
		}}
		if bucketKey {
			// S3's Bucket Key calls carry the bucket's encryption context, not CloudTrail's.
			u.actions["kms:Decrypt"] = []string{"aws:SourceArn", "aws:SourceAccount"}
		}
		return u, true
	case "logs." + region + ".amazonaws.com":
		cond := []string{"kms:EncryptionContext:aws:logs:arn"}
		return keyUse{doc: "CloudWatch Logs: Encrypt log data in CloudWatch Logs using AWS KMS", actions: map[string][]string{
			"kms:Encrypt": cond, "kms:Decrypt": cond, "kms:ReEncryptFrom": cond, "kms:ReEncryptTo": cond,
			"kms:GenerateDataKey": cond, "kms:DescribeKey": cond,
		}}, true
	case "events.amazonaws.com", "cloudwatch.amazonaws.com":
		return keyUse{doc: "SNS: compatibility between event sources from AWS services and encrypted topics", actions: map[string][]string{
			"kms:Decrypt": {}, "kms:GenerateDataKey": {},
		}}, true
	}
	return keyUse{}, false
}

// serviceKeyUse is one service that the template makes use one key.
type serviceKeyUse struct {
	key, principal, why string
	bucketKey           bool
}

// logicalRef returns X for {"Ref": X} and {"Fn::GetAtt": [X, ...]}.
func logicalRef(v any) string {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ""
	}
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) == 2 {
		s, _ := g[0].(string)
		return s
	}
	return ""
}

// serviceKeyUses finds in a template every service that must use a customer managed key: the trail's
// CloudTrail (KMSKeyId), an encrypted log group's CloudWatch Logs (KmsKeyId), and the publishers of an
// encrypted topic (rules that target it, alarms that act on it).
func serviceKeyUses(resources map[string]any, region string) []serviceKeyUse {
	var out []serviceKeyUse
	res := func(id string) map[string]any { r, _ := resources[id].(map[string]any); return r }
	propsOf := func(r map[string]any) map[string]any { p, _ := r["Properties"].(map[string]any); return p }
	topicKeys := map[string]string{}
	for _, id := range slices.Sorted(mapKeys(resources)) {
		r := res(id)
		p := propsOf(r)
		switch r["Type"] {
		case "AWS::CloudTrail::Trail":
			if key := logicalRef(p["KMSKeyId"]); key != "" {
				bucketKey := false
				if b := propsOf(res(logicalRef(p["S3BucketName"]))); b != nil {
					enc, _ := b["BucketEncryption"].(map[string]any)
					rules, _ := enc["ServerSideEncryptionConfiguration"].([]any)
					for _, rule := range rules {
						if m, _ := rule.(map[string]any); m["BucketKeyEnabled"] == true {
							bucketKey = true
						}
					}
				}
				out = append(out, serviceKeyUse{key, "cloudtrail.amazonaws.com", "trail " + id + " encrypts its log files", bucketKey})
			}
		case "AWS::Logs::LogGroup":
			if key := logicalRef(p["KmsKeyId"]); key != "" {
				out = append(out, serviceKeyUse{key, "logs." + region + ".amazonaws.com", "log group " + id + " is encrypted", false})
			}
		case "AWS::SNS::Topic":
			if key := logicalRef(p["KmsMasterKeyId"]); key != "" {
				topicKeys[id] = key
			}
		}
	}
	for _, id := range slices.Sorted(mapKeys(resources)) {
		r := res(id)
		p := propsOf(r)
		switch r["Type"] {
		case "AWS::Events::Rule":
			targets, _ := p["Targets"].([]any)
			for _, tg := range targets {
				m, _ := tg.(map[string]any)
				if key, ok := topicKeys[logicalRef(m["Arn"])]; ok {
					out = append(out, serviceKeyUse{key, "events.amazonaws.com", "rule " + id + " publishes to the encrypted topic", false})
				}
			}
		case "AWS::CloudWatch::Alarm":
			actions, _ := p["AlarmActions"].([]any)
			for _, a := range actions {
				if key, ok := topicKeys[logicalRef(a)]; ok {
					out = append(out, serviceKeyUse{key, "cloudwatch.amazonaws.com", "alarm " + id + " publishes to the encrypted topic", false})
				}
			}
		}
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func asStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// conditionKeys lists a statement's condition keys (whatever the operator).
func conditionKeys(st map[string]any) []string {
	var out []string
	cond, _ := st["Condition"].(map[string]any)
	for _, block := range cond {
		m, _ := block.(map[string]any)
		for k := range m {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func actionCovered(patterns []string, action string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// keyUseProblems checks, for every service key use of a template (with its intrinsics resolved), that the
// key's policy has an Allow for that service covering each documented action, conditioned only on keys AWS
// documents for it.
func keyUseProblems(resources map[string]any, region string) []string {
	var problems []string
	for _, use := range serviceKeyUses(resources, region) {
		want, ok := documentedKeyUse(use.principal, region, use.bucketKey)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s (%s) uses key %s, and no AWS documentation for it is listed in this test", use.principal, use.why, use.key))
			continue
		}
		key, _ := resources[use.key].(map[string]any)
		props, _ := key["Properties"].(map[string]any)
		policy, _ := props["KeyPolicy"].(map[string]any)
		statements, _ := policy["Statement"].([]any)
		for _, action := range slices.Sorted(mapKeys(want.actions)) {
			allowedConds := want.actions[action]
			granted := false
			var why []string
			for _, s := range statements {
				st, _ := s.(map[string]any)
				principal, _ := st["Principal"].(map[string]any)
				if st["Effect"] != "Allow" || !slices.Contains(asStrings(principal["Service"]), use.principal) ||
					!actionCovered(asStrings(st["Action"]), action) {
					continue
				}
				var undocumented []string
				for _, k := range conditionKeys(st) {
					if !slices.Contains(allowedConds, k) {
						undocumented = append(undocumented, k)
					}
				}
				if len(undocumented) > 0 {
					why = append(why, fmt.Sprintf("statement %v tests %v, which %s does not document for %s", st["Sid"], undocumented, want.doc, action))
					continue
				}
				granted = true
			}
			if !granted {
				problems = append(problems, fmt.Sprintf("key %s does not let %s %s (%s; %s) %s", use.key, use.principal, action, use.why, want.doc, strings.Join(why, "; ")))
			}
		}
	}
	return problems
}

// trustProblems reports every role statement trusting a service with a condition key AWS does not document
// for that service's role.
func trustProblems(resources map[string]any) []string {
	var problems []string
	for _, id := range slices.Sorted(mapKeys(resources)) {
		r, _ := resources[id].(map[string]any)
		if r["Type"] != "AWS::IAM::Role" {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		doc, _ := props["AssumeRolePolicyDocument"].(map[string]any)
		statements, _ := doc["Statement"].([]any)
		for _, s := range statements {
			st, _ := s.(map[string]any)
			principal, _ := st["Principal"].(map[string]any)
			for _, svc := range asStrings(principal["Service"]) {
				allowed, known := documentedTrustConditions[svc]
				if !known {
					problems = append(problems, fmt.Sprintf("role %s trusts %s, whose trust conditions this test does not know", id, svc))
					continue
				}
				for _, k := range conditionKeys(st) {
					if !slices.Contains(allowed, k) {
						problems = append(problems, fmt.Sprintf("role %s: the trust of %s tests %s, which AWS does not support for this role", id, svc, k))
					}
				}
			}
		}
	}
	return problems
}

// resolvedResources is a template's Resources with the pseudo parameters in key and trust policies
// resolved (every other property is left alone: the tests follow references by logical id).
func resolvedResources(s *Synth) map[string]any {
	res := cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: simRegion, AccountID: simAccount}}
	out := normalize(s.JSON["Resources"]).(map[string]any) // a deep copy
	for _, r := range out {
		p, _ := r.(map[string]any)["Properties"].(map[string]any)
		for _, k := range []string{"KeyPolicy", "AssumeRolePolicyDocument"} {
			if v, ok := p[k]; ok {
				p[k], _ = res.Resolve(v)
			}
		}
	}
	return out
}

func TestCloudTrailDeliveryRoleCarriesNoUndocumentedCondition(t *testing.T) {
	for _, name := range slices.Sorted(mapKeys(configs)) {
		s := synth(t, name)
		resources := resolvedResources(s)
		roles := 0
		for _, r := range resources {
			if r.(map[string]any)["Type"] == "AWS::IAM::Role" {
				roles++
			}
		}
		// With existingTrailArn the stack makes no trail, so no delivery role (and roles is 0 on purpose).
		if ownTrail := len(s.resourcesOfType("AWS::CloudTrail::Trail")) > 0; ownTrail && roles == 0 {
			t.Errorf("%s: no role in the template: the trail's log delivery role is gone?", name)
		}
		for _, p := range trustProblems(resources) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

func TestEveryServiceCanUseTheKeyItNeedsAsAWSDocumentsIt(t *testing.T) {
	for _, name := range slices.Sorted(mapKeys(configs)) {
		s := synth(t, name)
		resources := resolvedResources(s)
		uses := serviceKeyUses(resources, simRegion)
		principals := map[string]bool{}
		for _, u := range uses {
			principals[u.principal] = true
		}
		// The template relies on all four (on the last two only with existingTrailArn, which makes no trail,
		// log group or audit key): a derivation that found fewer would make this test vacuous.
		want := []string{"events.amazonaws.com", "cloudwatch.amazonaws.com"}
		if len(s.resourcesOfType("AWS::CloudTrail::Trail")) > 0 {
			want = append(want, "cloudtrail.amazonaws.com", "logs."+simRegion+".amazonaws.com")
		}
		for _, p := range want {
			if !principals[p] {
				t.Errorf("%s: found no use of a key by %s in the template", name, p)
			}
		}
		for _, p := range keyUseProblems(resources, simRegion) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// TestServiceKeyChecksCatchGaps is the control: each known first-deploy fault, put back into a copy of the
// default template, must be reported.
func TestServiceKeyChecksCatchGaps(t *testing.T) {
	s := synth(t, "default")
	fresh := func() map[string]any {
		// resolvedResources copies, so no fault leaks into the shared synth.
		return resolvedResources(s)
	}
	auditKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "audit-key")
	statementsOf := func(resources map[string]any, id string) []any {
		return resources[id].(map[string]any)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any)
	}
	setStatements := func(resources map[string]any, id string, st []any) {
		resources[id].(map[string]any)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"] = st
	}

	t.Run("aws:SourceArn on the delivery role's trust", func(t *testing.T) {
		r := fresh()
		for _, res := range r {
			m := res.(map[string]any)
			if m["Type"] != "AWS::IAM::Role" {
				continue
			}
			for _, st := range m["Properties"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any) {
				st.(map[string]any)["Condition"] = map[string]any{"StringEquals": map[string]any{"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"}}
			}
		}
		if p := trustProblems(r); len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "aws:SourceArn") {
			t.Errorf("a trust condition CloudTrail does not support was not reported: %v", p)
		}
	})
	t.Run("no kms:Decrypt for CloudTrail with a Bucket Key", func(t *testing.T) {
		r := fresh()
		var kept []any
		for _, st := range statementsOf(r, auditKeyID) {
			if !slices.Contains(asStrings(st.(map[string]any)["Action"]), "kms:Decrypt") {
				kept = append(kept, st)
			}
		}
		setStatements(r, auditKeyID, kept)
		if p := keyUseProblems(r, simRegion); !strings.Contains(strings.Join(p, "\n"), "cloudtrail.amazonaws.com kms:Decrypt") {
			t.Errorf("the missing Decrypt was not reported: %v", p)
		}
	})
	t.Run("CloudTrail's Decrypt conditioned on CloudTrail's encryption context", func(t *testing.T) {
		r := fresh()
		for _, st := range statementsOf(r, auditKeyID) {
			m := st.(map[string]any)
			if slices.Contains(asStrings(m["Action"]), "kms:Decrypt") {
				m["Condition"] = map[string]any{"StringLike": map[string]any{"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}
			}
		}
		if p := keyUseProblems(r, simRegion); !strings.Contains(strings.Join(p, "\n"), "kms:EncryptionContext:aws:cloudtrail:arn") {
			t.Errorf("a Decrypt grant S3's Bucket Key calls never match was not reported: %v", p)
		}
	})
	t.Run("the topic key without the alarm publisher", func(t *testing.T) {
		r := fresh()
		alertsKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "alerts-key")
		for _, st := range statementsOf(r, alertsKeyID) {
			m := st.(map[string]any)
			if p, ok := m["Principal"].(map[string]any); ok && p["Service"] != nil {
				p["Service"] = "events.amazonaws.com"
			}
		}
		if p := keyUseProblems(r, simRegion); !strings.Contains(strings.Join(p, "\n"), "cloudwatch.amazonaws.com kms:") {
			t.Errorf("alarms that cannot publish to the encrypted topic were not reported: %v", p)
		}
	})
	t.Run("the audit key used by another region's CloudWatch Logs", func(t *testing.T) {
		r := fresh()
		r["ExtraGroup"] = map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{"KmsKeyId": map[string]any{"Fn::GetAtt": []any{auditKeyID, "Arn"}}}}
		if p := keyUseProblems(r, "eu-west-1"); len(p) == 0 {
			t.Errorf("a key use by logs.eu-west-1 (not granted) was not reported")
		}
	})
}
