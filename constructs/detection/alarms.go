package detection

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	Metric awscloudwatch.Metric
	Alarm  awscloudwatch.Alarm // nil for dashboard-only metrics
}

func newAlarms(scope cdkconstructs.Construct, props Props, topics []awssns.ITopic) []*Alarm {
	return newAlarmsFor(scope, props, MetricFilters(props.Targets), topics)
}

// NewMetricAlarms puts the metric filters specs (a selection of MetricFilters) on props.LogGroup, each with
// its alarm notifying every topic, for stacks built outside this package (the fleet's home central stack
// on the organization trail's log group, docs/fleet.md).
func NewMetricAlarms(scope cdkconstructs.Construct, props Props, specs []MetricFilter, topics []awssns.ITopic) []*Alarm {
	return newAlarmsFor(scope, props, specs, topics)
}

// NewHeartbeat is newHeartbeat for stacks built outside this package (the fleet's home central stack).
func NewHeartbeat(scope cdkconstructs.Construct, props Props, topics []awssns.ITopic) awscloudwatch.Alarm {
	return newHeartbeat(scope, props, topics)
}

func newAlarmsFor(scope cdkconstructs.Construct, props Props, specs []MetricFilter, topics []awssns.ITopic) []*Alarm {
	t := props.Targets
	var out []*Alarm
	actions := snsActions(topics)
	// Read once: each read of a construct's attribute, like each Duration, is a round trip to the CDK's
	// process (docs/checks.md, "Benchmark").
	logGroupName := logGroupNameOf(props)
	period := awscdk.Duration_Minutes(jsii.Number(5))
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
		a := &Alarm{Spec: spec, Filter: filter, Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(props.Namespace), MetricName: jsii.String(spec.MetricName),
			Statistic: jsii.String("Sum"), Period: period,
		})}
		if spec.Threshold > 0 {
			a.Alarm = awscloudwatch.NewAlarm(scope, jsii.String(spec.ID+"Alarm"), &awscloudwatch.AlarmProps{
				AlarmName:          jsii.String(t.NamePrefix + "-" + spec.ID),
				AlarmDescription:   jsii.String("kmsguard: " + spec.Description),
				Metric:             a.Metric,
				Threshold:          jsii.Number(spec.Threshold),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				// No log events is the normal state, not an outage.
				TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
				ActionsEnabled:   jsii.Bool(true),
			})
			a.Alarm.AddAlarmAction(actions...)
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
func newHeartbeat(scope cdkconstructs.Construct, props Props, topics []awssns.ITopic) awscloudwatch.Alarm {
	t := props.Targets
	alarm := awscloudwatch.NewAlarm(scope, jsii.String("AuditLogHeartbeat"), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(t.NamePrefix + "-AuditLogHeartbeat"),
		AlarmDescription: jsii.String("kmsguard: the audit log group received no CloudTrail event for an hour: the trail or its log route may be stopped"),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Logs"), MetricName: jsii.String("IncomingLogEvents"),
			DimensionsMap: &map[string]*string{"LogGroupName": logGroupNameOf(props)},
			Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
		ActionsEnabled:     jsii.Bool(true),
	})
	alarm.AddAlarmAction(snsActions(topics)...)
	return alarm
}
