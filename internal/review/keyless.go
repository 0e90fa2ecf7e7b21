package review

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// isFleetTemplate reports whether a template without a master key is one of kmsguard's fleet templates
// (a central stack or the identity StackSet, docs/fleet.md), which name themselves in their Description.
func isFleetTemplate(tpl *cfntemplate.Template) bool {
	return strings.HasPrefix(tpl.Description, "kmsguard fleet ")
}

// alertPathTypes are the resources an alert travels through in a template without a master key: the
// rules and buses that receive and render the members' events, the topics and subscriptions that deliver
// them, the dead-letter queues and alarms that report what was not delivered, the metric filters on the
// organization trail's log group, the StackSets that put the member side in place, and the users the key
// policies name. Losing one loses alerts, so its removal is weaker, unlike the lifecycle review's plain
// "gone from the template".
var alertPathTypes = map[string]string{
	"AWS::Events::Rule":             "the alerts it raises stop",
	"AWS::Events::EventBus":         "the member events it receives are refused",
	"AWS::SNS::Topic":               "the alerts it delivers stop",
	"AWS::SNS::Subscription":        "that subscriber gets no more alerts",
	"AWS::SQS::Queue":               "undelivered alerts are no longer kept",
	"AWS::CloudWatch::Alarm":        "what it watches no longer alarms",
	"AWS::Logs::MetricFilter":       "the events it counts no longer alarm",
	"AWS::CloudFormation::StackSet": "CloudFormation deletes its stack instances: the member rules, and the users, in every target account (keys are retained)",
	"AWS::IAM::User":                "CloudFormation deletes the user in every target account",
}

// diffKeyless reviews two templates without a master key: the lifecycle review, and each alert path
// removed, disabled or narrowed. A rule's changed pattern is named but not judged: its events arrive
// forwarded from the members, which the CloudTrail corpus does not model (the regional template's own
// review replays them).
func diffKeyless(o, n *side) []Finding {
	var paths []Finding
	gone := map[string]bool{}
	for _, id := range o.tpl.IDs() {
		or := o.tpl.Resources[id]
		nr, still := n.tpl.Resources[id]
		loss := alertPathTypes[or.Type]
		if !still || nr.Type != or.Type {
			if loss != "" {
				gone[id] = true
				paths = append(paths, Finding{Area: AreaAlerts, Subject: id, Weaker: true,
					Text: fmt.Sprintf("%s is gone from the template: %s", name(o, id), loss)})
			}
			continue
		}
		paths = append(paths, changedPath(o, id, or, nr)...)
	}
	for _, id := range n.tpl.IDs() {
		if _, was := o.tpl.Resources[id]; !was && alertPathTypes[n.tpl.Resources[id].Type] != "" {
			paths = append(paths, Finding{Area: AreaAlerts, Subject: id, Text: fmt.Sprintf("%s is new", name(n, id))})
		}
	}
	out := paths
	for _, f := range diffLifecycle(o, n) {
		if !gone[f.Subject] || !strings.Contains(f.Text, "is gone from the template") {
			out = append(out, f)
		}
	}
	return out
}

// enabledStates rank a rule's State by what it receives: every CloudTrail management event, the
// mutating ones only, nothing.
var enabledStates = map[string]int{"ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS": 2, "ENABLED": 1, "": 1, "DISABLED": 0}

func changedPath(o *side, id string, or, nr cfntemplate.Resource) []Finding {
	var out []Finding
	add := func(weaker bool, format string, args ...any) {
		out = append(out, Finding{Area: AreaAlerts, Subject: id, Weaker: weaker, Text: name(o, id) + ": " + fmt.Sprintf(format, args...)})
	}
	a, b := or.Properties, nr.Properties
	switch or.Type {
	case "AWS::Events::Rule":
		sa, _ := a["State"].(string)
		sb, _ := b["State"].(string)
		if enabledStates[sb] < enabledStates[sa] {
			add(true, "State %s → %s: it receives fewer events", show(a["State"]), show(b["State"]))
		}
		if ta, tb := targetIDs(a), targetIDs(b); len(lost(ta, tb)) > 0 {
			add(true, "target(s) %s removed: their alerts stop", strings.Join(lost(ta, tb), ", "))
		}
		if !reflect.DeepEqual(a["EventPattern"], b["EventPattern"]) {
			add(false, "its event pattern changed: read it in the template diff (forwarded events are not replayed here)")
		}
	case "AWS::CloudWatch::Alarm":
		if a["ActionsEnabled"] != false && b["ActionsEnabled"] == false {
			add(true, "ActionsEnabled turned off: it alarms without notifying")
		}
		if l := lost(strs(a["AlarmActions"]), strs(b["AlarmActions"])); len(l) > 0 {
			add(true, "%d alarm action(s) removed", len(l))
		}
	case "AWS::CloudFormation::StackSet":
		if at(a, "AutoDeployment.Enabled") == true && at(b, "AutoDeployment.Enabled") != true {
			add(true, "automatic deployment turned off: accounts that join a target OU are no longer protected")
		}
		if l := lost(stackSetStrings(a, "OrganizationalUnitIds"), stackSetStrings(b, "OrganizationalUnitIds")); len(l) > 0 {
			add(true, "no longer deployed to %s: CloudFormation deletes those accounts' stack instances", strings.Join(l, ", "))
		}
		if l := lost(stackSetStrings(a, "Regions"), stackSetStrings(b, "Regions")); len(l) > 0 {
			add(true, "no longer deployed in %s: CloudFormation deletes those regions' stack instances", strings.Join(l, ", "))
		}
		if !reflect.DeepEqual(a["TemplateBody"], b["TemplateBody"]) || !reflect.DeepEqual(a["TemplateURL"], b["TemplateURL"]) {
			add(false, "its member template changed: review that template's pair (make review reviews each StackSet template)")
		}
	case "AWS::Events::EventBusPolicy", "AWS::Events::EventBus", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy", "AWS::KMS::Key", "AWS::IAM::Role":
		if !reflect.DeepEqual(a, b) {
			add(false, "its properties changed (a policy among them, perhaps): read it in the template diff")
		}
	}
	return out
}

// targetIDs are the Id of each target of a rule.
func targetIDs(props map[string]any) []string {
	var ids []string
	targets, _ := props["Targets"].([]any)
	for _, t := range targets {
		if m, ok := t.(map[string]any); ok {
			id, _ := m["Id"].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

// stackSetStrings collects a StackSet's deployment targets' OUs or regions over its StackInstancesGroup.
func stackSetStrings(props map[string]any, key string) []string {
	var out []string
	groups, _ := props["StackInstancesGroup"].([]any)
	for _, g := range groups {
		m, _ := g.(map[string]any)
		if key == "Regions" {
			out = append(out, strs(m["Regions"])...)
			continue
		}
		out = append(out, strs(at(m, "DeploymentTargets."+key))...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		} else {
			out = append(out, show(x))
		}
	}
	return out
}

// lost are the entries of a missing from b.
func lost(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
