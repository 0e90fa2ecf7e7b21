package stacks

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/detection"
)

// The fleet dashboard (docs/fleet.md, "Dashboard"): one CloudWatch dashboard in the home central stack that
// shows every region's central pipeline from the security account's own metrics, and, with
// orgTrailLogGroup, the member accounts one by one through metric-filter dimensions. Nothing in it names a
// member account: accounts are not known at synth, and the template must not grow with them.

// FleetDashboardName is the home central stack's dashboard. Dashboards are global to the account (the
// AWS::CloudWatch::Dashboard page), so the name carries the stack name and the home region, like the
// standalone stack's <stackName>-mariadb-key-<region>, which it can never equal (it ends in "-key-<region>").
func (c Config) FleetDashboardName() string { return c.StackName + "-fleet-" + c.HomeRegion() }

// AccountDimension is the dimension the per-account metric filters publish, taken from the CloudTrail
// record's recipientAccountId: the member account the call was made in.
const AccountDimension = "Account"

// FleetAccountFilters are the metric filters on the organization trail's log group that count, per member
// account, what an operator of the fleet looks at first: the KMS calls of kmsguard's two users (the server
// user is the MariaDB plugin: a member whose count drops to zero has a server that stopped reading its key),
// the calls refused to them, and changes to the rules and alarms named stackName-*. Each has one dimension,
// AccountDimension, and no default value (CloudWatch Logs refuses both together; docs/aws-facts.md,
// "Fleet"). Each account seen is one custom metric per filter (docs/costs.md, "Fleet").
func FleetAccountFilters(cfg Config) []detection.MetricFilter {
	users := "(" + eqFilter("userIdentity.userName", cfg.ServerUserName) + " || " + eqFilter("userIdentity.userName", cfg.adminName()) + ")"
	dims := map[string]string{AccountDimension: "$.recipientAccountId"}
	return []detection.MetricFilter{
		{
			ID: "KeyUserCallsByAccount", MetricName: "KeyUserKmsCallsByAccount", Dimensions: dims,
			Pattern:     "{(" + eqFilter("eventSource", "kms.amazonaws.com") + " && " + users + ")}",
			Description: "KMS calls of the server user and the key administrator, by member account (dashboard only)",
		},
		{
			ID: "KeyUserDeniedByAccount", MetricName: "KeyUserDeniedByAccount", Dimensions: dims,
			Pattern: "{(" + users + " && (" + eqFilter("errorCode", "*UnauthorizedOperation") + " || " +
				eqFilter("errorCode", "AccessDenied*") + "))}",
			Description: "Calls refused to the server user or the key administrator, by member account (dashboard only)",
		},
		{
			ID: "AlertPipelineChangesByAccount", MetricName: "AlertPipelineChangesByAccount", Dimensions: dims,
			Pattern: "{(" + eqFilter("eventSource", "events.amazonaws.com") + " && (" + eqFilter("requestParameters.name", cfg.StackName+"-*") +
				" || " + eqFilter("requestParameters.rule", cfg.StackName+"-*") + "))}",
			Description: "Calls on the EventBridge rules named stackName-*, by member account (dashboard only)",
		},
	}
}

func eqFilter(selector, value string) string { return "($." + selector + " = \"" + value + "\")" }

// FleetRuleRef is one central EventBridge rule the dashboard graphs: its name and its bus ("" for the
// security account's default bus, whose metrics carry RuleName alone; a custom bus's carry EventBusName and
// RuleName, docs/aws-facts.md "Fleet").
type FleetRuleRef struct {
	Name string
	Bus  string
}

// FleetTierRules are the central rules of one alert tier in one region.
type FleetTierRules struct {
	Tier  string
	Rules []FleetRuleRef
}

