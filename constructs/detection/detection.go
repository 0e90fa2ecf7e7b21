// Package detection builds what turns the audit trail into alerts: EventBridge rules in four tiers with
// readable emails, CloudWatch Logs metric filters with alarms (a second, independent path), and a
// dashboard for the key.
package detection

import (
	"errors"
	"fmt"
	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configures detection. Targets names what is watched; Topic and LogGroup are the constructs the
// alerts go to and the metric filters read, passed by reference so that the CDK derives the dependencies;
// NotifyKeyUse turns the informational key-use tier on.
type Props struct {
	Targets Targets
	// Destinations receive the alerts: every critical rule has one target per destination (each with that
	// destination's own dead-letter queue), and every alarm notifies each destination, so that no single
	// change to one destination, its key or one rule silences every path (README.md, "Two alert
	// destinations"). The tamper rules watch each destination too.
	Destinations []Destination
	// LogGroup is the audit log group the trail delivers to; the metric filters and the heartbeat read it and
	// the tamper rules watch it. Nil (an existing trail whose log group was not named) turns that route off.
	LogGroup     interfacesawslogs.ILogGroupRef
	NotifyKeyUse bool
	// Namespace is the CloudWatch metric namespace of the metric filters.
	Namespace string
}

// Destination is one independent place alerts go: a topic with its own key and subscribers.
type Destination struct {
	// ID names the destination's dead-letter queue and alarm ("" keeps the first destination's original
	// construct ids, so its deployed queue is not replaced).
	ID    string
	Topic awssns.ITopic
	// Info destinations also receive the informational key-use tier; the others only the critical tiers.
	Info bool
}

// Validate reports every problem at once, by field name, always in the order of the fields of Props and
// Targets, so that the same mistake gives the same message on every run.
func (p Props) Validate() error {
	var errs []error
	t := p.Targets
	require := func(field string, missing bool, what string) {
		if missing {
			errs = append(errs, fmt.Errorf("%s: required: %s", field, what))
		}
	}
	require("Targets.KeyArn", t.KeyArn == "", "the master key's ARN")
	require("Targets.KeyID", t.KeyID == "", "the master key's id")
	require("Targets.KeyAlias", t.KeyAlias == "", "the master key's alias")
	require("Targets.AliasArn", t.AliasArn == "", "the alias's ARN")
	require("Targets.AuditKeyArns", len(t.AuditKeyArns) == 0, "the keys of the audit pipeline")
	require("Targets.TrailName", t.TrailName == "", "the trail's name")
	require("Targets.NamePrefix", t.NamePrefix == "", "the prefix of the rule and alarm names")
	if len(t.NamePrefix) > 40 {
		errs = append(errs, fmt.Errorf("Targets.NamePrefix: %q is longer than 40 characters; rule names are limited to 64", t.NamePrefix))
	}
	require("Targets.UserNames", len(t.UserNames) == 0, "at least the key administrator")
	require("Destinations", len(p.Destinations) == 0, "at least one alert topic")
	for i, d := range p.Destinations {
		require(fmt.Sprintf("Destinations[%d].Topic", i), d.Topic == nil, "the destination's topic")
	}
	require("Namespace", p.Namespace == "", "the metric namespace")
	return errors.Join(errs...)
}

// Detection exposes the rules by tier, the alarms and the dashboard.
type Detection struct {
	cdkconstructs.Construct
	Rules       map[string][]awsevents.CfnRule
	Alarms      []*Alarm
	DeadLetters []*DeadLetters // one per destination, in Props.Destinations order
	// Heartbeat (nil without a log group) alarms when the audit log group receives nothing for an hour: a dead log route.
	Heartbeat awscloudwatch.CfnAlarm
	Dashboard *Dashboard
}

// New creates the rules, metric filters, alarms and dashboard; it panics on invalid props because the stack
// validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *Detection {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("detection: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	d := &Detection{Construct: c, Rules: map[string][]awsevents.CfnRule{}}
	topics := make([]awssns.ITopic, len(props.Destinations))
	for i, dest := range props.Destinations {
		topics[i] = dest.Topic
	}
	// Every alarm notifies every destination; the rules and the patterns name the same ARNs, read once.
	actions := TopicArns(topics)
	for i, dest := range props.Destinations {
		dl := newDeadLetters(c, props.Targets.NamePrefix, dest.ID, actions)
		d.DeadLetters = append(d.DeadLetters, dl)
		props.Targets.TopicArns = append(props.Targets.TopicArns, *actions[i])
		props.Targets.DeadLetterQueueURLs = append(props.Targets.DeadLetterQueueURLs, *dl.Queue.QueueUrl())
	}
	// The patterns are plain data: they name the topics, the log group and the queues by the tokens the
	// constructs give.
	if props.LogGroup != nil {
		props.Targets.LogGroupName = *props.LogGroup.LogGroupRef().LogGroupName
	}
	t := props.Targets
	tiers := []tierRules{
		{KeyDanger, keySubject(t), KeyDangerPatterns(t)},
		{Denied, keySubject(t) + " or its audit pipeline", DeniedPatterns(t)},
		{AuditTamper, "the audit pipeline of " + t.KeyAlias + " (trail " + t.TrailName + ")", AuditTamperPatterns(t)},
	}
	if props.NotifyKeyUse {
		tiers = append(tiers, tierRules{KeyUse, keySubject(t), KeyUsePatterns(t)})
	}
	all := d.allRoutes(props.Destinations, actions)
	for _, tr := range tiers {
		routes := RoutesFor(all, tr.tier)
		for i, pattern := range tr.patterns {
			id := fmt.Sprintf("%s-%d", tr.tier.Name, i+1)
			d.Rules[tr.tier.Name] = append(d.Rules[tr.tier.Name], newRule(c, t, tr.tier, id, tr.subject, pattern, routes))
		}
	}
	// The rules that watch rule changes cannot report a change to themselves once it is made (a disabled
	// rule matches nothing): the watchdog watches them, and they watch the watchdog.
	routes := RoutesFor(all, AuditTamper)
	d.Rules[AuditTamper.Name] = append(d.Rules[AuditTamper.Name], newRule(c, t, AuditTamper, WatchdogID,
		"the rules that watch kmsguard's own rules", WatchdogPattern(t, RuleWatchers(t)), routes))
	var undelivered []awscloudwatch.CfnAlarm
	// Without the trail's log group (an existing trail whose group was not named) the metric-filter route and
	// the heartbeat are off: there is nothing to put them on.
	if props.LogGroup != nil {
		d.Alarms = newAlarms(c, props, actions)
		// CloudWatch takes a dimension value of at most 255 characters: an existing log group with a longer
		// name (up to 512) gets no heartbeat.
		if name := t.LogGroupName; *awscdk.Token_IsUnresolved(jsii.String(name)) || len(name) <= 255 {
			d.Heartbeat = newHeartbeat(c, props, actions)
			undelivered = append(undelivered, d.Heartbeat)
		}
	}
	for _, dl := range d.DeadLetters {
		undelivered = append(undelivered, dl.Alarm)
	}
	d.Dashboard = newDashboard(c, props, d.Alarms, undelivered)
	return d
}

