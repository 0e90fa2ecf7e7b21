// Package stacks wires the kmsguard constructs into the one stack an operator deploys, from a validated
// Config.
package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/alerting"
	"github.com/kmsguard/kmsguard/constructs/audittrail"
	"github.com/kmsguard/kmsguard/constructs/detection"
	"github.com/kmsguard/kmsguard/constructs/keyadmin"
	"github.com/kmsguard/kmsguard/constructs/masterkey"
	"github.com/kmsguard/kmsguard/constructs/serveruser"
)

// GuardStack exposes every part, so tests and later constructs can reach them without searching the tree.
type GuardStack struct {
	awscdk.Stack
	Config     Config
	MasterKey  *masterkey.MasterKey
	KeyAdmin   *keyadmin.KeyAdmin     // nil when the operator named an existing administrator (adminUserArn)
	ServerUser *serveruser.ServerUser // nil when the operator named existing key users
	AuditTrail *audittrail.AuditTrail // nil when the operator named an existing trail (existingTrailArn)
	Alerting   *alerting.Alerting     // the "alerts" destination: alertEmails, and the informational key-use tier
	// Security is the second, independent destination: securityEmails (or alertEmails), critical tiers only.
	Security  *alerting.Alerting
	Detection *detection.Detection
}

// NewGuardStack builds the stack. It validates cfg again (cheaply) so that code that builds a Config by
// hand gets the same errors as `cdk synth`, and panics rather than synthesize a weakened policy.
func NewGuardStack(scope cdkconstructs.Construct, cfg Config) *GuardStack {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	stack := awscdk.NewStack(scope, jsii.String(cfg.StackName), &awscdk.StackProps{
		Description: jsii.String("kmsguard: MariaDB aws_key_management master key, key policy, audit trail and alerts"),
		// Deleting this stack by mistake must take a deliberate second step.
		TerminationProtection: jsii.Bool(true),
		// No CDK telemetry resource: the template holds only what the operator reviews.
		AnalyticsReporting: jsii.Bool(false),
	})
	g := &GuardStack{Stack: stack, Config: cfg}
	lock := cfg.Lock(stack) // who may still make the locked changes (docs/aws-facts.md, "Locked changes")

	adminArn := cfg.AdminUserArn
	if adminArn == "" {
		g.KeyAdmin = keyadmin.New(stack, "KeyAdmin", keyadmin.Props{UserName: cfg.AdminUserName, RequireMfa: cfg.AdminRequireMfa})
		adminArn = *g.KeyAdmin.User.UserArn()
	}
	keyUsers := cfg.KeyUserArns
	if len(keyUsers) == 0 {
		g.ServerUser = serveruser.New(stack, "ServerUser", serveruser.Props{UserName: cfg.ServerUserName})
		keyUsers = []string{*g.ServerUser.User.UserArn()}
	}
	accountRoot := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
		Resource: jsii.String("root"), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME})
	g.MasterKey = masterkey.New(stack, "MasterKey", masterkey.Props{
		Alias:               cfg.KeyAlias,
		AccountID:           *awscdk.Aws_ACCOUNT_ID(),
		AccountRootArn:      *accountRoot,
		KeyUserArns:         keyUsers,
		AdminArn:            adminArn,
		AllowedCidrs:        cfg.AllowedCidrs,
		AllowedVpcEndpoints: cfg.AllowedVpcEndpoints,
		RequireMfa:          cfg.RequireMfa,
		AdminRequireMfa:     cfg.AdminRequireMfa,
		Lock:                lock,
	})
	if cfg.ExistingTrailArn == "" {
		g.AuditTrail = audittrail.New(stack, "AuditTrail", audittrail.Props{TrailName: cfg.TrailName, LogRetentionDays: cfg.LogRetentionDays,
			ObjectLockMode: cfg.ObjectLockMode, Lock: lock})
	}
	// Both destinations carry the same locks (README.md, "Locked changes").
	g.Alerting = alerting.New(stack, "Alerting", alerting.Props{Emails: cfg.AlertEmails, Lock: lock})
	g.Security = alerting.New(stack, "SecurityAlerting", alerting.Props{Emails: cfg.securityDestinationEmails(), Name: "security", Lock: lock})
	// The metric filters read the audit log group: the stack's own, an existing trail's when named, or none
	// (that route is then off, with a warning).
	var logGroup interfacesawslogs.ILogGroupRef
	switch {
	case g.AuditTrail != nil:
		logGroup = g.AuditTrail.LogGroup
	case cfg.ExistingTrailLogGroup != "":
		logGroup = awslogs.LogGroup_FromLogGroupName(stack, jsii.String("ExistingTrailLogGroup"), jsii.String(cfg.ExistingTrailLogGroup))
	}
	g.Detection = detection.New(stack, "Detection", detection.Props{
		Targets: g.detectionTargets(adminArn, keyUsers),
		Destinations: []detection.Destination{
			{Topic: g.Alerting.Topic, Info: true},
			{ID: "Security", Topic: g.Security.Topic},
		},
		LogGroup:     logGroup,
		NotifyKeyUse: cfg.NotifyKeyUse,
		Namespace:    "kmsguard/" + cfg.StackName,
	})

	g.warnAboutWeakSettings()
	g.addOutputs()
	g.applyNagSuppressions() // stacks/nag.go: accepted cdk-nag findings, each with its reason
	return g
}

