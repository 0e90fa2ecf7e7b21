package review

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// replacing lists, for each resource type kmsguard deploys, the properties whose change makes
// CloudFormation replace the resource (a new one is created and the old one deleted, or kept when its
// UpdateReplacePolicy retains it): "Update requires: Replacement" in the CloudFormation Template Reference,
// the createOnlyProperties of the type's registry schema (docs/review.md, "Replacement"; a test holds this
// table to the schemas cfn-lint ships). AWS::KMS::Key's schema lists none.
var replacing = map[string][]string{
	"AWS::KMS::Key":              {},
	"AWS::KMS::Alias":            {"AliasName"},
	"AWS::S3::Bucket":            {"BucketName", "BucketNamePrefix", "BucketNamespace"},
	"AWS::S3::BucketPolicy":      {"Bucket"},
	"AWS::SNS::TopicPolicy":      {},
	"AWS::SQS::QueuePolicy":      {},
	"AWS::Logs::LogGroup":        {"LogGroupName"},
	"AWS::Logs::MetricFilter":    {"FilterName", "LogGroupName"},
	"AWS::CloudTrail::Trail":     {"TrailName"},
	"AWS::SNS::Topic":            {"TopicName", "FifoTopic"},
	"AWS::SNS::Subscription":     {"Endpoint", "Protocol", "TopicArn"},
	"AWS::SQS::Queue":            {"QueueName", "FifoQueue"},
	"AWS::IAM::User":             {"UserName"},
	"AWS::IAM::Role":             {"RoleName", "Path"},
	"AWS::IAM::Group":            {"GroupName"},
	"AWS::IAM::ManagedPolicy":    {"ManagedPolicyName", "Description", "Path"},
	"AWS::Events::Rule":          {"Name"},
	"AWS::CloudWatch::Alarm":     {"AlarmName"},
	"AWS::CloudWatch::Dashboard": {"DashboardName"},
}

// kept are the types whose loss loses what they hold or guard: a key (every table it encrypts), the
// trail and its buckets and log group (the audit record). Deleting or replacing one is weaker.
var kept = map[string]bool{
	"AWS::KMS::Key": true, "AWS::S3::Bucket": true, "AWS::Logs::LogGroup": true, "AWS::CloudTrail::Trail": true,
}

// policyRank orders DeletionPolicy and UpdateReplacePolicy values from keeping the most to the least; an
// absent policy is Delete (CloudFormation's default).
var policyRank = map[string]int{"Retain": 3, "RetainExceptOnCreate": 2, "Snapshot": 1, "Delete": 0, "": 0}

