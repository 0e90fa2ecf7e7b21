package preflight

import (
	"slices"
)

// CreateActions are the IAM actions CloudFormation calls to create each resource type kmsguard's templates
// use, as listed by each type's handler permissions in the CloudFormation resource type schemas (docs/preflight.md).
// A type missing here fails the permission check as "cannot check": it must be listed when it is added.
var CreateActions = map[string][]string{
	"AWS::KMS::Key":           {"kms:CreateKey", "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DescribeKey", "kms:TagResource"},
	"AWS::KMS::Alias":         {"kms:CreateAlias"},
	"AWS::IAM::User":          {"iam:CreateUser", "iam:GetUser", "iam:AddUserToGroup", "iam:AttachUserPolicy"},
	"AWS::IAM::Group":         {"iam:CreateGroup", "iam:GetGroup"},
	"AWS::IAM::Role":          {"iam:CreateRole", "iam:GetRole", "iam:PassRole"},
	"AWS::IAM::ManagedPolicy": {"iam:CreatePolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"},
	"AWS::S3::Bucket": {"s3:CreateBucket", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPublicAccessBlock",
		"s3:PutBucketObjectLockConfiguration", "s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:PutBucketOwnershipControls"},
	"AWS::S3::BucketPolicy":      {"s3:PutBucketPolicy"},
	"AWS::Logs::LogGroup":        {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:AssociateKmsKey"},
	"AWS::Logs::MetricFilter":    {"logs:PutMetricFilter"},
	"AWS::CloudTrail::Trail":     {"cloudtrail:CreateTrail", "cloudtrail:StartLogging", "cloudtrail:PutEventSelectors", "iam:PassRole"},
	"AWS::SNS::Topic":            {"sns:CreateTopic", "sns:SetTopicAttributes"},
	"AWS::SNS::TopicPolicy":      {"sns:SetTopicAttributes"},
	"AWS::SNS::Subscription":     {"sns:Subscribe"},
	"AWS::SQS::Queue":            {"sqs:CreateQueue", "sqs:SetQueueAttributes"},
	"AWS::SQS::QueuePolicy":      {"sqs:SetQueueAttributes"},
	"AWS::Events::Rule":          {"events:PutRule", "events:PutTargets"},
	"AWS::CloudWatch::Alarm":     {"cloudwatch:PutMetricAlarm"},
	"AWS::CloudWatch::Dashboard": {"cloudwatch:PutDashboard"},
	// cdk deploy itself: the template is created by a CloudFormation stack.
	"AWS::CloudFormation::Stack": {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DescribeStacks"},
}

// actionsFor returns the sorted, distinct actions creating these resource types takes, and the types the
// table does not know.
func actionsFor(types []string) (actions, unknown []string) {
	for _, t := range types {
		a, ok := CreateActions[t]
		if !ok {
			unknown = append(unknown, t)
			continue
		}
		actions = append(actions, a...)
	}
	slices.Sort(actions)
	return slices.Compact(actions), unknown
}
