package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/detection"
	"github.com/kmsguard/kmsguard/constructs/keyadmin"
	"github.com/kmsguard/kmsguard/constructs/masterkey"
	"github.com/kmsguard/kmsguard/constructs/serveruser"
	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// Names of the fleet's stacks, StackSets and buses (docs/fleet.md). They derive from stackName, so two
// fleets with different stack names never collide.

// RegionalStackSetName is the StackSet of the member accounts' regional stacks (key and forwarding rules).
func (c Config) RegionalStackSetName() string { return c.StackName + "-Regional" }

// IdentityStackSetName is the StackSet of the member accounts' users (one region per account).
func (c Config) IdentityStackSetName() string { return c.StackName + "-Identity" }

// CentralStackName is the security account's stack in region.
func (c Config) CentralStackName(region string) string { return c.StackName + "-Central-" + region }

// TierBusName is the central event bus of one tier, the same name in every region: a member forwards each
// tier to its own bus, so the centre knows the tier of every event without matching it again.
func (c Config) TierBusName(t detection.Tier) string { return c.StackName + "-" + t.Name }

// FleetTiers are the tiers the fleet forwards and renders: every critical tier, and key use when
// notifyKeyUse is on.
func (c Config) FleetTiers() []detection.Tier {
	tiers := []detection.Tier{detection.KeyDanger, detection.Denied, detection.AuditTamper}
	if c.NotifyKeyUse {
		tiers = append(tiers, detection.KeyUse)
	}
	return tiers
}

// StackSetsExecRoleName is the name pattern of the role service-managed StackSets deploys through in every
// target account, stacksets-exec-* (docs/aws-facts.md, "Fleet"). The member key policy exempts it from the
// locked changes as the standalone policy exempts the CDK bootstrap's execution role: KMS refuses a key
// policy that locks out the principal setting it.
const StackSetsExecRoleName = "stacksets-exec-*"

// allRuleState is the rule state of every forwarding rule: the key-use and key-danger tiers need read-only
// management events (KMS Decrypt), and forwarding every tier in one state keeps the member's rules alike.
const allRuleState = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

// newStackSetStack is a stack whose template can be a StackSet's TemplateBody: no assets, no bootstrap
// version parameter or rule (BootstraplessSynthesizer refuses assets), no environment (account and region
// are the pseudo-parameters of each stack instance).
func newStackSetStack(scope cdkconstructs.Construct, id, description string) awscdk.Stack {
	return awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description:        jsii.String(description),
		Synthesizer:        awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
		AnalyticsReporting: jsii.Bool(false),
	})
}

// memberUserArn is the ARN of a user the identity StackSet creates, in the stack instance's own account.
func memberUserArn(stack awscdk.Stack, name string) string {
	return *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
		Resource: jsii.String("user"), ResourceName: jsii.String(name)})
}

// memberRoleArns are the ARNs of roles in the stack instance's own account.
func memberRoleArns(stack awscdk.Stack, roles []MemberRole) []string {
	var out []string
	for _, r := range roles {
		out = append(out, *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
			Resource: jsii.String("role"), ResourceName: jsii.String(r.ResourceName())}))
	}
	return out
}

// memberUserNames are the IAM users of every member account that the rules and filters watch: the key
// administrator, and the server user unless keyUserRoleNames replaces it.
func (c Config) memberUserNames() []string {
	if len(c.Fleet.KeyUserRoleNames) > 0 {
		return []string{c.AdminUserName}
	}
	return []string{c.AdminUserName, c.ServerUserName}
}

// memberKeyUserRoleNames are the key-user roles by name, as IAM's role APIs name them (without the path).
func (c Config) memberKeyUserRoleNames() []string {
	var out []string
	for _, r := range memberRoles(c.Fleet.KeyUserRoleNames) {
		out = append(out, r.Name)
	}
	return out
}