// mustStayOn are settings whose turning off is weaker: type → property path → the value that protects.
var mustStayOn = map[string]map[string]any{
	"AWS::KMS::Key":          {"EnableKeyRotation": true, "Enabled": true},
	"AWS::CloudTrail::Trail": {"EnableLogFileValidation": true, "IsLogging": true, "IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true},
	"AWS::Logs::LogGroup":    {"DeletionProtectionEnabled": true},
	"AWS::S3::Bucket":        {"ObjectLockEnabled": true, "VersioningConfiguration.Status": "Enabled"},
}

func at(props map[string]any, path string) any {
	var v any = props
	for _, p := range splitDots(path) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func show(v any) string {
	if v == nil {
		return "(not set)"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// identity says which resource an id is about: its kmsguard role, else its type when the type occurs once.
func identity(s *side, id string) string {
	r := s.tpl.Resources[id]
	if role, ok := r.Metadata["kmsguard:role"].(string); ok {
		return r.Type + " " + role
	}
	if len(s.tpl.OfType(r.Type)) == 1 {
		return r.Type
	}
	return ""
}

func name(s *side, id string) string {
	r := s.tpl.Resources[id]
	if role, ok := r.Metadata["kmsguard:role"].(string); ok && keyRoles[role] != "" {
		return keyRoles[role] + " (" + id + ")"
	}
	return id + " (" + r.Type + ")"
}

// diffLifecycle compares resource by resource: what is gone, what comes back under a new logical id
// (replaced), which properties force a replacement, deletion and replacement policies, retention and
// Object Lock, and the settings that must stay on.
func diffLifecycle(o, n *side) []Finding {
	var out []Finding
	oldIDs, newIDs := o.tpl.IDs(), n.tpl.IDs()
	// A resource whose logical id changed is matched by its identity.
	movedTo := map[string]string{}
	for _, id := range oldIDs {
		if _, still := n.tpl.Resources[id]; still {
			continue
		}
		ident := identity(o, id)
		if ident == "" {
			continue
		}
		for _, nid := range newIDs {
			if _, was := o.tpl.Resources[nid]; !was && identity(n, nid) == ident {
				movedTo[id] = nid
			}
		}
	}
	for _, id := range oldIDs {
		r := o.tpl.Resources[id]
		if _, still := n.tpl.Resources[id]; still {
			continue
		}
		policy := r.DeletionPolicy
		if policy == "" {
			policy = "Delete"
		}
		if nid, ok := movedTo[id]; ok {
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: kept[r.Type],
				Text: fmt.Sprintf("%s would be replaced: its logical id becomes %s, so CloudFormation creates a new one and applies DeletionPolicy %s to the old", name(o, id), nid, policy)})
			continue
		}
		if kept[r.Type] || r.Type == "AWS::Events::Rule" || r.Type == "AWS::CloudWatch::Alarm" {
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: kept[r.Type],
				Text: fmt.Sprintf("%s is gone from the template (DeletionPolicy %s)", name(o, id), policy)})
		}
	}
	for _, id := range oldIDs {
		or := o.tpl.Resources[id]
		nr, ok := n.tpl.Resources[id]
		if !ok || nr.Type != or.Type {
			continue
		}
		for _, p := range []struct{ what, a, b string }{
			{"DeletionPolicy", or.DeletionPolicy, nr.DeletionPolicy},
			{"UpdateReplacePolicy", or.UpdateReplacePolicy, nr.UpdateReplacePolicy},
		} {
			if p.a == p.b {
				continue
			}
			weaker := policyRank[p.b] < policyRank[p.a]
			verb := "loosened"
			if !weaker {
				verb = "tightened"
			}
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: weaker,
				Text: fmt.Sprintf("%s: %s %s from %s to %s", name(o, id), p.what, verb, show(orDelete(p.a)), show(orDelete(p.b)))})
		}
		var forcing []string
		for _, prop := range replacing[or.Type] {
			a, b := or.Properties[prop], nr.Properties[prop]
			if !reflect.DeepEqual(a, b) {
				forcing = append(forcing, fmt.Sprintf("%s %s → %s", prop, show(a), show(b)))
			}
		}
		if len(forcing) > 0 {
			sort.Strings(forcing)
			text := fmt.Sprintf("%s would be replaced (%s)", name(o, id), join(forcing))
			if kept[or.Type] {
				text += fmt.Sprintf("; UpdateReplacePolicy %s applies to the old one", show(orDelete(nr.UpdateReplacePolicy)))
			}
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: kept[or.Type], Text: text})
		}
		for prop, want := range mustStayOn[or.Type] {
			a, b := at(or.Properties, prop), at(nr.Properties, prop)
			if reflect.DeepEqual(a, want) && !reflect.DeepEqual(b, want) {
				out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: true,
					Text: fmt.Sprintf("%s: %s turned off (%s → %s)", name(o, id), prop, show(a), show(b))})
			}
		}
		out = append(out, retention(o, id, or.Properties, nr.Properties)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}

func orDelete(p string) string {
	if p == "" {
		return "Delete (not set)"
	}
	return p
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// retention: the log group's retention and the trail bucket's Object Lock default retention (mode and
// days). Shorter, or GOVERNANCE after COMPLIANCE, is weaker.
func retention(o *side, id string, a, b map[string]any) []Finding {
	var out []Finding
	num := func(v any) (float64, bool) { f, ok := v.(float64); return f, ok }
	if x, ok := num(a["RetentionInDays"]); ok {
		y, ok2 := num(b["RetentionInDays"])
		switch {
		case !ok2:
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Text: fmt.Sprintf("%s: retention %v days → never expire", name(o, id), x)})
		case y < x:
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: true, Text: fmt.Sprintf("%s: retention shortened from %v to %v days", name(o, id), x, y)})
		case y > x:
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Text: fmt.Sprintf("%s: retention lengthened from %v to %v days", name(o, id), x, y)})
		}
	}
	am, bm := at(a, "ObjectLockConfiguration.Rule.DefaultRetention.Mode"), at(b, "ObjectLockConfiguration.Rule.DefaultRetention.Mode")
	ad, bd := at(a, "ObjectLockConfiguration.Rule.DefaultRetention.Days"), at(b, "ObjectLockConfiguration.Rule.DefaultRetention.Days")
	if am != nil || bm != nil {
		if !reflect.DeepEqual(am, bm) {
			weaker := am == "COMPLIANCE" || bm == nil
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: weaker,
				Text: fmt.Sprintf("%s: Object Lock mode %s → %s", name(o, id), show(am), show(bm))})
		}
		x, _ := num(ad)
		y, ok := num(bd)
		if !reflect.DeepEqual(ad, bd) {
			out = append(out, Finding{Area: AreaLifecycle, Subject: id, Weaker: !ok || y < x,
				Text: fmt.Sprintf("%s: Object Lock retention %s → %s days", name(o, id), show(ad), show(bd))})
		}
	}
	return out
}
