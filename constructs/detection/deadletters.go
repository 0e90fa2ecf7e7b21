package detection

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DeadLetters keeps the alerts EventBridge could not deliver to the topic (after its retries for up to a
// day), so an alert that failed to publish is never silently gone: it waits 14 days in the queue, and the
// alarm turns red on the dashboard.
type DeadLetters struct {
	Queue awssqs.Queue
	Alarm awscloudwatch.Alarm
}

// NewDeadLetters is newDeadLetters for destinations built outside this package (the fleet's central stacks,
// docs/fleet.md): the queue of rules named namePrefix-..., and its alarm notifying every topic.
func NewDeadLetters(scope cdkconstructs.Construct, namePrefix, destID string, topics []awssns.ITopic) *DeadLetters {
	return newDeadLetters(scope, namePrefix, destID, topics)
}

// newDeadLetters makes one destination's queue; its alarm notifies every destination, since the one whose
// alerts are stuck in the queue may be the one that is broken.
func newDeadLetters(scope cdkconstructs.Construct, namePrefix, destID string, topics []awssns.ITopic) *DeadLetters {
	// SQS-managed encryption: a customer managed key would need its own grant to EventBridge, one more way
	// for the undelivered alerts to be dropped as well.
	q := awssqs.NewQueue(scope, jsii.String(destID+"UndeliveredAlerts"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	q.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowKmsguardRulesToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{q.QueueArn()},
		Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("events"), Resource: jsii.String("rule"), ResourceName: jsii.String(namePrefix + "-*"),
		})}},
	}))
	what := "the alert topic"
	if destID != "" {
		what = "the " + destID + " alert topic"
	}
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(destID+"UndeliveredAlertsAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(namePrefix + "-" + destID + "UndeliveredAlerts"),
		AlarmDescription:   jsii.String("kmsguard: an alert could not be delivered to " + what + "; read it from the dead-letter queue"),
		Metric:             q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(5))}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		ActionsEnabled:     jsii.Bool(true),
	})
	alarm.AddAlarmAction(snsActions(topics)...)
	return &DeadLetters{Queue: q, Alarm: alarm}
}

// snsActions are the alarm actions that notify each topic. One action object serves any number of alarms,
// and one AddAlarmAction call takes them all: each object and call is a round trip to the CDK's process
// (docs/checks.md, "Benchmark").
func snsActions(topics []awssns.ITopic) []awscloudwatch.IAlarmAction {
	actions := make([]awscloudwatch.IAlarmAction, len(topics))
	for i, topic := range topics {
		actions[i] = awscloudwatchactions.NewSnsAction(topic)
	}
	return actions
}
