// Package detection builds what turns the audit trail into alerts: EventBridge rules in four tiers with
// readable emails, CloudWatch Logs metric filters with alarms (a second, independent path), and a
// dashboard for the key.
package detection

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configures detection. Targets holds what is watched; NotifyKeyUse turns the informational key-use
// tier on.
type Props struct {
	Targets      Targets
	NotifyKeyUse bool
	// Namespace is the CloudWatch metric namespace of the metric filters.
	Namespace string
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	var errs []error
	t := p.Targets
	for field, v := range map[string]string{"Targets.KeyArn": t.KeyArn, "Targets.KeyID": t.KeyID, "Targets.KeyAlias": t.KeyAlias,
		"Targets.AliasArn": t.AliasArn, "Targets.TrailName": t.TrailName, "Targets.TopicArn": t.TopicArn, "Targets.NamePrefix": t.NamePrefix, "Namespace": p.Namespace} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s: required", field))
		}
	}
	if len(t.AuditKeyArns) == 0 {
		errs = append(errs, errors.New("Targets.AuditKeyArns: required: the keys of the audit pipeline"))
	}
	if len(t.UserNames) == 0 {
		errs = append(errs, errors.New("Targets.UserNames: required: at least the key administrator"))
	}
	if len(t.NamePrefix) > 40 {
		errs = append(errs, fmt.Errorf("Targets.NamePrefix: %q is longer than 40 characters; rule names are limited to 64", t.NamePrefix))
	}
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
	t := props.Targets
	topic := awssns.Topic_FromTopicArn(c, jsii.String("AlertTopic"), jsii.String(t.TopicArn))
	d.DeadLetters = newDeadLetters(c, t, topic)
	t.DeadLetterQueueURL = *d.DeadLetters.Queue.QueueUrl()
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
			d.Rules[tr.tier.Name] = append(d.Rules[tr.tier.Name], newRule(c, t, tr.tier, i+1, tr.subject, pattern, *d.DeadLetters.Queue.QueueArn()))
		}
	}
	// Without the trail's log group (an existing trail whose group was not named) the metric-filter route is
	// off: there is nothing to put the filters on.
	if t.LogGroupName != "" {
		d.Alarms = newAlarms(c, props, topic)
	}
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

func newRule(scope cdkconstructs.Construct, t Targets, tier Tier, n int, subject string, pattern map[string]any, deadLetterArn string) awsevents.CfnRule {
	id := fmt.Sprintf("%s-%d", tier.Name, n)
	rule := awsevents.NewCfnRule(scope, jsii.String(id), &awsevents.CfnRuleProps{
		Name:         jsii.String(t.NamePrefix + "-" + id),
		Description:  jsii.String(fmt.Sprintf("kmsguard %s (%s): %s", tier.Name, tier.Severity, tier.Meaning)),
		State:        jsii.String(tier.state()),
		EventPattern: pattern,
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:  jsii.String("AlertTopic"),
			Arn: jsii.String(t.TopicArn),
			InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
				InputPathsMap: inputPaths,
				InputTemplate: jsii.String(InputTemplate(Message(tier, subject))),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: jsii.String(deadLetterArn)},
		}},
	})
	rule.AddMetadata(jsii.String("kmsguard:tier"), tier.Name)
	return rule
}
