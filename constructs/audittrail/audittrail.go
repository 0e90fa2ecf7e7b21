// Package audittrail builds the audit pipeline that records every call on the master key: a multi-region
// CloudTrail trail, its locked-down S3 bucket (with a second bucket for the server access logs), and a
// CloudWatch Logs log group, all encrypted with a dedicated audit key. The audit key is never the master
// key: disabling the master key must not blind the audit.
package audittrail

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// Props configures the audit pipeline.
type Props struct {
	TrailName        string
	LogRetentionDays int
	// ObjectLockMode is the trail bucket's default Object Lock retention mode: ObjectLockGovernance or
	// ObjectLockCompliance.
	ObjectLockMode string
	// Lock names who may still change the audit key, the trail bucket's policy and Object Lock
	// configuration (break-glass principals with MFA, and the deploy role), and who may bypass a
	// governance-mode retention (break-glass principals with MFA only).
	Lock lockdown.Exemptions
}

// The Object Lock retention modes S3 knows (docs/aws-facts.md).
const (
	ObjectLockGovernance = "GOVERNANCE"
	ObjectLockCompliance = "COMPLIANCE"
)

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	var errs []error
	if err := check.TrailName(p.TrailName); err != nil {
		errs = append(errs, fmt.Errorf("TrailName: %w", err))
	}
	if err := check.LogRetention(p.LogRetentionDays); err != nil {
		errs = append(errs, fmt.Errorf("LogRetentionDays: %w", err))
	}
	if p.ObjectLockMode != ObjectLockGovernance && p.ObjectLockMode != ObjectLockCompliance {
		errs = append(errs, fmt.Errorf("ObjectLockMode: %q is neither %s nor %s", p.ObjectLockMode, ObjectLockGovernance, ObjectLockCompliance))
	}
	if err := p.Lock.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Lock: %w", err))
	}
	return errors.Join(errs...)
}

// AuditTrail exposes what it made so the stack can wire alerts to the log group and outputs to the names.
type AuditTrail struct {
	cdkconstructs.Construct
	AuditKey        awskms.Key
	Bucket          awss3.Bucket
	AccessLogBucket awss3.Bucket
	LogGroup        awslogs.CfnLogGroup
	Trail           awscloudtrail.CfnTrail
	TrailArn        string
	// DeliveryRole is the role CloudTrail writes to the log group with, DeliveryPolicy its managed policy:
	// detection watches both.
	DeliveryRole   awsiam.Role
	DeliveryPolicy awsiam.ManagedPolicy
}

// New creates the pipeline; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *AuditTrail {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("audittrail: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	a := &AuditTrail{Construct: c}
	sh := newShared(c)
	// The trail ARN is spelled out rather than read from the trail, so that the bucket and key policies
	// can name it without a dependency cycle.
	a.TrailArn = sh.arn("cloudtrail", nil, "trail", props.TrailName, awscdk.ArnFormat_SLASH_RESOURCE_NAME)
	// The log group's name ends in the stack's unique id, so it is new for every stack that is created:
	// the log group is retained (deletion protection makes it undeletable by a rollback), and a fixed name
	// left behind by a failed create would make the retry fail. The audit key names it through the same
	// expression (pseudo parameters only, so no dependency cycle); everything else reads it with Ref.
	logGroupName := "/kmsguard/cloudtrail/" + props.TrailName + "/" + *awscdk.Fn_Select(jsii.Number(2),
		awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))

	a.AuditKey = newAuditKey(c, sh, a.TrailArn, logGroupName, props.Lock)
	a.AccessLogBucket = newAccessLogBucket(c, sh)
	a.Bucket = newTrailBucket(c, sh, a.AuditKey, a.AccessLogBucket, a.TrailArn, props)

	// Read once: each read of an attribute is a round trip to the CDK's process (docs/checks.md, "Benchmark").
	keyArn := a.AuditKey.KeyArn()
	// L1: the L2 LogGroup nests its resource one level deeper, which would replace the retained log group.
	a.LogGroup = awslogs.NewCfnLogGroup(c, jsii.String("LogGroup"), &awslogs.CfnLogGroupProps{
		LogGroupName:              jsii.String(logGroupName),
		RetentionInDays:           jsii.Number(props.LogRetentionDays),
		KmsKeyId:                  keyArn,
		DeletionProtectionEnabled: jsii.Bool(true),
	})
	retain(a.LogGroup)
	logGroupArn := a.LogGroup.AttrArn()
	role, rolePolicy := newDeliveryRole(c, sh, logGroupArn)
	a.DeliveryRole, a.DeliveryPolicy = role, rolePolicy

	// L1: the L2 Trail adds its own bucket-policy statements and an inline-policy delivery role (docs/checks.md).
	a.Trail = awscloudtrail.NewCfnTrail(c, jsii.String("Trail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(props.TrailName),
		IsLogging:                  jsii.Bool(true),
		IsMultiRegionTrail:         jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		EnableLogFileValidation:    jsii.Bool(true),
		S3BucketName:               a.Bucket.BucketName(),
		KmsKeyId:                   keyArn,
		CloudWatchLogsLogGroupArn:  logGroupArn,
		CloudWatchLogsRoleArn:      role.RoleArn(),
		AdvancedEventSelectors:     TrailSelectors(a.Bucket.BucketArn()),
	})
	// CloudTrail checks the bucket policy and the delivery role's permissions when the trail is created.
	// The role is already a dependency through CloudWatchLogsRoleArn (naming it again is cfn-lint W3005).
	a.Trail.Node().AddDependency(a.Bucket.Policy(), rolePolicy)
	return a
}

