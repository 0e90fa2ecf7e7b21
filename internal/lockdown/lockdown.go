// Package lockdown builds the Deny statements that keep kmsguard's keys, alert topics and trail bucket out
// of reach of every principal of the account except two kinds, named in the configuration: break-glass
// principals, who must use MFA, and the role that deploys the stack (CloudFormation's execution role),
// which KMS's lockout safety check requires to keep kms:PutKeyPolicy and which must keep updating the
// stack. The statements are plain JSON maps, so the same text goes into a CfnKey's policy, an
// awsiam.PolicyStatement (PolicyStatement_FromJson) and the tests, and is testable without synthesizing.
// Every fact the statements rest on is cited in docs/aws-facts.md ("Locked changes").
package lockdown

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kmsguard/kmsguard/internal/check"
)

// MinDeletionWindowDays is the shortest waiting period any principal may give ScheduleKeyDeletion for a
// kmsguard key: KMS's longest (and default) waiting period, so a deleted key can be recovered with
// CancelKeyDeletion for a month whoever scheduled it.
const MinDeletionWindowDays = 30

// SupportingKeyActions are denied on the audit key and the alert topic keys to everyone but the exempt
// principals: disabling or deleting a topic key silences its topic, a new key policy or a grant hands out
// what the policy withholds.
var SupportingKeyActions = []string{"kms:CreateGrant", "kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}

// MasterKeyActions are denied on the MariaDB master key to everyone but the exempt principals. DisableKey is
// not among them: the key administrator's enable/disable duty and the account's emergency stop stay
// (README.md, "The key policy"); CreateGrant is granted to nobody by that key policy in the first place.
var MasterKeyActions = []string{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}

// TopicActions are denied on an alert topic to everyone but the exempt principals. They are the changing
// actions among those SNS accepts in a topic policy (docs/aws-facts.md): new subscriptions, the topic's
// attributes (its policy, its key, its delivery policy), its permissions, its data protection policy (which
// could drop or mask every alert) and the topic itself. Unsubscribe and SetSubscriptionAttributes are not
// topic-policy actions; README.md ("What kmsguard does not protect against") says what covers them.
var TopicActions = []string{
	"sns:AddPermission",
	"sns:DeleteTopic",
	"sns:PutDataProtectionPolicy",
	"sns:RemovePermission",
	"sns:SetTopicAttributes",
	"sns:Subscribe",
}

// BucketPolicyActions are denied on the trail bucket to everyone but the exempt principals: a new or deleted
// bucket policy would drop the governance-bypass deny below, a new Object Lock configuration would shorten
// the retention of every log file written after it. S3 lets the bucket owner's root user change the bucket
// policy whatever it denies (docs/aws-facts.md).
var BucketPolicyActions = []string{"s3:DeleteBucketPolicy", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy"}

// GovernanceBypassAction deletes or shortens a governance-mode Object Lock retention; only break-glass
// principals keep it (CloudFormation never deletes log files).
const GovernanceBypassAction = "s3:BypassGovernanceRetention"

// Exemptions are the principals a lock leaves alone. ARNs may be CDK tokens (the default deploy role is
// built from the stack's account and region).
type Exemptions struct {
	// BreakGlassArns may make the locked changes, but only from an MFA session.
	BreakGlassArns []string
	// DeployRoleArns may make them without MFA: CloudFormation's execution role has no MFA session, and
	// KMS refuses a key policy that locks out the principal that sets it.
	DeployRoleArns []string
}

// Validate reports every problem at once, by field name. A lock with no deploy role could not be created:
// KMS's lockout safety check would refuse the key policy that CloudFormation sets.
func (e Exemptions) Validate() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	if len(e.DeployRoleArns) == 0 {
		add("DeployRoleArns", errors.New("required: the role CloudFormation deploys with must keep kms:PutKeyPolicy (KMS lockout safety check)"))
	}
	seen := map[string]string{}
	for _, arn := range e.BreakGlassArns {
		add("BreakGlassArns", BreakGlassARN(arn))
		if prev, dup := seen[arn]; dup {
			add("BreakGlassArns", fmt.Errorf("%q is listed twice (also in %s)", arn, prev))
		}
		seen[arn] = "BreakGlassArns"
	}
	for _, arn := range e.DeployRoleArns {
		add("DeployRoleArns", DeployRoleARN(arn))
		if prev, dup := seen[arn]; dup {
			add("DeployRoleArns", fmt.Errorf("%q is listed twice (also in %s)", arn, prev))
		}
		seen[arn] = "DeployRoleArns"
	}
	return errors.Join(errs...)
}

var accountRoot = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::\d{12}:root$`)

// BreakGlassARN accepts an IAM user or role ARN, or the account root (a classic break-glass principal: its
// MFA sign-in carries aws:MultiFactorAuthPresent), and rejects wildcards and role sessions. CDK tokens pass.
func BreakGlassARN(arn string) error {
	if check.IsToken(arn) {
		return nil
	}
	if accountRoot.MatchString(arn) {
		return nil
	}
	_, err := check.PrincipalARN(arn)
	if err != nil && strings.HasSuffix(arn, ":root") {
		return fmt.Errorf("%q is not an account root ARN (example: arn:aws:iam::123456789012:root)", arn)
	}
	return err
}

// DeployRoleARN accepts an IAM role ARN (CloudFormation runs as a role: the CDK bootstrap's execution role,
// or a StackSets execution role); a user, the root or a wildcard would exempt far more than a deployment.
func DeployRoleARN(arn string) error {
	if check.IsToken(arn) {
		return nil
	}
	kind, err := check.PrincipalARN(arn)
	if err != nil {
		return err
	}
	if kind != check.IAMRole {
		return fmt.Errorf("%q is not an IAM role: name the role CloudFormation deploys with (arn:aws:iam::ACCOUNT:role/NAME)", arn)
	}
	return nil
}

// Deny returns the statements that deny actions on resources to every principal except the exempt ones,
// and to the break-glass principals without MFA:
//
//   - sid: Effect Deny, Principal "*", unless aws:PrincipalArn is a break-glass principal or a deploy role
//     (ArnNotEquals, a negated operator: a request without aws:PrincipalArn is denied too). With nobody
//     exempt it has no condition and denies everyone;
//   - sid+"WithoutMfa" (only when there are break-glass principals): Deny when aws:PrincipalArn is one of
//     them and aws:MultiFactorAuthPresent is false or absent (BoolIfExists: long-term access keys carry no
//     such key, and a plain Bool would let them through).
//
// aws:PrincipalArn is a role's ARN (with its path) for every session of the role, so one entry covers every
// session. resources is "*" in a key policy, the topic ARN or the bucket and object ARNs elsewhere.
func (e Exemptions) Deny(sid string, actions []string, resources any) []map[string]any {
	exempt := append(append([]string{}, e.BreakGlassArns...), e.DeployRoleArns...)
	var cond map[string]any
	if len(exempt) > 0 {
		cond = map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": oneOrList(exempt)}}
	}
	out := []map[string]any{statement(sid, actions, resources, cond)}
	if len(e.BreakGlassArns) > 0 {
		out = append(out, statement(sid+"WithoutMfa", actions, resources, map[string]any{
			"ArnEquals":    map[string]any{"aws:PrincipalArn": oneOrList(e.BreakGlassArns)},
			"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"},
		}))
	}
	return out
}

// BreakGlassOnly is e without the deploy roles, for what CloudFormation never does (bypassing a
// governance-mode retention).
func (e Exemptions) BreakGlassOnly() Exemptions { return Exemptions{BreakGlassArns: e.BreakGlassArns} }

// MinimumDeletionWindow denies ScheduleKeyDeletion with a waiting period under MinDeletionWindowDays to
// every principal, exempt or not. kms:ScheduleKeyDeletionPendingWindowInDays holds the request's
// PendingWindowInDays; NumericLessThan does not match a request without it, which KMS gives the default
// (and maximum) waiting period of 30 days. CloudFormation's own deletion of a key uses the template's
// PendingWindowInDays, which is 30 for every kmsguard key.
func MinimumDeletionWindow(sid string) map[string]any {
	return statement(sid, []string{"kms:ScheduleKeyDeletion"}, "*", map[string]any{
		"NumericLessThan": map[string]any{"kms:ScheduleKeyDeletionPendingWindowInDays": fmt.Sprint(MinDeletionWindowDays)},
	})
}

func statement(sid string, actions []string, resources any, cond map[string]any) map[string]any {
	s := map[string]any{
		"Sid":       sid,
		"Effect":    "Deny",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    oneOrList(actions),
		"Resource":  resources,
	}
	if cond != nil {
		s["Condition"] = cond
	}
	return s
}

// oneOrList writes a single value as a string, as IAM and the CDK do, so templates stay stable.
func oneOrList(values []string) any {
	if len(values) == 1 {
		return values[0]
	}
	return append([]string{}, values...)
}