// MemberStack is the regional StackSet template: in every target account and region, the master key with
// the standalone key policy and the rules that forward each tier's raw events to the central bus of the
// region. It has no trail and nothing that emails locally.
type MemberStack struct {
	awscdk.Stack
	MasterKey   *masterkey.MasterKey
	ForwardRole awsiam.Role
	DeadLetters awssqs.Queue
	Rules       map[string][]awsevents.CfnRule
	// UndeliveredAlarm turns red when a forward sits in DeadLetters; it has no action (a member emails
	// nobody): AlarmForward sends its state changes to the central audit-tamper bus instead.
	UndeliveredAlarm awscloudwatch.CfnAlarm
	AlarmForward     awsevents.CfnRule
	// Replica and PrimaryKeyArn are the replica key (created in every region but the home one) and the
	// secret that carries the primary key's ARN to those regions (created in the home region), with
	// multiRegionKey; else nil.
	Replica       awskms.CfnReplicaKey
	PrimaryKeyArn awssecretsmanager.CfnSecret
	// Trail and TrailBucket are the member trail (memberTrail=true), else nil.
	Trail       awscloudtrail.CfnTrail
	TrailBucket awss3.Bucket

	// forward is what every forwarding rule's target names, read or built once: each read and each ARN
	// built is a round trip to the CDK's process (docs/checks.md, "Benchmark").
	forward struct {
		roleArn, deadLetterArn *string
		busArn                 map[string]*string // by tier name
	}
}

// MemberTrailName is the name of the member trail (memberTrail=true) in every member account-region.
func (c Config) MemberTrailName() string { return c.StackName + "-member-trail" }

