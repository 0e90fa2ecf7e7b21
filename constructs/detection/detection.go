// Package detection builds what turns the audit trail into alerts: EventBridge rules in four tiers with
// readable emails, CloudWatch Logs metric filters with alarms (a second, independent path), and a
// dashboard for the key.
package detection

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configures detection. Targets names what is watched; Topic and LogGroup are the constructs the
// alerts go to and the metric filters read, passed by reference so that the CDK derives the dependencies;
// NotifyKeyUse turns the informational key-use tier on.
type Props struct {
	Targets Targets
	// Topic receives every alert: the rules' targets and the alarms' actions. The tamper rules watch it too.
	Topic awssns.ITopic
	// LogGroup is the audit log group the trail delivers to; the metric filters read it and the tamper rules
	// watch it.
	LogGroup     interfacesawslogs.ILogGroupRef
	NotifyKeyUse bool
	// Namespace is the CloudWatch metric namespace of the metric filters.
	Namespace string
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
	require("Targets.BucketNames", len(t.BucketNames) == 0, "the trail's buckets")
	require("Targets.NamePrefix", t.NamePrefix == "", "the prefix of the rule and alarm names")
	if len(t.NamePrefix) > 40 {
		errs = append(errs, fmt.Errorf("Targets.NamePrefix: %q is longer than 40 characters; rule names are limited to 64", t.NamePrefix))
	}
	require("Targets.UserNames", len(t.UserNames) == 0, "at least the key administrator")
	require("Topic", p.Topic == nil, "the alert topic")
	require("LogGroup", p.LogGroup == nil, "the audit log group")
	require("Namespace", p.Namespace == "", "the metric namespace")
	return errors.Join(errs...)
}

// Detection exposes the rules by tier, the alarms and the dashboard.
type Detection struct {
	cdkconstructs.Construct
	Rules       map[string][]awsevents.CfnRule
	Alarms      []*Alarm
	DeadLetters *DeadLetters
	Dashboard   *Dashboard
}

// New creates the rules, metric filters, alarms and dashboard; it panics on invalid props because the stack
// validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *Detection {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("detection: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	d := &Detection{Construct: c, Rules: map[string][]awsevents.CfnRule{}}
	d.DeadLetters = newDeadLetters(c, props.Targets.NamePrefix, props.Topic)
	// The patterns are plain data: they name the topic, the log group and the queue by the tokens the
	// constructs give.
	props.Targets.TopicArn = *props.Topic.TopicArn()
	props.Targets.LogGroupName = *props.LogGroup.LogGroupRef().LogGroupName
	props.Targets.DeadLetterQueueURL = *d.DeadLetters.Queue.QueueUrl()
	t := props.Targets
	tiers := []tierRules{
		{KeyDanger, keySubject(t), KeyDangerPatterns(t)},
		{Denied, keySubject(t) + " or its audit pipeline", DeniedPatterns(t)},
		{AuditTamper, "the audit pipeline of " + t.KeyAlias + " (trail " + t.TrailName + ")", AuditTamperPatterns(t)},
	}
	if props.NotifyKeyUse {
		tiers = append(tiers, tierRules{KeyUse, keySubject(t), KeyUsePatterns(t)})
	}
	for _, tr := range tiers {
		for i, pattern := range tr.patterns {
			d.Rules[tr.tier.Name] = append(d.Rules[tr.tier.Name], newRule(c, t, tr.tier, i+1, tr.subject, pattern, props.Topic, d.DeadLetters.Queue))
		}
	}
	d.Alarms = newAlarms(c, props)
	d.Dashboard = newDashboard(c, props, d.Alarms, d.DeadLetters.Alarm)
	return d
}

// tierRules are one tier's patterns and the subject its emails name.
type tierRules struct {
	tier     Tier
	subject  string
	patterns []map[string]any
}

func keySubject(t Targets) string { return t.KeyAlias + " (" + t.KeyArn + ")" }

func newRule(scope cdkconstructs.Construct, t Targets, tier Tier, n int, subject string, pattern map[string]any,
	topic awssns.ITopic, deadLetters awssqs.IQueue) awsevents.CfnRule {
	id := fmt.Sprintf("%s-%d", tier.Name, n)
	// L1: the L2 Rule cannot set the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (Tier).
	rule := awsevents.NewCfnRule(scope, jsii.String(id), &awsevents.CfnRuleProps{
		Name:         jsii.String(t.NamePrefix + "-" + id),
		Description:  jsii.String(fmt.Sprintf("kmsguard %s (%s): %s", tier.Name, tier.Severity, tier.Meaning)),
		State:        jsii.String(tier.state()),
		EventPattern: pattern,
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:  jsii.String("AlertTopic"),
			Arn: topic.TopicArn(),
			InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
				InputPathsMap: inputPaths,
				InputTemplate: jsii.String(InputTemplate(Message(tier, subject))),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: deadLetters.QueueArn()},
		}},
	})
	rule.AddMetadata(jsii.String("kmsguard:tier"), tier.Name)
	return rule
}
