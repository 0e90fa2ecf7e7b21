package detection

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DeadLetters keeps the alerts EventBridge could not deliver to the topic (after its retries for up to a
// day), so an alert that failed to publish is never silently gone: it waits 14 days in the queue, and the
// alarm turns red on the dashboard.
type DeadLetters struct {
	Queue awssqs.Queue
	Alarm awscloudwatch.CfnAlarm
}

// NewDeadLetters is newDeadLetters for destinations built outside this package (the fleet's central stacks,
// docs/fleet.md): the queue of rules named namePrefix-..., and its alarm notifying every topic of actions
// (TopicArns).
func NewDeadLetters(scope cdkconstructs.Construct, namePrefix, destID string, actions []*string) *DeadLetters {
	return newDeadLetters(scope, namePrefix, destID, actions)
}

// newDeadLetters makes one destination's queue; its alarm notifies every destination, since the one whose
// alerts are stuck in the queue may be the one that is broken.
func newDeadLetters(scope cdkconstructs.Construct, namePrefix, destID string, actions []*string) *DeadLetters {
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
	props := QueueMessagesAlarmProps(q)
	props.AlarmName = jsii.String(namePrefix + "-" + destID + "UndeliveredAlerts")
	props.AlarmDescription = jsii.String("kmsguard: an alert could not be delivered to " + what + "; read it from the dead-letter queue")
	props.ActionsEnabled = jsii.Bool(true)
	props.AlarmActions = alarmActions(actions)
	return &DeadLetters{Queue: q, Alarm: NewAlarm(scope, destID+"UndeliveredAlertsAlarm", props)}
}

// QueueMessagesAlarmProps are the properties of an alarm on the first message in the dead-letter queue q:
// the maximum of ApproximateNumberOfMessagesVisible over five minutes at 1 or more, no data counting as no
// message. The name, description and actions are the caller's. The metric is written out rather than taken
// from the queue's MetricApproximateNumberOfMessagesVisible, whose Metric and Duration objects are round
// trips to the CDK's process (docs/checks.md, "Benchmark").
func QueueMessagesAlarmProps(q awssqs.IQueue) *awscloudwatch.CfnAlarmProps {
	return &awscloudwatch.CfnAlarmProps{
		Namespace:  jsii.String("AWS/SQS"),
		MetricName: jsii.String("ApproximateNumberOfMessagesVisible"),
		Dimensions: []any{&awscloudwatch.CfnAlarm_DimensionProperty{
			Name: jsii.String("QueueName"), Value: q.QueueName(),
		}},
		Statistic:          jsii.String("Maximum"),
		Period:             jsii.Number(5 * 60),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: jsii.String("GreaterThanOrEqualToThreshold"),
		TreatMissingData:   jsii.String("notBreaching"),
	}
}