// NewMemberStack builds the regional template of cfg's fleet.
func NewMemberStack(scope cdkconstructs.Construct, cfg Config) *MemberStack {
	stack := newStackSetStack(scope, cfg.RegionalStackSetName(),
		"kmsguard fleet member (StackSet "+cfg.RegionalStackSetName()+"): MariaDB master key and the rules forwarding its alerts to the security account")
	m := &MemberStack{Stack: stack, Rules: map[string][]awsevents.CfnRule{}}
	// The users come from the identity StackSet. They are named by aws:PrincipalArn conditions, never as
	// principals, so the key policy does not depend on them existing yet (constructs/masterkey, PolicyDocument).
	adminArn := memberUserArn(stack, cfg.AdminUserName)
	// The key users: the server user, or the roles of keyUserRoleNames (then the identity StackSet creates
	// no server user), as keyUserArns replaces it standalone. Roles, like the users, are named by
	// aws:PrincipalArn conditions only, so they may be created after the key.
	keyUsers := []string{memberUserArn(stack, cfg.ServerUserName)}
	users := []string{adminArn, keyUsers[0]}
	if roles := memberRoles(cfg.Fleet.KeyUserRoleNames); len(roles) > 0 {
		keyUsers = memberRoleArns(stack, roles)
		users = []string{adminArn}
	}
	execRole := *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
		Resource: jsii.String("role"), ResourceName: jsii.String(StackSetsExecRoleName)})
	accountRoot := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
		Resource: jsii.String("root"), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME})
	// The break-glass roles of breakGlassRoleNames, in this account, beside the StackSets execution role.
	lock := lockdown.Exemptions{BreakGlassArns: memberRoleArns(stack, memberRoles(cfg.Fleet.BreakGlassRoleNames)),
		DeployRoleArns: []string{execRole}}
	keyProps := masterkey.Props{
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
		MultiRegion:         cfg.Fleet.MultiRegionKey,
	}
	m.MasterKey = masterkey.New(stack, "MasterKey", keyProps)
	// The key the rules watch: the master key, or in a replica region its replica (same key id).
	keyArn, keyID := *m.MasterKey.Key.AttrArn(), *m.MasterKey.Key.AttrKeyId()
	if cfg.Fleet.MultiRegionKey {
		keyArn, keyID = m.multiRegionKey(cfg, keyProps)
	}

	// Undelivered forwards wait here for 14 days (EventBridge retries for up to a day first).
	m.DeadLetters = awssqs.NewQueue(stack, jsii.String("UndeliveredForwards"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	m.forward.deadLetterArn = m.DeadLetters.QueueArn()
	m.DeadLetters.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowKmsguardRulesToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{m.forward.deadLetterArn},
		Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("events"), Resource: jsii.String("rule"), ResourceName: jsii.String(cfg.StackName + "-*"),
		})}},
	}))

	// The role EventBridge puts events on the central buses with: a bus in another account that admits an
	// organization requires one (docs/aws-facts.md, "Fleet").
	m.ForwardRole = awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("kmsguard fleet: EventBridge forwards the alert tiers to the security account's buses"),
	})
	m.forward.roleArn = m.ForwardRole.RoleArn()
	m.forward.busArn = map[string]*string{}
	var busArns []*string
	for _, tier := range cfg.FleetTiers() {
		arn := jsii.String(cfg.centralBusArn(stack, tier))
		m.forward.busArn[tier.Name] = arn
		busArns = append(busArns, arn)
	}
	// A managed policy rather than an inline one (NIST 800-53 R5 IAMNoInlinePolicy).
	awsiam.NewManagedPolicy(stack, jsii.String("ForwardPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("kmsguard fleet: put events on the security account's tier buses"),
		Roles:       &[]awsiam.IRole{m.ForwardRole},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("events:PutEvents"),
			Resources: &busArns,
		})},
	})

	if cfg.Fleet.MemberTrail {
		m.newMemberTrail(cfg)
	}
	t := detection.Targets{
		KeyArn:     keyArn,
		KeyID:      keyID,
		KeyAlias:   cfg.KeyAlias,
		AliasArn:   *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kms"), Resource: jsii.String("alias"), ResourceName: jsii.String(strings.TrimPrefix(cfg.KeyAlias, "alias/")), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME}),
		NamePrefix: cfg.StackName,
		UserArns:   users,
		UserNames:  cfg.memberUserNames(),
		// Key users that are roles: changes to their trust and policies hand out the key, as standalone.
		KeyUserRoleNames: cfg.memberKeyUserRoleNames(),
		// The forwarding path is in the tamper tier: its rules (by name), its queue and its role.
		DeadLetterQueueURLs: []string{*m.DeadLetters.QueueUrl()},
		DeliveryRoleName:    *m.ForwardRole.RoleName(),
		// StackSets names each stack instance StackSet-NAME-ID.
		StackNamePrefix: "StackSet-" + cfg.RegionalStackSetName() + "-",
		StackArnPrefix: *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"), Resource: jsii.String("stack"),
			ResourceName: jsii.String("StackSet-" + cfg.RegionalStackSetName() + "-"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME}),
	}
	if m.PrimaryKeyArn != nil {
		// The secret that carries the primary key's ARN, in every region (the home region's and its replicas):
		// changed, it would make a replica created later name another primary (docs/fleet.md, "Multi-Region key").
		t.SecretName = cfg.PrimaryKeyArnSecretName()
		t.SecretArnPrefix = *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("secretsmanager"), Resource: jsii.String("secret"),
			ResourceName: jsii.String(cfg.PrimaryKeyArnSecretName()), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	}
	if m.Trail != nil {
		// The member trail and its bucket are in the audit-tamper tier, like the standalone trail.
		t.TrailName = cfg.MemberTrailName()
		t.BucketNames = []string{*m.TrailBucket.BucketName()}
	}
	for _, tier := range cfg.FleetTiers() {
		var patterns []map[string]any
		switch tier.Name {
		case detection.KeyDanger.Name:
			patterns = detection.KeyDangerPatterns(t)
		case detection.Denied.Name:
			patterns = detection.DeniedPatterns(t)
		case detection.AuditTamper.Name:
			patterns = detection.AuditTamperPatterns(t)
		case detection.KeyUse.Name:
			patterns = detection.KeyUsePatterns(t)
		}
		ids := make([]string, len(patterns))
		for i := range patterns {
			ids[i] = fmt.Sprintf("%s-%d", tier.Name, i+1)
		}
		if tier.Name == detection.AuditTamper.Name {
			// The rules that watch rule changes are watched by the watchdog, as in the standalone stack.
			patterns = append(patterns, detection.WatchdogPattern(t, detection.RuleWatchers(t)))
			ids = append(ids, detection.WatchdogID)
		}
		for i, pattern := range patterns {
			m.Rules[tier.Name] = append(m.Rules[tier.Name], m.forwardRule(cfg, tier, ids[i], pattern))
		}
	}
	m.forwardUndeliveredAlarm(cfg)
	suppressNag(stack, MemberNagSuppressions(cfg))
	return m
}

// PrimaryKeyArnSecretName is the secret, in the home region of every member account and replicated to its
// other regions, whose value is the ARN of the multi-Region primary key (multiRegionKey).
func (c Config) PrimaryKeyArnSecretName() string { return c.StackName + "-primary-key-arn" }

