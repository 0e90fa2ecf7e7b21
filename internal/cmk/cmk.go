// Package cmk makes kmsguard's supporting customer managed keys (the audit key, the alert topics' keys) the
// same way: rotated, a 30-day deletion window that no principal may shorten, retained when the stack goes
// (but deleted by the rollback of the create that made them, docs/teardown.md), and tagged with their role
// in the template metadata so that tests and kmsguard-replay can tell the keys apart, and locked by the
// break-glass lock (internal/lockdown).
package cmk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/lockdown"
	"github.com/kmsguard/kmsguard/internal/respolicy"
)

// New creates the key; role goes into the resource's kmsguard:role metadata. Its policy denies every
// principal a deletion with a waiting period under 30 days (DenyShortDeletionWindow); PendingWindowInDays
// is 30, so CloudFormation's own deletion of the key (the rollback of a failed create) is not refused. The
// policy then holds sts, the key's own grants, and the break-glass lock of ex, in that order, all added in
// one call: each addition is a round trip to the CDK's process (docs/checks.md, "Benchmark").
//
// The lock denies DisableKey, ScheduleKeyDeletion, PutKeyPolicy and CreateGrant on the key to every
// principal but the break-glass principals (with MFA) and the deploy roles of ex (DenyKeyChanges and
// DenyKeyChangesWithoutMfa). The key's administration statement (the CDK's default: the account, kms:*)
// stays: it is what the exempt principals use through their IAM policies, and what lets auditors read.
// KMS checks that the principal setting a key policy keeps PutKeyPolicy under it (the lockout safety
// check); the deploy role is that principal, so creating and updating the stack keep working.
func New(scope cdkconstructs.Construct, id, description, role string, ex lockdown.Exemptions, sts ...awsiam.PolicyStatement) awskms.Key {
	key := awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(lockdown.MinDeletionWindowDays)),
		// RetainExceptOnCreate: kept by stack deletion and replacement, but a failed first create schedules
		// it for deletion instead of leaving a live key behind (a key has no name, so it never blocks a
		// retry; it would only cost money).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	key.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("kmsguard:role"), role)
	all := []awsiam.PolicyStatement{awsiam.PolicyStatement_FromJson(lockdown.MinimumDeletionWindow("DenyShortDeletionWindow"))}
	all = append(all, sts...)
	for _, st := range ex.Deny("DenyKeyChanges", lockdown.SupportingKeyActions, "*") {
		all = append(all, awsiam.PolicyStatement_FromJson(st))
	}
	respolicy.Key(key, all...)
	return key
}
