package audittrail

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/lockdown"
	"github.com/kmsguard/kmsguard/internal/respolicy"
)

// lockedDown is what both buckets share: no public access, no ACLs, TLS 1.2 only, versioned, retained,
// older logs moved to cheaper storage.
func lockedDown(sh *shared, p *awss3.BucketProps) *awss3.BucketProps {
	p.BlockPublicAccess = sh.blockAll
	p.ObjectOwnership = awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED
	p.EnforceSSL = jsii.Bool(true)
	p.MinimumTLSVersion = jsii.Number(1.2)
	p.Versioned = jsii.Bool(true)
	p.RemovalPolicy = awscdk.RemovalPolicy_RETAIN
	p.LifecycleRules = sh.lifecycle
	return p
}

// newAccessLogBucket receives the trail bucket's server access logs. S3 log delivery only writes to
// buckets with S3-managed encryption, so this one cannot use the audit key.
func newAccessLogBucket(scope cdkconstructs.Construct, sh *shared) awss3.Bucket {
	return awss3.NewBucket(scope, jsii.String("AccessLogBucket"), lockedDown(sh, &awss3.BucketProps{
		Encryption: awss3.BucketEncryption_S3_MANAGED,
	}))
}

// newTrailBucket receives the trail's log files. Only this trail may write (aws:SourceArn), which stops
// another account's trail from using the bucket as a confused deputy.
//
// Object Lock keeps every log file version for LogRetentionDays: the trail records no S3 data events
// (deleting a log file would leave no trace but a validation gap), so deletion must be refused instead.
// Governance mode (the default) can be bypassed with s3:BypassGovernanceRetention, which the bucket policy
// denies to everyone but the break-glass principals, with MFA (DenyGovernanceBypass); an operator can
// still clean up that way. Compliance mode (ObjectLockMode) cannot be bypassed or shortened by anyone, the
// account root included, until each file's retention ends (docs/aws-facts.md). The bucket policy and the
// Object Lock configuration themselves may be changed only by the exempt principals
// (DenyPolicyAndLockChanges); the bucket owner's root user can always rewrite a bucket policy, which the
// audit-tamper alerts report.
func newTrailBucket(scope cdkconstructs.Construct, sh *shared, key awskms.IKey, accessLogs awss3.IBucket, trailArn string, props Props) awss3.Bucket {
	retention := awss3.ObjectLockRetention_Governance(awscdk.Duration_Days(jsii.Number(props.LogRetentionDays)))
	if props.ObjectLockMode == ObjectLockCompliance {
		retention = awss3.ObjectLockRetention_Compliance(awscdk.Duration_Days(jsii.Number(props.LogRetentionDays)))
	}
	b := awss3.NewBucket(scope, jsii.String("TrailBucket"), lockedDown(sh, &awss3.BucketProps{
		Encryption:                 awss3.BucketEncryption_KMS,
		EncryptionKey:              key,
		BucketKeyEnabled:           jsii.Bool(true),
		ServerAccessLogsBucket:     accessLogs,
		ServerAccessLogsPrefix:     jsii.String("trail-bucket/"),
		ObjectLockEnabled:          jsii.Bool(true),
		ObjectLockDefaultRetention: retention,
	}))
	// One call for all statements (internal/respolicy); the ARNs read once.
	bucketArn, objectsArn := b.BucketArn(), b.ArnForObjects(jsii.String("*"))
	cloudtrail := []awsiam.IPrincipal{sh.cloudtrail}
	sts := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AWSCloudTrailAclCheck"),
			Principals: &cloudtrail,
			Actions:    jsii.Strings("s3:GetBucketAcl"),
			Resources:  &[]*string{bucketArn},
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AWSCloudTrailWrite"),
			Principals: &cloudtrail,
			Actions:    jsii.Strings("s3:PutObject"),
			Resources:  &[]*string{b.ArnForObjects(jsii.String("AWSLogs/" + *awscdk.Aws_ACCOUNT_ID() + "/*"))},
			Conditions: &map[string]any{"StringEquals": map[string]any{
				"aws:SourceArn": trailArn,
				"s3:x-amz-acl":  "bucket-owner-full-control",
			}},
		}),
	}
	for _, st := range props.Lock.BreakGlassOnly().Deny("DenyGovernanceBypass", []string{lockdown.GovernanceBypassAction}, *objectsArn) {
		sts = append(sts, awsiam.PolicyStatement_FromJson(st))
	}
	for _, st := range props.Lock.Deny("DenyPolicyAndLockChanges", lockdown.BucketPolicyActions, *bucketArn) {
		sts = append(sts, awsiam.PolicyStatement_FromJson(st))
	}
	respolicy.Bucket(b, sts...)
	return b
}