// multiRegionKey makes the master key a multi-Region primary in the home region and a replica of it in
// every other region of the stack instance's account, and returns the ARN and the id of the key of the
// instance's region. A replica must name its primary's ARN, whose key id KMS chooses when the primary is
// created, in another region: no CloudFormation function reads another region. The home region's instance
// therefore writes the ARN into a Secrets Manager secret replicated to the other regions, and each replica
// region's instance reads its local copy with a secretsmanager dynamic reference (docs/aws-facts.md,
// "Fleet"). That needs the home region's instance first: the StackSet deploys regions one at a time, home
// first (newStackSet); docs/fleet.md, "Multi-Region key", says what happens otherwise.
func (m *MemberStack) multiRegionKey(cfg Config, props masterkey.Props) (arn, id string) {
	stack := m.Stack
	home := awscdk.NewCfnCondition(stack, jsii.String("IsPrimaryKeyRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(cfg.HomeRegion())),
	})
	replicaRegion := awscdk.NewCfnCondition(stack, jsii.String("IsReplicaKeyRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(home),
	})
	m.MasterKey.Key.CfnOptions().SetCondition(home)
	var replicas []any
	for _, r := range cfg.Fleet.Regions[1:] {
		replicas = append(replicas, &awssecretsmanager.CfnSecret_ReplicaRegionProperty{Region: jsii.String(r)})
	}
	m.PrimaryKeyArn = awssecretsmanager.NewCfnSecret(stack, jsii.String("PrimaryKeyArn"), &awssecretsmanager.CfnSecretProps{
		Name:           jsii.String(cfg.PrimaryKeyArnSecretName()),
		Description:    jsii.String("kmsguard fleet: the ARN of the multi-Region master key's primary, read by the replica regions' stack instances (not a secret)"),
		SecretString:   m.MasterKey.Key.AttrArn(),
		ReplicaRegions: replicas,
	})
	m.PrimaryKeyArn.CfnOptions().SetCondition(home)
	// The ARN of a retained key: nothing is lost if the secret goes with the stack.
	m.PrimaryKeyArn.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY, nil)
	// The dynamic reference is assembled by Fn::Sub with its outer braces as variables: the regional
	// template is also the TemplateBody of the central stack's StackSet, and CloudFormation would resolve a
	// literal dynamic reference there, in the security account (docs/fleet.md, "Multi-Region key").
	dynamicRef := awscdk.Fn_Sub(jsii.String("${Open}{resolve:secretsmanager:"+cfg.PrimaryKeyArnSecretName()+":SecretString}${Close}"),
		&map[string]*string{"Open": jsii.String("{"), "Close": jsii.String("}")})
	m.Replica = masterkey.NewReplica(stack, "MasterKeyReplica", props, *dynamicRef)
	m.Replica.CfnOptions().SetCondition(replicaRegion)
	arn = *awscdk.Token_AsString(awscdk.Fn_ConditionIf(home.LogicalId(), m.MasterKey.Key.AttrArn(), m.Replica.AttrArn()), nil)
	id = *awscdk.Token_AsString(awscdk.Fn_ConditionIf(home.LogicalId(), m.MasterKey.Key.AttrKeyId(), m.Replica.AttrKeyId()), nil)
	m.MasterKey.Alias.SetTargetKeyId(jsii.String(id))
	return arn, id
}

// UndeliveredForwardsAlarmName is the member alarm on the forwarding rules' dead-letter queue. It is named
// NamePrefix-..., so the member's audit-tamper rules watch its deletion and changes like every kmsguard
// alarm.
func (c Config) UndeliveredForwardsAlarmName() string { return c.StackName + "-UndeliveredForwards" }

// AlarmStateChange is the detail type CloudWatch sends to the default event bus, under source
// aws.cloudwatch, when an alarm changes state (docs/aws-facts.md, "Fleet").
const AlarmStateChange = "CloudWatch Alarm State Change"

