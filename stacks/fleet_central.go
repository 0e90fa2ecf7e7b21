package stacks

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/alerting"
	"github.com/kmsguard/kmsguard/constructs/detection"
)

// MaxTemplateBody is CloudFormation's limit on a template passed inline (TemplateBody), in bytes
// (docs/aws-facts.md, "Fleet"). A StackSet template over it goes through TemplateURL, as a file asset of
// the home central stack (setStackSetTemplate; docs/fleet.md, "Template size").
const MaxTemplateBody = 51200

// StackSetTemplate is one StackSet's template: its name, the regions of its instances and the body.
type StackSetTemplate struct {
	Name    string
	Regions []string
	// Capability is what the template's IAM resources require CloudFormation to be told.
	Capability string
	// Body is the template exactly as synthesized, compacted (the TemplateBody while it fits).
	Body string
	// File is the template exactly as synthesized and written for review; when Body is over
	// MaxTemplateBody, these bytes are the file asset TemplateURL points to.
	File []byte
}

// CentralStack is the security account's stack in one region: a bus per tier admitting only the
// organization, the rules rendering the forwarded CloudTrail records into alerts, the two destinations of
// the standalone design with their dead-letter queues and alarms, the tamper rules on the central
// pipeline, and in the home region the StackSets.
type CentralStack struct {
	awscdk.Stack
	Region      string
	Buses       map[string]awsevents.CfnEventBus
	BusPolicies map[string]awsevents.CfnEventBusPolicy
	Alerting    *alerting.Alerting
	Security    *alerting.Alerting
	DeadLetters []*detection.DeadLetters
	// Rules are the rendering rules by tier, and the central tamper rules under AuditTamper.Name+"-central".
	Rules     map[string][]awsevents.CfnRule
	StackSets []awscloudformation.CfnStackSet
	// TemplateAssets are the StackSet templates passed through TemplateURL, by StackSet name.
	TemplateAssets map[string]*TemplateAsset
	// FailedInstanceRules alert on the StackSets' failed stack instances (home region only).
	FailedInstanceRules []awsevents.CfnRule
	// ruleNames are the names every rule above was given, for the dashboard: reading a name back is a
	// round trip to the CDK's process per rule (docs/checks.md, "Benchmark").
	ruleNames map[awsevents.CfnRule]string
	// OrgTrailAlarms are the metric filters and alarms on orgTrailLogGroup (home region only, when set), and
	// OrgTrailHeartbeat the alarm on its silence.
	OrgTrailAlarms    []*detection.Alarm
	OrgTrailHeartbeat awscloudwatch.CfnAlarm
	// Dashboard is the fleet dashboard (home region only; stacks/fleet_dashboard.go).
	Dashboard *FleetDashboard
}