// FleetRegionPanel is what the dashboard shows of one region's central stack.
type FleetRegionPanel struct {
	Region string
	// StackName is the central stack's name; CloudFormation generates the topic names from it, so the
	// delivery graph finds the region's two topics by it.
	StackName string
	Tiers     []FleetTierRules
	// AlarmNames are every alarm of the central stack; DeadLetterAlarms those on the dead-letter queues.
	AlarmNames       []string
	DeadLetterAlarms []string
}

// FleetAccountPanel is the per-member-account section: the metric filters' namespace and metric names.
type FleetAccountPanel struct {
	// Region is the home region, where the metric filters publish.
	Region    string
	Namespace string
	Metrics   []FleetAccountMetric
}

// FleetAccountMetric is one per-account metric and its graph's title.
type FleetAccountMetric struct {
	MetricName string
	Title      string
}

// FleetDashboardProps are plain values: the dashboard reads no stack and no context.
type FleetDashboardProps struct {
	Name string
	// Account is the security account, whose alarms the dashboard names by ARN.
	Account string
	// Intro is the markdown at the top.
	Intro   string
	Regions []FleetRegionPanel
	// Accounts is nil without orgTrailLogGroup: the section then says how to turn it on.
	Accounts *FleetAccountPanel
}

var (
	dashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	twelveDigits  = regexp.MustCompile(`^[0-9]{12}$`)
)

// Validate reports every problem at once, by field, in field order.
func (p FleetDashboardProps) Validate() error {
	var errs []error
	if !dashboardName.MatchString(p.Name) {
		errs = append(errs, fmt.Errorf("Name %q: 1 to 255 letters, digits, - or _ (CloudWatch's dashboard name rule)", p.Name))
	}
	if !twelveDigits.MatchString(p.Account) {
		errs = append(errs, fmt.Errorf("Account %q: a 12-digit account id", p.Account))
	}
	if len(p.Regions) == 0 {
		errs = append(errs, errors.New("Regions: at least one region"))
	}
	seen := map[string]bool{}
	for i, r := range p.Regions {
		if r.Region == "" || seen[r.Region] {
			errs = append(errs, fmt.Errorf("Regions[%d].Region %q: empty or repeated", i, r.Region))
		}
		seen[r.Region] = true
		if r.StackName == "" {
			errs = append(errs, fmt.Errorf("Regions[%d].StackName: empty", i))
		}
		if len(r.Tiers) == 0 {
			errs = append(errs, fmt.Errorf("Regions[%d].Tiers: no tier", i))
		}
		for j, t := range r.Tiers {
			if t.Tier == "" || len(t.Rules) == 0 {
				errs = append(errs, fmt.Errorf("Regions[%d].Tiers[%d]: a tier name and at least one rule", i, j))
			}
		}
		for _, a := range r.DeadLetterAlarms {
			if !slices.Contains(r.AlarmNames, a) {
				errs = append(errs, fmt.Errorf("Regions[%d].DeadLetterAlarms: %q is not in AlarmNames", i, a))
			}
		}
	}
	if p.Accounts != nil && (p.Accounts.Region == "" || p.Accounts.Namespace == "" || len(p.Accounts.Metrics) == 0) {
		errs = append(errs, errors.New("Accounts: a region, a namespace and at least one metric"))
	}
	return errors.Join(errs...)
}

// FleetDashboard is the home central stack's dashboard and, with orgTrailLogGroup, its per-account filters.
type FleetDashboard struct {
	Dashboard awscloudwatch.Dashboard
	// AccountFilters are the per-account metric filters on orgTrailLogGroup (nil without it).
	AccountFilters []*detection.Alarm
}

// fiveMinutes is every graph's period: one Duration, made on first use. Not a package variable: a jsii
// call at package initialisation would start jsii's Node process in every program that imports stacks,
// kmsguard-make's one-line answers and `-h` included.
var fiveMinutes = sync.OnceValue(func() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(5)) })