// UndeliveredAlarmPattern matches the member alarm going into ALARM or coming out of it (not its first
// INSUFFICIENT_DATA to OK on creation, which would mail on every new stack instance).
func UndeliveredAlarmPattern(alarmArn string) map[string]any {
	return map[string]any{
		"source":      []any{"aws.cloudwatch"},
		"detail-type": []any{AlarmStateChange},
		"resources":   []any{alarmArn},
		"detail": map[string]any{"$or": []any{
			map[string]any{"state": map[string]any{"value": []any{"ALARM"}}},
			map[string]any{"previousState": map[string]any{"value": []any{"ALARM"}}},
		}},
	}
}

// forwardUndeliveredAlarm alarms on the first forward that EventBridge could not deliver to a central bus
// after its retries, and forwards the alarm's state changes to the central audit-tamper bus with the same
// role: the centre renders them (docs/fleet.md, "Undelivered forwards"). A member cannot email, and a
// forward that fails for good would otherwise wait unseen in the queue for 14 days.
func (m *MemberStack) forwardUndeliveredAlarm(cfg Config) {
	props := detection.QueueMessagesAlarmProps(m.DeadLetters)
	props.AlarmName = jsii.String(cfg.UndeliveredForwardsAlarmName())
	props.AlarmDescription = jsii.String("kmsguard fleet: an event could not be forwarded to the security account's buses; " +
		"read it from the UndeliveredForwards queue. Its state changes are forwarded to the security account.")
	m.UndeliveredAlarm = detection.NewAlarm(m.Stack, "UndeliveredForwardsAlarm", props)
	tier := detection.AuditTamper
	id := "undelivered-alarm"
	m.AlarmForward = awsevents.NewCfnRule(m.Stack, jsii.String(id), &awsevents.CfnRuleProps{
		Name: jsii.String(cfg.StackName + "-" + id),
		Description: jsii.String("kmsguard fleet " + tier.Name + " (" + tier.Severity + "), forwarded to the security account: " +
			"the alarm on the undelivered forwards changed state"),
		// CloudWatch's own event, not a CloudTrail record: the plain state receives it.
		State: jsii.String("ENABLED"),
		// The ARN from the alarm's name, not Fn::GetAtt: the same value, and it does not rely on the emulator
		// (docs/fleet.md, "What is tested, and how") modelling the alarm.
		EventPattern: UndeliveredAlarmPattern(*m.Stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"),
			Resource: jsii.String("alarm"), ResourceName: jsii.String(cfg.UndeliveredForwardsAlarmName()), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})),
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:               jsii.String("CentralBus"),
			Arn:              m.busArn(cfg, tier),
			RoleArn:          m.forward.roleArn,
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: m.forward.deadLetterArn},
		}},
	})
	m.AlarmForward.AddMetadata(jsii.String("kmsguard:tier"), tier.Name)
	m.Rules[tier.Name] = append(m.Rules[tier.Name], m.AlarmForward)
}

// newMemberTrail is the memberTrail fallback: a single-region trail of the account's management events,
// read and write, delivered to a bucket of its own with S3-managed encryption. Only in us-east-1 does it
// include the global services' (IAM's) events, which are recorded there; elsewhere they would be recorded
// twice. The bucket policy is CloudTrail's documented one, limited to this trail by aws:SourceArn
// (docs/aws-facts.md, "Fleet").
func (m *MemberStack) newMemberTrail(cfg Config) {
	stack := m.Stack
	m.TrailBucket = awss3.NewBucket(stack, jsii.String("MemberTrailBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	trailArn := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudtrail"), Resource: jsii.String("trail"),
		ResourceName: jsii.String(cfg.MemberTrailName()), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})
	cloudtrail := []awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), nil)}
	m.TrailBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailAclCheck"),
		Principals: &cloudtrail,
		Actions:    jsii.Strings("s3:GetBucketAcl"),
		Resources:  &[]*string{m.TrailBucket.BucketArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
	}))
	m.TrailBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailWrite"),
		Principals: &cloudtrail,
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{m.TrailBucket.ArnForObjects(jsii.String("AWSLogs/" + *awscdk.Aws_ACCOUNT_ID() + "/*"))},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn, "s3:x-amz-acl": "bucket-owner-full-control"}},
	}))
	iamRegion := awscdk.NewCfnCondition(stack, jsii.String("InIamEventRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(iamEventRegion)),
	})
	m.Trail = awscloudtrail.NewCfnTrail(stack, jsii.String("MemberTrail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(cfg.MemberTrailName()),
		IsLogging:                  jsii.Bool(true),
		IsMultiRegionTrail:         jsii.Bool(false),
		IncludeGlobalServiceEvents: awscdk.Fn_ConditionIf(iamRegion.LogicalId(), jsii.Bool(true), jsii.Bool(false)),
		EnableLogFileValidation:    jsii.Bool(true),
		S3BucketName:               m.TrailBucket.BucketName(),
		// Read and write management events: the plugin's Decrypt and GenerateDataKeyWithoutPlaintext are
		// read-only KMS management events.
		EventSelectors: &[]*awscloudtrail.CfnTrail_EventSelectorProperty{{
			ReadWriteType:           jsii.String("All"),
			IncludeManagementEvents: jsii.Bool(true),
		}},
	})
	m.Trail.Node().AddDependency(m.TrailBucket.Policy())
	m.Trail.AddMetadata(jsii.String("kmsguard:role"), "member-trail")
}