// NewCentralStack builds the central stack of region; stackSets (home region only) are the StackSets it
// owns.
func NewCentralStack(scope cdkconstructs.Construct, cfg Config, region string, stackSets []StackSetTemplate) *CentralStack {
	name := cfg.CentralStackName(region)
	stack := awscdk.NewStack(scope, jsii.String(name), &awscdk.StackProps{
		StackName:             jsii.String(name),
		Env:                   &awscdk.Environment{Account: jsii.String(cfg.Fleet.SecurityAccount), Region: jsii.String(region)},
		Description:           jsii.String("kmsguard fleet central stack (" + region + "): alert buses, rendering rules and destinations for the organization " + cfg.Fleet.OrganizationID),
		TerminationProtection: jsii.Bool(true),
		AnalyticsReporting:    jsii.Bool(false),
	})
	c := &CentralStack{Stack: stack, Region: region, Buses: map[string]awsevents.CfnEventBus{},
		BusPolicies: map[string]awsevents.CfnEventBusPolicy{}, Rules: map[string][]awsevents.CfnRule{},
		ruleNames: map[awsevents.CfnRule]string{}}
	lock := cfg.Lock(stack)
	c.Alerting = alerting.New(stack, "Alerting", alerting.Props{Emails: cfg.AlertEmails, Lock: lock})
	c.Security = alerting.New(stack, "SecurityAlerting", alerting.Props{Emails: cfg.securityDestinationEmails(), Name: "security", Lock: lock})
	// Every alarm notifies both topics, by their ARNs read once (detection.TopicArns).
	actions := detection.TopicArns([]awssns.ITopic{c.Alerting.Topic, c.Security.Topic})
	c.DeadLetters = []*detection.DeadLetters{
		detection.NewDeadLetters(stack, cfg.StackName, "", actions),
		detection.NewDeadLetters(stack, cfg.StackName, "Security", actions),
	}
	routes := []detection.Route{
		{ID: "AlertTopic", TopicArn: actions[0], DeadLetterArn: c.DeadLetters[0].Queue.QueueArn(), Info: true},
		{ID: "SecurityTopic", TopicArn: actions[1], DeadLetterArn: c.DeadLetters[1].Queue.QueueArn()},
	}

	for _, tier := range cfg.FleetTiers() {
		bus := awsevents.NewCfnEventBus(stack, jsii.String(tier.Name+"-bus"), &awsevents.CfnEventBusProps{
			Name:        jsii.String(cfg.TierBusName(tier)),
			Description: jsii.String("kmsguard fleet: the member accounts' " + tier.Name + " events"),
		})
		c.Buses[tier.Name] = bus
		busRef := bus.Ref() // read once for the policy and every rule on the bus
		c.BusPolicies[tier.Name] = awsevents.NewCfnEventBusPolicy(stack, jsii.String(tier.Name+"-bus-policy"), &awsevents.CfnEventBusPolicyProps{
			EventBusName: busRef,
			StatementId:  jsii.String("AllowOrganizationToPutEvents"),
			Statement:    BusPolicyStatement(*bus.AttrArn(), cfg.Fleet.OrganizationID),
		})
		for i, r := range centralRenderings(tier) {
			id := fmt.Sprintf("central-%s-%d", tier.Name, i+1)
			rule := c.renderRule(cfg, tier, id, busRef, r, routes)
			c.Rules[tier.Name] = append(c.Rules[tier.Name], rule)
		}
		if tier.Name == detection.AuditTamper.Name {
			c.Rules[tier.Name] = append(c.Rules[tier.Name], c.renderAlarmRule(cfg, busRef, routes))
		}
	}
	c.addTamperRules(cfg, routes)
	if region == cfg.HomeRegion() && cfg.Fleet.OrgTrailLogGroup != "" {
		c.addOrgTrailAlarms(cfg, actions)
	}
	for _, ss := range stackSets {
		set, asset := newStackSet(stack, cfg, ss)
		c.StackSets = append(c.StackSets, set)
		if asset != nil {
			if c.TemplateAssets == nil {
				c.TemplateAssets = map[string]*TemplateAsset{}
			}
			c.TemplateAssets[ss.Name] = asset
		}
	}
	c.addFailedInstanceRules(cfg, stackSets, routes)
	suppressNag(stack, CentralNagSuppressions())
	// The same warnings as the standalone stack, on every central stack (each is deployed on its own).
	warnAboutWeakChoices(stack, cfg)
	return c
}

// BusPolicyStatement admits events:PutEvents on the bus from the principals of one organization only
// (aws:PrincipalOrgID, docs/aws-facts.md "Fleet").
func BusPolicyStatement(busArn, organizationID string) map[string]any {
	return map[string]any{
		"Sid":       "AllowOrganizationToPutEvents",
		"Effect":    "Allow",
		"Principal": "*",
		"Action":    "events:PutEvents",
		"Resource":  busArn,
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": organizationID}},
	}
}

// rendering is one central rule on a tier's bus: which forwarded events, and their message.
type rendering struct {
	pattern map[string]any
	attempt bool
}

var (
	noErrorCode  = map[string]any{"detail": map[string]any{"errorCode": []any{map[string]any{"exists": false}}}}
	hasErrorCode = map[string]any{"detail": map[string]any{"errorCode": []any{map[string]any{"exists": true}}}}
)