// NewFleetDashboard builds the dashboard; it panics on invalid props because the fleet validates the
// configuration first.
func NewFleetDashboard(scope cdkconstructs.Construct, id string, props FleetDashboardProps) awscloudwatch.Dashboard {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("fleet dashboard: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	rows := [][]awscloudwatch.IWidget{{text(props.Intro, 24, 3)}}
	rows = append(rows, accountRows(props.Accounts)...)
	for _, r := range props.Regions {
		rows = append(rows, regionRows(c, stack, props.Account, r)...)
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	return awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(props.Name),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
		Widgets:         &widgets,
	})
}

func text(markdown string, width, height float64) awscloudwatch.IWidget {
	return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Markdown: jsii.String(markdown), Width: jsii.Number(width), Height: jsii.Number(height)})
}

// AccountQuery is the Metrics Insights query of one per-account metric: one line per account, grouped by
// the account dimension, the 50 highest as ORDER BY SUM() ranks them. SCHEMA keeps out any metric of the
// name without that dimension; a namespace with a / must be in double quotes (docs/aws-facts.md, "Fleet").
func AccountQuery(namespace, metricName string) string {
	return fmt.Sprintf(`SELECT SUM(%s) FROM SCHEMA("%s", %s) GROUP BY %s ORDER BY SUM() DESC LIMIT 50`,
		metricName, namespace, AccountDimension, AccountDimension)
}

func accountRows(a *FleetAccountPanel) [][]awscloudwatch.IWidget {
	if a == nil {
		return [][]awscloudwatch.IWidget{{text("## Member accounts\nNot shown: set `orgTrailLogGroup` to count the organization trail's events per member "+
			"account (docs/fleet.md, \"Dashboard\"). Every alert email names the member's account and region.", 24, 2)}}
	}
	row := []awscloudwatch.IWidget{}
	width := 24 / float64(len(a.Metrics))
	for _, m := range a.Metrics {
		row = append(row, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(m.Title), Region: jsii.String(a.Region), Width: jsii.Number(width), Height: jsii.Number(6),
			Left: &[]awscloudwatch.IMetric{awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String(AccountQuery(a.Namespace, m.MetricName)), Label: jsii.String(""), Period: fiveMinutes(),
			})},
		}))
	}
	return [][]awscloudwatch.IWidget{
		{text("## Member accounts (organization trail, home region)\nOne line per member account (the 50 highest by `ORDER BY SUM()`), by the "+
			"`"+AccountDimension+"` dimension of the metric filters on `orgTrailLogGroup` (a CloudWatch Metrics Insights query; docs/fleet.md, \"Dashboard\").", 24, 2)},
		row,
	}
}

// ruleMetric is one AWS/Events metric of one central rule, in its region.
func ruleMetric(region, name string, r FleetRuleRef) awscloudwatch.IMetric {
	dims := map[string]*string{"RuleName": jsii.String(r.Name)}
	if r.Bus != "" {
		dims["EventBusName"] = jsii.String(r.Bus)
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/Events"), MetricName: jsii.String(name), DimensionsMap: &dims,
		Statistic: jsii.String("Sum"), Period: fiveMinutes(), Region: jsii.String(region),
	})
}

// tierSums is one line per tier: the sum of metric over the tier's rules in the region.
func tierSums(region, metric string, tiers []FleetTierRules) *[]awscloudwatch.IMetric {
	var out []awscloudwatch.IMetric
	for ti, t := range tiers {
		using := map[string]awscloudwatch.IMetric{}
		ids := make([]string, len(t.Rules))
		for i, r := range t.Rules {
			// Ids are unique within a graph (CloudWatch's rule for metric ids).
			ids[i] = fmt.Sprintf("t%dr%d", ti, i)
			using[ids[i]] = ruleMetric(region, metric, r)
		}
		out = append(out, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("SUM([" + strings.Join(ids, ",") + "])"), UsingMetrics: &using,
			Label: jsii.String(t.Tier), Period: fiveMinutes(),
		}))
	}
	return &out
}

