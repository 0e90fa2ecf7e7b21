package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/detection"
)

// StackInstanceStatusChange is the detail-type of CloudFormation's StackSet stack instance status events,
// source aws.cloudformation (docs/aws-facts.md, "Fleet").
const StackInstanceStatusChange = "CloudFormation StackSet StackInstance Status Change"

// FailedInstanceStatuses are the detailed statuses of a stack instance that did not get, or could not
// keep, its stack: the operation failed in that account and region (FAILED, FAILED_IMPORT), or the
// instance can no longer be managed (INOPERABLE). CANCELLED (an operation stopped before reaching the
// instance) follows a failure that already alerted; SKIPPED_SUSPENDED_ACCOUNT is an account being closed.
var FailedInstanceStatuses = []string{"FAILED", "FAILED_IMPORT", "INOPERABLE"}

// failedInstanceRuleID is the id and name suffix of the rule on StackSet name's failed instances; with
// the longest stackName (40) the rule name stays within EventBridge's 64 characters.
func failedInstanceRuleID(cfg Config, stackSet string) string {
	return "failed-" + strings.ToLower(strings.TrimPrefix(stackSet, cfg.StackName+"-"))
}

// FailedInstancePattern matches a stack instance of the StackSet named stackSet, in the home region, going
// to a failed detailed status. The StackSet's ARN names the account that owns it, which for a StackSet
// created by a delegated administrator is the management account (docs/fleet.md, "Failed stack
// instances"), so the account is a wildcard; the name is exact, followed by the StackSet id.
func FailedInstancePattern(cfg Config, stackSet string) map[string]any {
	arn := "arn:*:cloudformation:" + cfg.HomeRegion() + ":*:stackset/" + stackSet + ":*"
	return map[string]any{
		"source":      []any{"aws.cloudformation"},
		"detail-type": []any{StackInstanceStatusChange},
		"detail": map[string]any{
			"stack-set-arn":  []any{map[string]any{"wildcard": arn}},
			"status-details": map[string]any{"detailed-status": strList(FailedInstanceStatuses)},
		},
	}
}

// FailedInstanceInputPaths are the event's fields the failed-instance email shows (AWS's event detail,
// docs/aws-facts.md "Fleet"). The member account and region are inside stack-id, which EventBridge cannot
// split; the envelope's account and region are the StackSet's.
func FailedInstanceInputPaths() map[string]string {
	return map[string]string{
		"stackId":     "$.detail.stack-id",
		"stackSetArn": "$.detail.stack-set-arn",
		"action":      "$.detail.action",
		"status":      "$.detail.status-details.status",
		"detailed":    "$.detail.status-details.detailed-status",
		"reason":      "$.detail.status-details.status-reason",
		"time":        "$.time",
	}
}

// RetryCommand is the command that re-runs StackSet stackSet's operation for one account and region from
// the security account, as the delegated administrator; an update names its accounts by Accounts alone
// (docs/aws-facts.md, "Fleet"). ACCOUNT and REGION are to be read from the stack instance's ARN
// (EventBridge cannot take them apart).
func RetryCommand(cfg Config, stackSet string) string {
	return "aws cloudformation update-stack-instances --region " + cfg.HomeRegion() + " --stack-set-name " + stackSet +
		" --call-as DELEGATED_ADMIN --deployment-targets Accounts=ACCOUNT --regions REGION"
}

// FailedInstanceMessage is the email of a failed stack instance of stackSet: which instance, why, and the
// retry command (docs/fleet.md, "Failed stack instances").
func FailedInstanceMessage(cfg Config, stackSet string) []string {
	return []string{
		"[CRITICAL] kmsguard fleet: a stack instance of the StackSet " + stackSet + " is <detailed> (<action>)",
		"A member account and region did not get, or cannot keep, its kmsguard stack: until the instance is retried, " +
			"its master key or its alert rules may be missing there.",
		"",
		"Stack instance: <stackId>",
		"  (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/...: the member's region is the fourth field, its account the fifth)",
		"Status:   <status> / <detailed> at <time>",
		"Reason:   <reason>",
		"StackSet: <stackSetArn>",
		"",
		"Fix the cause (the reason above, and the stack's events in that account and region), then retry that account and region " +
			"from the security account, ACCOUNT and REGION taken from the stack instance's ARN:",
		RetryCommand(cfg, stackSet),
		"(docs/fleet.md, \"Failed stack instances\")",
	}
}

// addFailedInstanceRules alerts both destinations, from the security account's default bus in the home
// region, when a stack instance of one of stackSets fails: one rule per StackSet, so that the message and
// its retry command name it. The rules are named stackName-..., which the central tamper rules watch.
func (c *CentralStack) addFailedInstanceRules(cfg Config, stackSets []StackSetTemplate, routes []detection.Route) {
	for _, ss := range stackSets {
		targets := detection.RuleTargets(routes, FailedInstanceInputPaths(), FailedInstanceMessage(cfg, ss.Name))
		id := failedInstanceRuleID(cfg, ss.Name)
		c.FailedInstanceRules = append(c.FailedInstanceRules, c.newRule(cfg, id, detection.AuditTamper.Name, &awsevents.CfnRuleProps{
			Description:  jsii.String("kmsguard fleet (critical): a stack instance of the StackSet " + ss.Name + " failed"),
			State:        jsii.String("ENABLED"),
			EventPattern: FailedInstancePattern(cfg, ss.Name),
			Targets:      targets,
		}))
	}
}