// centralRenderings split a tier's forwarded events by message. The member rules chose the events; on
// key-danger and audit-tamper, a call with an error code is an attempt (the denials went to the denied
// tier), one without it happened. Every denied event has an error code; key use has none.
func centralRenderings(tier detection.Tier) []rendering {
	switch tier.Name {
	case detection.Denied.Name:
		return []rendering{{pattern: hasErrorCode}}
	case detection.KeyUse.Name:
		return []rendering{{pattern: noErrorCode}}
	}
	if tier.Name == detection.AuditTamper.Name {
		// The members' alarm state changes arrive on this bus too, and have their own rule and message
		// (renderAlarmRule); they carry no errorCode and would otherwise be rendered as a CloudTrail call.
		return []rendering{{pattern: notAlarm(noErrorCode)}, {pattern: notAlarm(hasErrorCode), attempt: true}}
	}
	return []rendering{{pattern: noErrorCode}, {pattern: hasErrorCode, attempt: true}}
}

// notAlarm is pattern restricted to events that are not CloudWatch alarm state changes.
func notAlarm(pattern map[string]any) map[string]any {
	out := map[string]any{"detail-type": []any{map[string]any{"anything-but": []any{AlarmStateChange}}}}
	for k, v := range pattern {
		out[k] = v
	}
	return out
}

// UndeliveredAlarmInputPaths are the fields of a forwarded CloudWatch alarm state change the central email
// shows. The alarm's ARN names the member's account and region whatever the envelope says.
func UndeliveredAlarmInputPaths() map[string]string {
	return map[string]string{
		"alarm":    "$.detail.alarmName",
		"alarmArn": "$.resources[0]",
		"state":    "$.detail.state.value",
		"previous": "$.detail.previousState.value",
		"reason":   "$.detail.state.reason",
		"account":  "$.account",
		"region":   "$.region",
		"time":     "$.time",
	}
}

// UndeliveredAlarmMessage is the central email of a member's undelivered-forwards alarm: which alarm, in
// which account and region, its state, and what to do.
func UndeliveredAlarmMessage(cfg Config) []string {
	return []string{
		"[CRITICAL] kmsguard " + detection.AuditTamper.Name + ": member alarm <alarm> is <state> (account <account>, <region>)",
		"A member account could not forward an event to the security account's buses after EventBridge's retries: " +
			"an alert of that account and region may be missing. It waits for 14 days in the member's UndeliveredForwards queue.",
		"",
		"Alarm:  <alarmArn>",
		"State:  <state> (was <previous>) at <time>",
		"Reason: <reason>",
		"When:   <time> in <region>, account <account>",
		"",
		"Read the queue in that account and region: the UndeliveredForwards queue of the stack instance StackSet-" + cfg.RegionalStackSetName() + "-* " +
			"(aws sqs receive-message --queue-url URL --attribute-names All --message-attribute-names All); " +
			"each message is the event that was not delivered, with the error (docs/fleet.md, \"Undelivered forwards\").",
	}
}

// renderAlarmRule renders the members' undelivered-forwards alarm state changes arriving on the
// audit-tamper bus, to every destination.
func (c *CentralStack) renderAlarmRule(cfg Config, busRef *string, routes []detection.Route) awsevents.CfnRule {
	targets := detection.RuleTargets(routes, UndeliveredAlarmInputPaths(), UndeliveredAlarmMessage(cfg))
	id := "central-undelivered"
	return c.newRule(cfg, id, detection.AuditTamper.Name, &awsevents.CfnRuleProps{
		Description:  jsii.String("kmsguard fleet audit-tamper (critical), rendered centrally: a member's undelivered-forwards alarm changed state"),
		EventBusName: busRef,
		State:        jsii.String("ENABLED"),
		EventPattern: map[string]any{"source": []any{"aws.cloudwatch"}, "detail-type": []any{AlarmStateChange},
			"detail": map[string]any{"alarmName": []any{cfg.UndeliveredForwardsAlarmName()}}},
		Targets: targets,
	})
}