// topicSearch finds the region's two alert topics by their generated names, which start with the central
// stack's name.
func topicSearch(region, stackName, metric, label string) awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(fmt.Sprintf(`SEARCH('{AWS/SNS,TopicName} MetricName="%s" %s', 'Sum', 300)`, metric, stackName)),
		Label:        jsii.String(label),
		Period:       fiveMinutes(),
		SearchRegion: jsii.String(region),
	})
}

func regionRows(scope cdkconstructs.Construct, stack awscdk.Stack, account string, r FleetRegionPanel) [][]awscloudwatch.IWidget {
	arn := func(name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Region: jsii.String(r.Region), Account: jsii.String(account),
			Resource: jsii.String("alarm"), ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	}
	imported := map[string]awscloudwatch.IAlarm{}
	var alarms []interfacesawscloudwatch.IAlarmRef
	for _, name := range r.AlarmNames {
		imported[name] = awscloudwatch.Alarm_FromAlarmArn(scope, jsii.String(r.Region+"-"+name), arn(name))
		alarms = append(alarms, imported[name])
	}
	graph := func(title string, metrics *[]awscloudwatch.IMetric, stacked bool) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Region: jsii.String(r.Region), Width: jsii.Number(8), Height: jsii.Number(6),
			Left: metrics, Stacked: jsii.Bool(stacked),
		})
	}
	top := []awscloudwatch.IWidget{
		graph(r.Region+": alerts by tier (central rules triggered)", tierSums(r.Region, "TriggeredRules", r.Tiers), true),
		graph(r.Region+": alerts EventBridge failed to deliver, by tier", tierSums(r.Region, "FailedInvocations", r.Tiers), false),
		graph(r.Region+": emails by topic", &[]awscloudwatch.IMetric{
			topicSearch(r.Region, r.StackName, "NumberOfNotificationsDelivered", "delivered"),
			topicSearch(r.Region, r.StackName, "NumberOfNotificationsFailed", "failed"),
		}, false),
	}
	bottom := []awscloudwatch.IWidget{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String(r.Region + ": kmsguard alarms"), Width: jsii.Number(12), Height: jsii.Number(6), Alarms: &alarms,
		SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
	})}
	for _, name := range r.DeadLetterAlarms {
		bottom = append(bottom, awscloudwatch.NewAlarmWidget(&awscloudwatch.AlarmWidgetProps{
			Title: jsii.String(r.Region + ": " + name + " (dead-letter queue depth)"), Region: jsii.String(r.Region),
			Width: jsii.Number(12 / float64(len(r.DeadLetterAlarms))), Height: jsii.Number(6), Alarm: imported[name],
		}))
	}
	return [][]awscloudwatch.IWidget{{text("## "+r.Region+" ("+r.StackName+")", 24, 1)}, top, bottom}
}