// detectionTargets names everything the alerts watch. Rules and alarms are named after the stack so that
// the tamper rules can recognise them.
func (g *GuardStack) detectionTargets(adminArn string, keyUsers []string) detection.Targets {
	cfg := g.Config
	users := []string{adminArn}
	var roles []string
	for _, arn := range keyUsers {
		if strings.Contains(arn, ":role/") {
			roles = append(roles, principalName(arn))
		} else {
			users = append(users, arn)
		}
	}
	aliasArn := g.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kms"), Resource: jsii.String("alias"),
		ResourceName: jsii.String(strings.TrimPrefix(cfg.KeyAlias, "alias/")), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})
	t := detection.Targets{
		KeyArn:       *g.MasterKey.Key.AttrArn(),
		KeyID:        *g.MasterKey.Key.AttrKeyId(),
		KeyAlias:     cfg.KeyAlias,
		AliasArn:     *aliasArn,
		AuditKeyArns: []string{*g.Alerting.Key.KeyArn(), *g.Security.Key.KeyArn()},
		TrailName:    cfg.WatchedTrailName(),
		NamePrefix:   cfg.StackName,
		UserArns:     users,
		UserNames:    cfg.watchedUserNames(),
		// What else can silence the alerts or hand out the key: the stack itself, the trail's delivery role
		// and the key users that are roles.
		KeyUserRoleNames: roles,
		StackName:        cfg.StackName,
		StackArnPrefix: *g.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
			ResourceName: jsii.String(cfg.StackName + "/"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME}),
	}
	if g.AuditTrail == nil {
		// An existing trail: its bucket, key and delivery role are not ours and not known here; its log group
		// is watched by the name the operator gives (README.md, "Using an existing trail").
		return t
	}
	t.AuditKeyArns = append([]string{*g.AuditTrail.AuditKey.KeyArn()}, t.AuditKeyArns...)
	t.BucketNames = []string{*g.AuditTrail.Bucket.BucketName(), *g.AuditTrail.AccessLogBucket.BucketName()}
	t.DeliveryRoleName = *g.AuditTrail.DeliveryRole.RoleName()
	t.DeliveryPolicyArn = *g.AuditTrail.DeliveryPolicy.ManagedPolicyArn()
	return t
}

// warnAboutWeakSettings flags choices that are allowed but leave a gap; `cdk synth --strict` turns them
// into errors for teams that want that.
func (g *GuardStack) warnAboutWeakSettings() {
	warnAboutWeakChoices(g.Stack, g.Config)
	ann := awscdk.Annotations_Of(g.Stack)
	if g.Config.ExistingTrailArn != "" {
		ann.AddWarningV2(jsii.String("kmsguard:existingTrail"), jsii.String(ExistingTrailWarning), nil)
		if g.Config.ExistingTrailLogGroup == "" {
			ann.AddWarningV2(jsii.String("kmsguard:noMetricFilterRoute"), jsii.String(NoMetricFilterRouteWarning), nil)
		}
	}
}

// warnAboutWeakChoices flags, on stack, the choices both shapes allow but that leave a gap: the example
// values, an accepted risk, the security destination falling back to alertEmails.
func warnAboutWeakChoices(stack awscdk.Stack, cfg Config) {
	ann := awscdk.Annotations_Of(stack)
	if len(cfg.ExampleFilled) > 0 {
		ann.AddWarningV2(jsii.String("kmsguard:exampleConfiguration"), jsii.String(
			"EXAMPLE configuration (example=true): "+strings.Join(cfg.ExampleFilled, ", ")+" stand in for settings cdk.json leaves unset. "+
				"Never deploy it: set them in cdk.json (README.md, \"Safe by default\")"), nil)
	}
	if cfg.accepts(RiskAnyNetwork) {
		ann.AddWarningV2(jsii.String("kmsguard:noNetworkRestriction"), jsii.String(
			"acceptRisks records any-network: stolen credentials can use the master key from anywhere"), nil)
	}
	if cfg.accepts(RiskNoAlertSubscriber) {
		ann.AddWarningV2(jsii.String("kmsguard:noAlertEmails"), jsii.String(
			"acceptRisks records no-alert-subscriber: alerts go to topics nobody is subscribed to until you subscribe someone"), nil)
	}
	if len(cfg.SecurityEmails) == 0 && len(cfg.AlertEmails) > 0 {
		ann.AddWarningV2(jsii.String("kmsguard:securityEmailsFallback"), jsii.String(
			"securityEmails is empty: the security destination mails the alertEmails addresses, so whoever reads (or unsubscribes) "+
				"those mailboxes controls both destinations; set securityEmails to another team (README.md, \"Two alert destinations\")"), nil)
	}
}