// newRule makes one of the stack's rules, named stackName-id, with its tier in the metadata, and keeps its
// name in ruleNames.
func (c *CentralStack) newRule(cfg Config, id, tier string, props *awsevents.CfnRuleProps) awsevents.CfnRule {
	props.Name = jsii.String(cfg.StackName + "-" + id)
	rule := awsevents.NewCfnRule(c.Stack, jsii.String(id), props)
	rule.AddMetadata(jsii.String("kmsguard:tier"), tier)
	c.ruleNames[rule] = *props.Name
	return rule
}

// FleetInputPaths are the standalone message's fields, with the account and the region taken from the
// CloudTrail record inside the forwarded event (recipientAccountId, awsRegion), the key from the record's
// resources, and the envelope's account and region kept apart: an event forwarded from another bus keeps
// the CloudTrail record as it was (docs/fleet.md, "How an alert travels").
func FleetInputPaths() map[string]string {
	paths := detection.InputPaths()
	paths["account"] = "$.detail.recipientAccountId"
	paths["region"] = "$.detail.awsRegion"
	paths["key"] = "$.detail.resources[0].ARN"
	paths["envAccount"] = "$.account"
	paths["envRegion"] = "$.region"
	return paths
}

// FleetMessage is the central email text of a tier: the standalone message about the key the CloudTrail
// record names, and the envelope's origin.
func FleetMessage(cfg Config, tier detection.Tier, attempt bool) []string {
	subject := cfg.KeyAlias + " (<key>)"
	var lines []string
	if attempt {
		lines = detection.AttemptMessage(tier, subject)
	} else {
		lines = detection.Message(tier, subject)
	}
	return append(lines, "Forwarded by: account <envAccount> in <envRegion> (kmsguard fleet, docs/fleet.md)")
}

// renderRule is one central rule on a tier's bus, with one target per destination that takes the tier.
// The state is the one the member rules have: a forwarded read-only event (KMS Decrypt) is still a
// management event delivered through CloudTrail.
func (c *CentralStack) renderRule(cfg Config, tier detection.Tier, id string, busRef *string, r rendering, routes []detection.Route) awsevents.CfnRule {
	targets := detection.RuleTargets(detection.RoutesFor(routes, tier), FleetInputPaths(), FleetMessage(cfg, tier, r.attempt))
	return c.newRule(cfg, id, tier.Name, &awsevents.CfnRuleProps{
		Description:  jsii.String(fmt.Sprintf("kmsguard fleet %s (%s), rendered centrally: %s", tier.Name, tier.Severity, tier.Meaning)),
		EventBusName: busRef,
		State:        jsii.String(allRuleState),
		EventPattern: r.pattern,
		Targets:      targets,
	})
}

// stackSetEvents change or remove a StackSet or its instances; CloudTrail records them in the account that
// calls them, the delegated administrator (docs/aws-facts.md, "Fleet").
var stackSetEvents = []string{"DeleteStackInstances", "DeleteStackSet", "UpdateStackInstances", "UpdateStackSet"}

// busEvents change who may put events on a bus, or remove it.
var busEvents = []string{"DeleteEventBus", "PutPermission", "RemovePermission", "UpdateEventBus"}

// FleetTamperPattern matches a change to the fleet's StackSets (in the home region, where they live) or to
// the central buses and their policies.
func FleetTamperPattern(cfg Config) map[string]any {
	ours := []any{map[string]any{"prefix": cfg.StackName + "-"}}
	return map[string]any{"detail-type": []any{"AWS API Call via CloudTrail"}, "detail": map[string]any{"$or": []any{
		map[string]any{"eventSource": []any{"cloudformation.amazonaws.com"}, "eventName": strList(stackSetEvents),
			"requestParameters": map[string]any{"stackSetName": []any{
				map[string]any{"prefix": cfg.RegionalStackSetName()}, map[string]any{"prefix": cfg.IdentityStackSetName()}}}},
		map[string]any{"eventSource": []any{"events.amazonaws.com"}, "eventName": strList(busEvents),
			"requestParameters": map[string]any{"name": ours}},
		map[string]any{"eventSource": []any{"events.amazonaws.com"}, "eventName": strList(busEvents),
			"requestParameters": map[string]any{"eventBusName": ours}},
	}}}
}