// FleetDashboardPropsFor reads the dashboard's contents from the synthesized central stacks: every region's
// rules per tier and alarms, by the names their templates give them (plain strings: a token of another
// region's stack would be a cross-region reference, which CloudFormation has not).
func FleetDashboardPropsFor(cfg Config, central []*CentralStack) FleetDashboardProps {
	p := FleetDashboardProps{
		Name:    cfg.FleetDashboardName(),
		Account: cfg.Fleet.SecurityAccount,
		Intro: "# kmsguard fleet " + cfg.StackName + ", organization " + cfg.Fleet.OrganizationID + "\n" +
			"Regions " + strings.Join(cfg.Fleet.Regions, ", ") + " (home " + cfg.HomeRegion() + "), from the security account's own metrics: " +
			"the central rules that render alerts, the emails, the dead-letter queues and every alarm. Each alert email names the member account; " +
			"replay a member's logs with `kmsguard-replay` (docs/fleet.md, \"Dashboard\").",
	}
	for _, c := range central {
		panel := FleetRegionPanel{Region: c.Region, StackName: cfg.CentralStackName(c.Region)}
		for _, tier := range cfg.FleetTiers() {
			// The rendering rules are on the tier's bus; the audit-tamper tier also has the rules on the
			// security account's default bus that watch the central pipeline itself, and in the home region
			// those on failed stack instances (docs/fleet.md, "Failed stack instances").
			t := FleetTierRules{Tier: tier.Name, Rules: c.ruleRefs(c.Rules[tier.Name], cfg.TierBusName(tier))}
			if tier.Name == detection.AuditTamper.Name {
				t.Rules = append(t.Rules, c.ruleRefs(c.Rules[detection.AuditTamper.Name+"-central"], "")...)
				t.Rules = append(t.Rules, c.ruleRefs(c.FailedInstanceRules, "")...)
			}
			panel.Tiers = append(panel.Tiers, t)
		}
		for _, d := range c.DeadLetters {
			panel.DeadLetterAlarms = append(panel.DeadLetterAlarms, *d.Alarm.AlarmName())
		}
		for _, child := range *c.Stack.Node().FindAll(cdkconstructs.ConstructOrder_PREORDER) {
			if a, ok := child.(awscloudwatch.CfnAlarm); ok {
				panel.AlarmNames = append(panel.AlarmNames, *a.AlarmName())
			}
		}
		slices.Sort(panel.AlarmNames)
		p.Regions = append(p.Regions, panel)
	}
	if cfg.Fleet.OrgTrailLogGroup != "" {
		a := &FleetAccountPanel{Region: cfg.HomeRegion(), Namespace: fleetNamespace(cfg)}
		titles := map[string]string{
			"KeyUserKmsCallsByAccount":      "KMS calls of the server user and key administrator, by member account",
			"KeyUserDeniedByAccount":        "Calls refused to them, by member account",
			"AlertPipelineChangesByAccount": "Changes to " + cfg.StackName + "-* rules, by member account",
		}
		for _, f := range FleetAccountFilters(cfg) {
			a.Metrics = append(a.Metrics, FleetAccountMetric{MetricName: f.MetricName, Title: titles[f.MetricName]})
		}
		p.Accounts = a
	}
	return p
}

// ruleRefs are the names of c's rules on bus, as their templates give them (the rules name their bus by
// a reference, so the bus name comes from the configuration).
func (c *CentralStack) ruleRefs(rules []awsevents.CfnRule, bus string) []FleetRuleRef {
	var out []FleetRuleRef
	for _, r := range rules {
		name, ok := c.ruleNames[r]
		if !ok {
			panic("stacks: a central rule not made by CentralStack.newRule: " + *r.Node().Path())
		}
		out = append(out, FleetRuleRef{Name: name, Bus: bus})
	}
	return out
}

// fleetNamespace is the metric namespace of the home central stack's filters on orgTrailLogGroup.
func fleetNamespace(cfg Config) string { return "kmsguard/" + cfg.StackName }

// addFleetDashboard puts the dashboard, and with orgTrailLogGroup the per-account filters, in the home
// central stack c, reading every region's central stack.
func (c *CentralStack) addFleetDashboard(cfg Config, central []*CentralStack) {
	d := &FleetDashboard{}
	if cfg.Fleet.OrgTrailLogGroup != "" {
		props := detection.Props{
			Targets:   detection.Targets{NamePrefix: cfg.StackName, LogGroupName: cfg.Fleet.OrgTrailLogGroup},
			LogGroup:  awslogs.LogGroup_FromLogGroupName(c.Stack, jsii.String("OrgTrailLogGroupForDashboard"), jsii.String(cfg.Fleet.OrgTrailLogGroup)),
			Namespace: fleetNamespace(cfg),
		}
		// Threshold 0: no alarm, the metrics feed the dashboard only.
		d.AccountFilters = detection.NewMetricAlarms(c.Stack, props, FleetAccountFilters(cfg), nil)
	}
	d.Dashboard = NewFleetDashboard(c.Stack, "FleetDashboard", FleetDashboardPropsFor(cfg, central))
	c.Dashboard = d
}
