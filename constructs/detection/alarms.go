package detection

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Alarm is a metric filter and, when it has a threshold, its alarm.
type Alarm struct {
	Spec   MetricFilter
	Filter awslogs.CfnMetricFilter
	Alarm  awscloudwatch.CfnAlarm // nil for dashboard-only metrics
}

func newAlarms(scope cdkconstructs.Construct, props Props, actions []*string) []*Alarm {
	return newAlarmsFor(scope, props, MetricFilters(props.Targets), actions)
}

// NewMetricAlarms puts the metric filters specs (a selection of MetricFilters) on props.LogGroup, each with
// its alarm notifying every topic of actions (TopicArns), for stacks built outside this package (the
// fleet's home central stack on the organization trail's log group, docs/fleet.md).
func NewMetricAlarms(scope cdkconstructs.Construct, props Props, specs []MetricFilter, actions []*string) []*Alarm {
	return newAlarmsFor(scope, props, specs, actions)
}

// NewHeartbeat is newHeartbeat for stacks built outside this package (the fleet's home central stack).
func NewHeartbeat(scope cdkconstructs.Construct, props Props, actions []*string) awscloudwatch.CfnAlarm {
	return newHeartbeat(scope, props, actions)
}

// TopicArns are the alarm actions that notify each topic: the topics' ARNs, read once for every alarm that
// notifies them, since each read is a round trip to the CDK's process (docs/checks.md, "Benchmark").
func TopicArns(topics []awssns.ITopic) []*string {
	arns := make([]*string, len(topics))
	for i, topic := range topics {
		arns[i] = topic.TopicArn()
	}
	return arns
}

// NewAlarm is an L1 alarm at the construct path an L2 Alarm with id has: the CfnAlarm is the child
// "Resource" of a plain construct id. The logical id hashes the whole path, "Resource" included, so the
// alarms the L2 made keep theirs and a deploy does not replace them. L1 with every property in one call:
// the L2 Alarm, its Metric and SnsAction objects cost about four round trips to the CDK's process per alarm
// (docs/checks.md, "Benchmark").
func NewAlarm(scope cdkconstructs.Construct, id string, props *awscloudwatch.CfnAlarmProps) awscloudwatch.CfnAlarm {
	return awscloudwatch.NewCfnAlarm(cdkconstructs.NewConstruct(scope, jsii.String(id)), jsii.String("Resource"), props)
}

// alarmActions is actions as CfnAlarmProps.AlarmActions takes them; nil (no AlarmActions in the template)
// when there are none.
func alarmActions(actions []*string) *[]any {
	if len(actions) == 0 {
		return nil
	}
	out := make([]any, len(actions))
	for i, a := range actions {
		out[i] = a
	}
	return &out
}

func newAlarmsFor(scope cdkconstructs.Construct, props Props, specs []MetricFilter, actions []*string) []*Alarm {
	t := props.Targets
	var out []*Alarm
	// Read once: each read of a construct's attribute is a round trip to the CDK's process (docs/checks.md,
	// "Benchmark").
	logGroupName := logGroupNameOf(props)
	for _, spec := range specs {
		transformation := &awslogs.CfnMetricFilter_MetricTransformationProperty{
			MetricName:      jsii.String(spec.MetricName),
			MetricNamespace: jsii.String(props.Namespace),
			MetricValue:     jsii.String("1"),
		}
		if len(spec.Dimensions) > 0 {
			var dims []*awslogs.CfnMetricFilter_DimensionProperty
			for _, k := range slices.Sorted(maps.Keys(spec.Dimensions)) {
				dims = append(dims, &awslogs.CfnMetricFilter_DimensionProperty{Key: jsii.String(k), Value: jsii.String(spec.Dimensions[k])})
			}
			transformation.Dimensions = &dims
		} else {
			// A zero when nothing matched keeps the graph continuous; CloudWatch forbids it with dimensions.
			transformation.DefaultValue = jsii.Number(0)
		}
		// L1: the L2 MetricFilter nests its resource one level deeper, which would replace every deployed filter.
		filter := awslogs.NewCfnMetricFilter(scope, jsii.String(spec.ID+"Filter"), &awslogs.CfnMetricFilterProps{
			FilterName:            jsii.String(t.NamePrefix + "-" + spec.ID),
			LogGroupName:          logGroupName,
			FilterPattern:         jsii.String(spec.Pattern),
			MetricTransformations: &[]*awslogs.CfnMetricFilter_MetricTransformationProperty{transformation},
		})
		a := &Alarm{Spec: spec, Filter: filter}
		if spec.Threshold > 0 {
			a.Alarm = NewAlarm(scope, spec.ID+"Alarm", &awscloudwatch.CfnAlarmProps{
				AlarmName:          jsii.String(t.NamePrefix + "-" + spec.ID),
				AlarmDescription:   jsii.String("kmsguard: " + spec.Description),
				Namespace:          jsii.String(props.Namespace),
				MetricName:         jsii.String(spec.MetricName),
				Statistic:          jsii.String("Sum"),
				Period:             jsii.Number(5 * 60),
				Threshold:          jsii.Number(spec.Threshold),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: jsii.String("GreaterThanOrEqualToThreshold"),
				// No log events is the normal state, not an outage.
				TreatMissingData: jsii.String("notBreaching"),
				ActionsEnabled:   jsii.Bool(true),
				AlarmActions:     alarmActions(actions),
			})
		}
		out = append(out, a)
	}
	return out
}

// logGroupNameOf is the audit log group's name: Targets.LogGroupName when New has read it already, else
// read from the log group.
func logGroupNameOf(props Props) *string {
	if props.Targets.LogGroupName != "" {
		return jsii.String(props.Targets.LogGroupName)
	}
	return props.LogGroup.LogGroupRef().LogGroupName
}

// newHeartbeat alarms when the audit log group receives no log event for an hour. A trail that stopped
// delivering, a delivery role that lost its permission or a log group emptied of its subscription goes
// quiet rather than loud; missing data counts as breaching, so the alarm fires on silence itself. It notifies
// every destination. In an account with almost no API activity an hour can pass without a management event,
// and the alarm then fires without an attack (README.md, "Two alert destinations").
func newHeartbeat(scope cdkconstructs.Construct, props Props, actions []*string) awscloudwatch.CfnAlarm {
	t := props.Targets
	return NewAlarm(scope, "AuditLogHeartbeat", &awscloudwatch.CfnAlarmProps{
		AlarmName:        jsii.String(t.NamePrefix + "-AuditLogHeartbeat"),
		AlarmDescription: jsii.String("kmsguard: the audit log group received no CloudTrail event for an hour: the trail or its log route may be stopped"),
		Namespace:        jsii.String("AWS/Logs"),
		MetricName:       jsii.String("IncomingLogEvents"),
		Dimensions: []any{&awscloudwatch.CfnAlarm_DimensionProperty{
			Name: jsii.String("LogGroupName"), Value: logGroupNameOf(props),
		}},
		Statistic:          jsii.String("Sum"),
		Period:             jsii.Number(60 * 60),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: jsii.String("LessThanThreshold"),
		TreatMissingData:   jsii.String("breaching"),
		ActionsEnabled:     jsii.Bool(true),
		AlarmActions:       alarmActions(actions),
	})
}