func strList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// addTamperRules watches the central pipeline on the security account's default bus: the standalone
// audit-tamper patterns on its topics, keys, queues, rules, alarms and stack, the watchdog, and the fleet's
// StackSets and buses.
func (c *CentralStack) addTamperRules(cfg Config, routes []detection.Route) {
	stackName := cfg.CentralStackName(c.Region)
	t := detection.Targets{
		NamePrefix:          cfg.StackName,
		KeyAlias:            cfg.KeyAlias,
		TopicArns:           []string{*c.Alerting.Topic.TopicArn(), *c.Security.Topic.TopicArn()},
		DeadLetterQueueURLs: []string{*c.DeadLetters[0].Queue.QueueUrl(), *c.DeadLetters[1].Queue.QueueUrl()},
		AuditKeyArns:        []string{*c.Alerting.Key.KeyArn(), *c.Security.Key.KeyArn()},
		StackName:           stackName,
		// The organization trail's log group, in the home region: deleting its metric filters or its
		// subscriptions silences the metric-filter route.
		LogGroupName: c.orgTrailLogGroupName(cfg),
		StackArnPrefix: *c.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
			ResourceName: jsii.String(stackName + "/"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME}),
	}
	patterns := detection.AuditTamperPatterns(t)
	ids := make([]string, 0, len(patterns)+2)
	for i := range patterns {
		ids = append(ids, fmt.Sprintf("%s-%d", detection.AuditTamper.Name, i+1))
	}
	patterns = append(patterns, detection.WatchdogPattern(t, detection.RuleWatchers(t)), FleetTamperPattern(cfg))
	ids = append(ids, detection.WatchdogID, detection.AuditTamper.Name+"-fleet")
	subject := "the fleet's alert pipeline in the security account (" + stackName + ")"
	key := detection.AuditTamper.Name + "-central"
	for i, pattern := range patterns {
		targets := detection.RuleTargets(routes, detection.InputPaths(), detection.MessageFor(detection.AuditTamper, subject, pattern))
		c.Rules[key] = append(c.Rules[key], c.newRule(cfg, ids[i], detection.AuditTamper.Name, &awsevents.CfnRuleProps{
			Description:  jsii.String("kmsguard fleet audit-tamper (critical): " + detection.AuditTamper.Meaning),
			State:        jsii.String("ENABLED"),
			EventPattern: pattern,
			Targets:      targets,
		}))
	}
}

// newStackSet is one service-managed StackSet: auto-deployment to the target OUs' accounts (also those
// added later), called as the delegated administrator, one account in ten failing at most before an
// operation stops, a quarter of the accounts at a time, and regions in parallel. Its template is inline or
// a file asset (setStackSetTemplate), which is returned.
func newStackSet(stack awscdk.Stack, cfg Config, ss StackSetTemplate) (awscloudformation.CfnStackSet, *TemplateAsset) {
	set := awscloudformation.NewCfnStackSet(stack, jsii.String(ss.Name), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(ss.Name),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String("DELEGATED_ADMIN"),
		Description:     jsii.String("kmsguard fleet: " + ss.Name + " (docs/fleet.md)"),
		Capabilities:    jsii.Strings(ss.Capability),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled: jsii.Bool(true),
			// An account leaving the OUs keeps its key (the key is retained anyway: losing it loses every table).
			RetainStacksOnAccountRemoval: jsii.Bool(true),
		},
		ManagedExecution:     map[string]any{"Active": true},
		OperationPreferences: operationPreferences(cfg, ss),
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{OrganizationalUnitIds: jsii.Strings(cfg.Fleet.TargetOus...)},
			Regions:           jsii.Strings(ss.Regions...),
		}},
	})
	set.AddMetadata(jsii.String("kmsguard:stackset"), ss.Name)
	return set, setStackSetTemplate(stack, set, ss)
}

