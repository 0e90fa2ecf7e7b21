package detection

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Dashboard is what an operator opens first in an incident: who is calling the key, what was denied, which
// alarms are firing, and the latest raw events.
type Dashboard struct {
	awscloudwatch.Dashboard
}

func newDashboard(scope cdkconstructs.Construct, props Props, alarms []*Alarm, pathAlarms []awscloudwatch.CfnAlarm) *Dashboard {
	t := props.Targets
	metricName := map[string]string{}
	var withAlarm []interfacesawscloudwatch.IAlarmRef
	for _, a := range pathAlarms {
		withAlarm = append(withAlarm, a)
	}
	for _, a := range alarms {
		metricName[a.Spec.ID] = a.Spec.MetricName
		if a.Alarm != nil {
			withAlarm = append(withAlarm, a.Alarm)
		}
	}
	title := "# MariaDB master key " + t.KeyAlias + "\nTrail **" + t.TrailName + "**, log group **" +
		t.LogGroupName + "**. Alerts go to both kmsguard destinations; replay old events with `kmsguard-replay`."
	if t.LogGroupName == "" {
		// No metric filters (an existing trail without its log group): nothing to graph or query.
		title = "# MariaDB master key " + t.KeyAlias + "\nTrail **" + t.TrailName + "** (not this stack's). No log group: " +
			"the metric-filter alarms and graphs are off (README.md, \"Using an existing trail\"). Alerts go to both kmsguard destinations."
		return &Dashboard{Dashboard: awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
			DashboardName:   jsii.String(t.NamePrefix + "-mariadb-key-" + *awscdk.Aws_REGION()),
			DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
			Widgets: &[]*[]awscloudwatch.IWidget{
				{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Width: jsii.Number(24), Height: jsii.Number(2), Markdown: jsii.String(title)})},
				{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
					Title: jsii.String("kmsguard alarms"), Width: jsii.Number(24), Alarms: &withAlarm,
				})},
			},
		})}
	}
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	byEventName := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("SEARCH('{" + props.Namespace + ",EventName} MetricName=\"KeyCalls\"', 'Sum', 300)"),
		Label:      jsii.String(""),
		Period:     fiveMinutes,
	})
	// Only the graphed filters get a Metric object, labelled as it is made (not a Metric per filter and a
	// labelled copy of it): each is a round trip to the CDK's process (docs/checks.md, "Benchmark").
	graphed := func(id, label string) awscloudwatch.IMetric {
		name, ok := metricName[id]
		if !ok {
			panic("detection: the dashboard graphs metric filter " + id + ", which is not among the alarms")
		}
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(props.Namespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String(label),
		})
	}
	d := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		// Dashboards are account-wide: the region keeps a second region's stack from colliding.
		DashboardName:   jsii.String(t.NamePrefix + "-mariadb-key-" + *awscdk.Aws_REGION()),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
				Width: jsii.Number(24), Height: jsii.Number(2),
				Markdown: jsii.String(title),
			})},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
					Title: jsii.String("Calls on the master key, by event name"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{byEventName}, Stacked: jsii.Bool(true),
				}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
					Title: jsii.String("Denied calls"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{
						graphed("KeyDenied", "on the master key"),
						graphed("UnauthorizedCalls", "anywhere in the account"),
					},
				}),
			},
			{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("kmsguard alarms"), Width: jsii.Number(24), Alarms: &withAlarm,
			})},
			{awscloudwatch.NewLogQueryWidget(&awscloudwatch.LogQueryWidgetProps{
				Title: jsii.String("Latest calls on the master key"), Width: jsii.Number(24), Height: jsii.Number(8),
				LogGroupNames: jsii.Strings(t.LogGroupName),
				QueryLines: jsii.Strings(
					"fields eventTime, eventName, userIdentity.arn, sourceIPAddress, vpcEndpointId, errorCode",
					"filter eventSource = 'kms.amazonaws.com' and resources.0.ARN = '"+t.KeyArn+"'",
					"sort eventTime desc",
					"limit 50"),
			})},
		},
	})
	return &Dashboard{Dashboard: d}
}