// ExistingTrailWarning says what the tamper tier covers when the trail is not the stack's own.
const ExistingTrailWarning = "existingTrailArn: the stack uses a trail it does not own. The audit-tamper and denied tiers " +
	"watch that trail by its name (StopLogging, DeleteTrail, UpdateTrail, event selectors), but not its S3 bucket, " +
	"its log files or its KMS key, which the stack does not know; and a trail of another account (an organization " +
	"trail) is changed in that account, where these rules never see it. Protect them where they are owned " +
	"(README.md, \"Using an existing trail\")"

// NoMetricFilterRouteWarning says exactly what is lost without the existing trail's log group.
const NoMetricFilterRouteWarning = "existingTrailArn without existingTrailLogGroup: the metric-filter route is off. " +
	"Lost: the alarms UnauthorizedCalls, KeyDenied, KeyDisabledOrScheduledForDeletion, CloudTrailChanges, " +
	"ConsoleSignInWithoutMfa, AlertPipelineChanges, KeyPrincipalChanges, KeyPrincipalReplaced, KeyPrincipalSessions and " +
	"RoleChanges, the AuditLogHeartbeat, and the dashboard's " +
	"graphs and latest-events table. Changes to the key administrator's and key users' credentials, MFA devices and " +
	"permissions, and their deletion and re-creation, then raise no alert at all (IAM events reach EventBridge only " +
	"in us-east-1), nor does a trail change made in another region. The EventBridge tiers are unaffected. " +
	"Set existingTrailLogGroup to the trail's CloudWatch Logs log group to keep them"

func (g *GuardStack) addOutputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(g.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("KeyArn", "Master key ARN (aws_key_management_master_key_id may also use the alias)", g.MasterKey.Key.AttrArn())
	out("KeyId", "Master key id (kms-manage-key --key-id)", g.MasterKey.Key.AttrKeyId())
	out("KeyAlias", "Master key alias", jsii.String(g.Config.KeyAlias))
	adminArn := jsii.String(g.Config.AdminUserArn)
	if g.KeyAdmin != nil {
		adminArn = g.KeyAdmin.User.UserArn()
	}
	out("AdminUserArn", "Key administrator: create its access key and MFA device by hand", adminArn)
	if g.ServerUser != nil {
		out("ServerUserArn", "MariaDB server user: create its access key by hand", g.ServerUser.User.UserArn())
	}
	out("AlertTopicArn", "Alert topic: confirm each email subscription", g.Alerting.Topic.TopicArn())
	out("SecurityAlertTopicArn", "Second, independent alert topic (securityEmails): confirm each email subscription", g.Security.Topic.TopicArn())
	if g.AuditTrail == nil {
		out("TrailArn", "The existing trail the alerts rely on (existingTrailArn; not managed by this stack)", jsii.String(g.Config.ExistingTrailArn))
		if g.Config.ExistingTrailLogGroup != "" {
			out("AuditLogGroupName", "The existing trail's log group the metric filters watch (existingTrailLogGroup)", jsii.String(g.Config.ExistingTrailLogGroup))
		}
	} else {
		out("TrailArn", "CloudTrail trail that records every call on the key", g.AuditTrail.Trail.AttrArn())
		out("TrailBucketName", "S3 bucket with the trail's log files", g.AuditTrail.Bucket.BucketName())
		out("AuditLogGroupName", "CloudWatch Logs log group with the trail's events", g.AuditTrail.LogGroup.Ref())
		// The rest of what the alert rules watch, so that kmsguard-replay --outputs resolves every reference
		// (docs/outputs.md).
		out("AccessLogBucketName", "S3 bucket with the trail bucket's server access logs", g.AuditTrail.AccessLogBucket.BucketName())
		out("AuditKeyArn", "Audit key (trail log files and the audit log group)", g.AuditTrail.AuditKey.KeyArn())
		out("DeliveryRoleName", "Role CloudTrail uses to write to the audit log group (the tamper rules watch it)", g.AuditTrail.DeliveryRole.RoleName())
		out("DeliveryPolicyArn", "The delivery role's managed policy (the tamper rules watch its versions)", g.AuditTrail.DeliveryPolicy.ManagedPolicyArn())
	}
	out("AlertTopicKeyArn", "Alert topic's key", g.Alerting.Key.KeyArn())
	out("SecurityAlertTopicKeyArn", "Security alert topic's key", g.Security.Key.KeyArn())
	out("DeadLetterQueueUrl", "Undelivered alerts: read them here when the UndeliveredAlerts alarm fires", g.Detection.DeadLetters[0].Queue.QueueUrl())
	out("SecurityDeadLetterQueueUrl", "Undelivered security alerts: read them here when the SecurityUndeliveredAlerts alarm fires", g.Detection.DeadLetters[1].Queue.QueueUrl())
}