// operationPreferences are the StackSet's: regions in parallel, except for the regional StackSet of a
// multi-Region key, whose replicas need the home region's primary first: one region at a time, in the
// order of regions, home first (docs/fleet.md, "Multi-Region key"). An operation stopped in a region
// is not attempted in the regions after it.
func operationPreferences(cfg Config, ss StackSetTemplate) *awscloudformation.CfnStackSet_OperationPreferencesProperty {
	p := &awscloudformation.CfnStackSet_OperationPreferencesProperty{
		FailureTolerancePercentage: jsii.Number(10),
		MaxConcurrentPercentage:    jsii.Number(25),
		RegionConcurrencyType:      jsii.String("PARALLEL"),
	}
	if cfg.Fleet.MultiRegionKey && ss.Name == cfg.RegionalStackSetName() {
		p.RegionConcurrencyType = jsii.String("SEQUENTIAL")
		p.RegionOrder = jsii.Strings(cfg.Fleet.Regions...)
	}
	return p
}

// keyScopedFilters are the standalone metric filters that name one master key by its ARN or id. On the
// organization trail every member account has its own key, unknown to the central stack; the member's
// EventBridge rules, which know it, watch the key instead (docs/fleet.md, "The organization trail's log
// group").
var keyScopedFilters = []string{"KeyCalls", "KeyDenied", "KeyDisabledOrScheduledForDeletion"}

// OrgTrailFilters are the standalone metric filters (constructs/detection MetricFilters) the home central
// stack puts on the organization trail's log group: all but the key-scoped ones, for the users every member
// account has by the same names, and the rules and alarms named stackName-... in any account.
func OrgTrailFilters(cfg Config) []detection.MetricFilter {
	t := detection.Targets{NamePrefix: cfg.StackName, KeyAlias: cfg.KeyAlias, UserNames: cfg.memberUserNames(), KeyUserRoleNames: cfg.memberKeyUserRoleNames()}
	var out []detection.MetricFilter
	for _, f := range detection.MetricFilters(t) {
		if !slices.Contains(keyScopedFilters, f.ID) {
			out = append(out, f)
		}
	}
	return out
}

// addOrgTrailAlarms puts OrgTrailFilters and the heartbeat on orgTrailLogGroup, imported by name (it lives
// in the security account, made by the organization trail), every alarm notifying both destinations. The
// organization trail brings IAM's events, recorded in us-east-1, whatever the regions of the fleet. actions
// are both destinations' topic ARNs.
func (c *CentralStack) addOrgTrailAlarms(cfg Config, actions []*string) {
	props := detection.Props{
		Targets:   detection.Targets{NamePrefix: cfg.StackName, LogGroupName: cfg.Fleet.OrgTrailLogGroup},
		LogGroup:  awslogs.LogGroup_FromLogGroupName(c.Stack, jsii.String("OrgTrailLogGroup"), jsii.String(cfg.Fleet.OrgTrailLogGroup)),
		Namespace: "kmsguard/" + cfg.StackName,
	}
	c.OrgTrailAlarms = detection.NewMetricAlarms(c.Stack, props, OrgTrailFilters(cfg), actions)
	// CloudWatch takes a dimension value of at most 255 characters (as standalone).
	if len(cfg.Fleet.OrgTrailLogGroup) <= 255 {
		c.OrgTrailHeartbeat = detection.NewHeartbeat(c.Stack, props, actions)
	}
}

// orgTrailLogGroupName is orgTrailLogGroup in the home region's central stack, which puts its filters on it;
// "" elsewhere.
func (c *CentralStack) orgTrailLogGroupName(cfg Config) string {
	if c.Region == cfg.HomeRegion() {
		return cfg.Fleet.OrgTrailLogGroup
	}
	return ""
}
