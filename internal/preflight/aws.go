package preflight

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/kmsguard/kmsguard/internal/alertsubs"
)

// One small interface per service, holding only the calls the checks make, so that a test can put moto
// (every service below but two) or a fake (Service Quotas for EventBridge and SimulatePrincipalPolicy, which
// moto does not implement) behind each.

// Identity answers who the caller is.
type Identity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Parameters reads the CDK bootstrap version parameter.
type Parameters interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Stacks lists what an existing stack of the same name already owns (its names are not collisions).
type Stacks interface {
	DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error)
}

// Users looks up IAM users by name.
type Users interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
}

// Simulator evaluates the caller's IAM policies (iam:SimulatePrincipalPolicy; not in moto: tests use a fake).
type Simulator interface {
	SimulatePrincipalPolicy(ctx context.Context, in *iam.SimulatePrincipalPolicyInput, opts ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

// Keys looks up a KMS alias.
type Keys interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// LogGroups looks up CloudWatch Logs log groups and the metric filters on one.
type LogGroups interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	DescribeMetricFilters(ctx context.Context, in *cloudwatchlogs.DescribeMetricFiltersInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
}

// Dashboards looks up CloudWatch dashboards.
type Dashboards interface {
	GetDashboard(ctx context.Context, in *cloudwatch.GetDashboardInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetDashboardOutput, error)
}

// Trails lists the region's trails and reads an existing trail's status and selectors.
type Trails interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

// Rules lists the rules on an event bus.
type Rules interface {
	ListRules(ctx context.Context, in *eventbridge.ListRulesInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
}

// Endpoints lists the region's VPC endpoints.
type Endpoints interface {
	DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error)
}

// Quotas reads applied and default service quotas (Service Quotas has no EventBridge quotas in moto: tests
// use a fake).
type Quotas interface {
	GetServiceQuota(ctx context.Context, in *servicequotas.GetServiceQuotaInput, opts ...func(*servicequotas.Options)) (*servicequotas.GetServiceQuotaOutput, error)
	GetAWSDefaultServiceQuota(ctx context.Context, in *servicequotas.GetAWSDefaultServiceQuotaInput, opts ...func(*servicequotas.Options)) (*servicequotas.GetAWSDefaultServiceQuotaOutput, error)
}

// Deps are the AWS clients the checks use.
type Deps struct {
	Identity   Identity
	Parameters Parameters
	Stacks     Stacks
	Users      Users
	Simulator  Simulator
	Keys       Keys
	LogGroups  LogGroups
	Dashboards Dashboards
	Trails     Trails
	Rules      Rules
	Endpoints  Endpoints
	Quotas     Quotas
	// Subscriptions reads the alert topics' subscriptions (the same reading as kms-manage-key status).
	Subscriptions alertsubs.Reader
}

// NewDeps builds the real clients from one SDK configuration (default chain, --profile, --region,
// AWS_ENDPOINT_URL).
func NewDeps(cfg aws.Config) Deps {
	iamClient := iam.NewFromConfig(cfg)
	return Deps{
		Identity:      sts.NewFromConfig(cfg),
		Parameters:    ssm.NewFromConfig(cfg),
		Stacks:        cloudformation.NewFromConfig(cfg),
		Users:         iamClient,
		Simulator:     iamClient,
		Keys:          kms.NewFromConfig(cfg),
		LogGroups:     cloudwatchlogs.NewFromConfig(cfg),
		Dashboards:    cloudwatch.NewFromConfig(cfg),
		Trails:        cloudtrail.NewFromConfig(cfg),
		Rules:         eventbridge.NewFromConfig(cfg),
		Endpoints:     ec2.NewFromConfig(cfg),
		Quotas:        servicequotas.NewFromConfig(cfg),
		Subscriptions: sns.NewFromConfig(cfg),
	}
}

// errorCode is the AWS error code of err ("" when it is not an API error).
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// notFound reports whether err says the thing asked about does not exist, in the spelling of each service
// the checks ask.
func notFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchEntity", "NoSuchEntityException", "NotFoundException", "ResourceNotFound", "ResourceNotFoundException",
		"ParameterNotFound", "TrailNotFoundException", "NoSuchResourceException", "DashboardNotFoundError":
		return true
	}
	return false
}
