package stacks

// Accepted cdk-nag findings of the fleet's templates (docs/checks.md lists each with its reason, as for the
// standalone stack). Every entry is on one resource; nothing is suppressed stack-wide.

// deadLetterQueueReason is why a queue that is itself a dead-letter queue has none of its own.
const deadLetterQueueReason = "This queue is itself the dead-letter queue of EventBridge rule targets (cdk-nag only " +
	"recognises queues named in another queue's redrive policy). A dead-letter queue of its own would hold nothing: " +
	"nobody consumes this queue automatically."

// CentralNagSuppressions are the central stack's accepted findings.
func CentralNagSuppressions() map[string][]NagSuppression {
	sqs3 := []NagSuppression{{Rule: "AwsSolutions-SQS3", Reason: deadLetterQueueReason + " Its UndeliveredAlerts alarm fires on its first message."}}
	return map[string][]NagSuppression{"UndeliveredAlerts": sqs3, "SecurityUndeliveredAlerts": sqs3}
}

// IdentityNagSuppressions are the identity template's accepted findings: the standalone stack's, for the
// same users.
func IdentityNagSuppressions(cfg Config) map[string][]NagSuppression {
	s := map[string][]NagSuppression{}
	if len(cfg.Fleet.KeyUserRoleNames) == 0 { // else no server user (keyUserRoleNames)
		s["ServerUser/User"] = []NagSuppression{{
			Rule: "NIST.800.53.R5-IAMUserGroupMembership",
			Reason: "The MariaDB server user has no identity policy at all: its only permission is the master key's " +
				"AllowUseOfTheKey statement, which matches the user's ARN with aws:PrincipalArn. An empty group would add nothing.",
		}}
	}
	if cfg.AdminRequireMfa {
		s["KeyAdmin/RequireMfa"] = []NagSuppression{{
			Rule: "AwsSolutions-IAM5",
			Reason: "AWS's documented force-MFA policy: iam:ListVirtualMFADevices has no resource-level permissions, " +
				"and the DenyAllExceptListedIfNoMfa statement must deny on every resource.",
			AppliesTo: []string{"Resource::*"},
		}}
	}
	return s
}

// MemberNagSuppressions are the regional template's accepted findings.
func MemberNagSuppressions(cfg Config) map[string][]NagSuppression {
	s := map[string][]NagSuppression{
		"UndeliveredForwards": {{Rule: "AwsSolutions-SQS3", Reason: deadLetterQueueReason +
			" Its UndeliveredForwards alarm fires on its first message and is forwarded to the security account."}},
		"UndeliveredForwardsAlarm": {{Rule: "NIST.800.53.R5-CloudWatchAlarmAction", Reason: "A member account emails nobody: " +
			"the alarm's state changes reach the security account as EventBridge events (CloudWatch Alarm State Change, " +
			"forwarded by the undelivered-alarm rule), which render and send them (docs/fleet.md, \"Undelivered forwards\")."}},
	}
	if cfg.Fleet.MultiRegionKey {
		notSecret := "The secret holds the ARN of the multi-Region primary key, which is not secret: the replica regions' " +
			"stack instances read it because no CloudFormation function reads another region (docs/fleet.md, \"Multi-Region key\")."
		s["PrimaryKeyArn"] = []NagSuppression{
			{Rule: "AwsSolutions-SMG4", Reason: notSecret + " Rotating it would break the replicas' reference."},
			{Rule: "NIST.800.53.R5-SecretsManagerRotationEnabled", Reason: notSecret + " Rotating it would break the replicas' reference."},
			{Rule: "NIST.800.53.R5-SecretsManagerUsingKMSKey", Reason: notSecret + " The AWS managed key suffices; a customer managed key would need its own policy in every region."},
		}
	}
	if cfg.Fleet.MemberTrail {
		s["MemberTrail"] = []NagSuppression{
			{Rule: "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled", Reason: "The member trail exists to feed EventBridge, " +
				"which reads the trail's events without a log group; a log group per member account-region would be " +
				"paid for and read by nothing (the fleet's metric filters are not built, docs/fleet.md)."},
			{Rule: "NIST.800.53.R5-CloudTrailEncryptionEnabled", Reason: "The log files are encrypted at rest with " +
				"S3-managed keys; a KMS key per member account-region would cost $1 a month each and need its own " +
				"CloudTrail key policy (docs/fleet.md, \"Not yet\")."},
		}
		s["MemberTrailBucket"] = []NagSuppression{
			{Rule: "AwsSolutions-S1", Reason: "A second bucket per member account-region for access logs of a fallback " +
				"trail; the bucket is watched by the member's audit-tamper rules instead (docs/fleet.md)."},
			{Rule: "NIST.800.53.R5-S3BucketLoggingEnabled", Reason: "As AwsSolutions-S1: no access-log bucket per member " +
				"account-region; the bucket's policy and settings are watched by the audit-tamper rules."},
			{Rule: "NIST.800.53.R5-S3BucketReplicationEnabled", Reason: "Replication needs a destination bucket in another " +
				"Region or account; the organization's log archive is where replicated trails belong."},
			{Rule: "NIST.800.53.R5-S3DefaultEncryptionKMS", Reason: "S3-managed encryption, as for the trail itself " +
				"(NIST.800.53.R5-CloudTrailEncryptionEnabled above)."},
		}
	}
	return s
}