// shared is what the pipeline's resources have in common, made once: each object made and each lookup in
// the CDK is a round trip to its process (docs/checks.md, "Benchmark"), and one object serves every use.
type shared struct {
	stack awscdk.Stack
	// cloudtrail is the CloudTrail service principal, of the key policy, the bucket policy and the delivery role.
	cloudtrail awsiam.IPrincipal
	// lifecycle is both buckets' lifecycle rule, blockAll their public access block.
	lifecycle *[]*awss3.LifecycleRule
	blockAll  awss3.BlockPublicAccess
}

// newShared makes the pipeline's shared objects, in the stack of scope.
func newShared(scope cdkconstructs.Construct) *shared {
	return &shared{
		stack:      awscdk.Stack_Of(scope),
		cloudtrail: servicePrincipal("cloudtrail.amazonaws.com"),
		blockAll:   awss3.BlockPublicAccess_BLOCK_ALL(),
		lifecycle: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("CheaperStorageForOldLogs"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			Transitions: &[]*awss3.Transition{
				{StorageClass: awss3.StorageClass_INFREQUENT_ACCESS(), TransitionAfter: awscdk.Duration_Days(jsii.Number(90))},
				{StorageClass: awss3.StorageClass_GLACIER(), TransitionAfter: awscdk.Duration_Days(jsii.Number(365))},
			},
			NoncurrentVersionTransitions: &[]*awss3.NoncurrentVersionTransition{
				{StorageClass: awss3.StorageClass_GLACIER(), TransitionAfter: awscdk.Duration_Days(jsii.Number(30))},
			},
		}},
	}
}

// arn is the ARN of a resource of this stack's account, in the stack's region unless region is given.
func (sh *shared) arn(service string, region *string, resource, name string, format awscdk.ArnFormat) string {
	return *sh.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Region: region,
		Resource: jsii.String(resource), ResourceName: jsii.String(name), ArnFormat: format})
}

func retain(r awscdk.CfnResource) {
	r.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
}

func servicePrincipal(name string) awsiam.IPrincipal {
	return awsiam.NewServicePrincipal(jsii.String(name), nil)
}

// TrailObjectEvents are the S3 data events on the trail bucket that remove a log file or change how long it
// is kept: a DeleteObject (of a version, with the governance bypass, or leaving a delete marker), a
// PutObjectRetention that shortens a governance-mode retention, and a legal hold changed. CloudTrail's own
// deliveries (PutObject) are not among them, so the trail records next to nothing more.
var TrailObjectEvents = []string{"DeleteObject", "PutObjectLegalHold", "PutObjectRetention"}

// TrailSelectors are the trail's advanced event selectors (docs/aws-facts.md, "The trail records its own
// bucket's object deletions"):
//   - every management event, read and write, with no source excluded (the MariaDB plugin's Decrypt and
//     GenerateDataKeyWithoutPlaintext are read-only KMS management events): what the basic selector
//     ReadWriteType All, IncludeManagementEvents true, no excluded source recorded;
//   - the data events TrailObjectEvents on the objects of the trail bucket (resources.ARN starts with the
//     bucket's ARN and a slash);
//   - every DeleteObjects (the multi-object delete, which the console uses), whatever the bucket: its record
//     names the bucket but no object, so a selector on the objects' ARN is not documented to select it; one
//     event per call of up to 1,000 keys, and the rules alert only on the trail bucket's.
//
// A trail takes basic or advanced selectors, never both; advanced selectors record management and data
// events alike.
func TrailSelectors(bucketArn *string) *[]*awscloudtrail.CfnTrail_AdvancedEventSelectorProperty {
	field := func(name string, equals ...string) *awscloudtrail.CfnTrail_AdvancedFieldSelectorProperty {
		return &awscloudtrail.CfnTrail_AdvancedFieldSelectorProperty{Field: jsii.String(name), EqualTo: jsii.Strings(equals...)}
	}
	return &[]*awscloudtrail.CfnTrail_AdvancedEventSelectorProperty{
		{
			Name:           jsii.String("Management events, read and write"),
			FieldSelectors: &[]*awscloudtrail.CfnTrail_AdvancedFieldSelectorProperty{field("eventCategory", "Management")},
		},
		{
			Name: jsii.String("Log file deletions and retention changes in the trail bucket"),
			FieldSelectors: &[]*awscloudtrail.CfnTrail_AdvancedFieldSelectorProperty{
				field("eventCategory", "Data"),
				field("resources.type", "AWS::S3::Object"),
				field("eventName", TrailObjectEvents...),
				{Field: jsii.String("resources.ARN"), StartsWith: jsii.Strings(*bucketArn + "/")},
			},
		},
		{
			Name: jsii.String("Multi-object deletions (the rules alert on the trail bucket's)"),
			FieldSelectors: &[]*awscloudtrail.CfnTrail_AdvancedFieldSelectorProperty{
				field("eventCategory", "Data"),
				field("resources.type", "AWS::S3::Object"),
				field("eventName", "DeleteObjects"),
			},
		},
	}
}