// centralBusArn is the ARN of tier's central bus in the stack instance's region.
func (c Config) centralBusArn(stack awscdk.Stack, tier detection.Tier) string {
	return *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Account: jsii.String(c.Fleet.SecurityAccount),
		Resource: jsii.String("event-bus"), ResourceName: jsii.String(c.TierBusName(tier)), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})
}

// busArn is the ARN of tier's central bus, built once per tier.
func (m *MemberStack) busArn(cfg Config, tier detection.Tier) *string {
	if arn, ok := m.forward.busArn[tier.Name]; ok {
		return arn
	}
	arn := jsii.String(cfg.centralBusArn(m.Stack, tier))
	m.forward.busArn[tier.Name] = arn
	return arn
}

// forwardRule is one rule on the member's default bus: the tier's pattern, forwarding the raw event (an
// event bus target takes no input transformer) to the tier's central bus, with the role and the
// dead-letter queue.
func (m *MemberStack) forwardRule(cfg Config, tier detection.Tier, id string, pattern map[string]any) awsevents.CfnRule {
	rule := awsevents.NewCfnRule(m.Stack, jsii.String(id), &awsevents.CfnRuleProps{
		Name:         jsii.String(cfg.StackName + "-" + id),
		Description:  jsii.String(fmt.Sprintf("kmsguard fleet %s (%s), forwarded to the security account: %s", tier.Name, tier.Severity, tier.Meaning)),
		State:        jsii.String(allRuleState),
		EventPattern: pattern,
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:               jsii.String("CentralBus"),
			Arn:              m.busArn(cfg, tier),
			RoleArn:          m.forward.roleArn,
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: m.forward.deadLetterArn},
		}},
	})
	rule.AddMetadata(jsii.String("kmsguard:tier"), tier.Name)
	return rule
}

// IdentityStack is the identity StackSet template (one region per account): the key administrator and the
// server user of the standalone stack, by the same names in every member account.
type IdentityStack struct {
	awscdk.Stack
	KeyAdmin *keyadmin.KeyAdmin
	// ServerUser is nil with keyUserRoleNames.
	ServerUser *serveruser.ServerUser
}

// NewIdentityStack builds the identity template of cfg's fleet.
func NewIdentityStack(scope cdkconstructs.Construct, cfg Config) *IdentityStack {
	description := "kmsguard fleet member identities (StackSet " + cfg.IdentityStackSetName() + "): the key administrator and the MariaDB server user"
	if len(cfg.Fleet.KeyUserRoleNames) > 0 {
		description = "kmsguard fleet member identities (StackSet " + cfg.IdentityStackSetName() + "): the key administrator (the key users are the roles of keyUserRoleNames)"
	}
	stack := newStackSetStack(scope, cfg.IdentityStackSetName(), description)
	id := &IdentityStack{
		Stack:    stack,
		KeyAdmin: keyadmin.New(stack, "KeyAdmin", keyadmin.Props{UserName: cfg.AdminUserName, RequireMfa: cfg.AdminRequireMfa}),
	}
	// With keyUserRoleNames the roles use the key, and there is no server user (as keyUserArns standalone).
	if len(cfg.Fleet.KeyUserRoleNames) == 0 {
		id.ServerUser = serveruser.New(stack, "ServerUser", serveruser.Props{UserName: cfg.ServerUserName})
	}
	suppressNag(stack, IdentityNagSuppressions(cfg))
	return id
}