// tierRules are one tier's patterns and the subject its emails name.
type tierRules struct {
	tier     Tier
	subject  string
	patterns []map[string]any
}

func keySubject(t Targets) string { return t.KeyAlias + " (" + t.KeyArn + ")" }

// Route is one destination of the rules: its topic and its dead-letter queue, by their ARNs, read once
// for every rule that names them, since each read is a round trip to the CDK's process (docs/checks.md,
// "Benchmark"). The fleet's central stacks route their rules the same way (docs/fleet.md).
type Route struct {
	ID                      string // the rule target's id
	TopicArn, DeadLetterArn *string
	Info                    bool // the destination also receives the informational tier
}

// allRoutes are the routes of every destination, in Props.Destinations order; topicArns are the
// destinations' topic ARNs, in the same order.
func (d *Detection) allRoutes(dests []Destination, topicArns []*string) []Route {
	out := make([]Route, len(dests))
	for i, dest := range dests {
		id := "AlertTopic"
		if dest.ID != "" {
			id = dest.ID + "Topic"
		}
		out[i] = Route{ID: id, TopicArn: topicArns[i], DeadLetterArn: d.DeadLetters[i].Queue.QueueArn(), Info: dest.Info}
	}
	return out
}

// RoutesFor are the routes of a tier's rules: every route for a critical tier, the Info ones for the
// informational tier.
func RoutesFor(routes []Route, tier Tier) []Route {
	var out []Route
	for _, r := range routes {
		if tier.Severity == "info" && !r.Info {
			continue
		}
		out = append(out, r)
	}
	return out
}

// RuleTargets are one rule target per route, each emailing the message lines, rendered from the event by
// paths, to the route's topic, with the route's dead-letter queue for what cannot be delivered.
func RuleTargets(routes []Route, paths map[string]string, lines []string) []any {
	template := jsii.String(InputTemplate(lines))
	var targets []any // nil, like no Targets property, when no route takes the rule
	for _, r := range routes {
		targets = append(targets, &awsevents.CfnRule_TargetProperty{
			Id:  jsii.String(r.ID),
			Arn: r.TopicArn,
			InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
				InputPathsMap: paths,
				InputTemplate: template,
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: r.DeadLetterArn},
		})
	}
	return targets
}

func newRule(scope cdkconstructs.Construct, t Targets, tier Tier, id, subject string, pattern map[string]any, routes []Route) awsevents.CfnRule {
	targets := RuleTargets(routes, PathsFor(pattern), MessageFor(tier, subject, pattern))
	// L1: the L2 Rule cannot set the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (Tier).
	rule := awsevents.NewCfnRule(scope, jsii.String(id), &awsevents.CfnRuleProps{
		Name:         jsii.String(t.NamePrefix + "-" + id),
		Description:  jsii.String(fmt.Sprintf("kmsguard %s (%s): %s", tier.Name, tier.Severity, tier.Meaning)),
		State:        jsii.String(tier.state()),
		EventPattern: pattern,
		Targets:      targets,
	})
	rule.AddMetadata(jsii.String("kmsguard:tier"), tier.Name)
	return rule
}
