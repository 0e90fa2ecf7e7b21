package detection

import "strings"

// MetricFilter is one CloudWatch Logs metric filter on the trail's log group, and the alarm it feeds.
// Threshold 0 means "no alarm" (the metric only feeds the dashboard).
type MetricFilter struct {
	ID          string
	MetricName  string
	Pattern     string
	Dimensions  map[string]string
	Threshold   float64
	Description string
}

func or(terms ...string) string  { return "(" + strings.Join(terms, " || ") + ")" }
func and(terms ...string) string { return "(" + strings.Join(terms, " && ") + ")" }
func eq(selector, value string) string {
	return "($." + selector + " = \"" + value + "\")"
}
func eventNames(names ...string) string {
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = eq("eventName", n)
	}
	return or(terms...)
}

// userNames matches a call about one of the users: named in the request, or made by the user about itself
// (CreateAccessKey and friends without a UserName act on the caller).
func userNames(names []string) string {
	var terms []string
	for _, n := range names {
		terms = append(terms, eq("requestParameters.userName", n), eq("userIdentity.userName", n))
	}
	return or(terms...)
}

// requestUserNames matches a call that names one of the users in its request.
func requestUserNames(names []string) string {
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = eq("requestParameters.userName", n)
	}
	return or(terms...)
}

// onOurKey selects CloudTrail records about the master key: KMS lists the key it acted on in resources
// (second for a ReEncrypt into our key), and a call refused before KMS resolved the key names it only in
// requestParameters.keyId, as whatever the caller sent (the alias ARN form is left to the EventBridge rules:
// CloudWatch caps a filter pattern at 1024 characters).
func onOurKey(t Targets) string {
	return and(eq("eventSource", "kms.amazonaws.com"), or(
		eq("resources[0].ARN", t.KeyArn), eq("resources[1].ARN", t.KeyArn),
		eq("requestParameters.keyId", t.KeyArn), eq("requestParameters.keyId", t.KeyID),
		eq("requestParameters.keyId", t.KeyAlias)))
}

// MetricFilters are the CIS-style filters (the shapes Security Hub's CloudWatch.* controls look for), scoped
// to this stack where the CIS original is account-wide and noisy.
func MetricFilters(t Targets) []MetricFilter {
	filters := []MetricFilter{
		{
			ID: "UnauthorizedCalls", MetricName: "UnauthorizedCalls", Threshold: 5,
			// CIS 3.1/4.1 with its documented noise exclusions (log delivery's own probes and HeadBucket);
			// a threshold of 5 in 5 minutes keeps single benign probes quiet. Denials on the master key
			// alert on their own, at the first one (KeyDenied and the denied tier).
			Pattern: "{" + and(or(eq("errorCode", "*UnauthorizedOperation"), eq("errorCode", "AccessDenied*")),
				"($.sourceIPAddress != \"delivery.logs.amazonaws.com\")", "($.eventName != \"HeadBucket\")") + "}",
			Description: "Unauthorized API calls in the account (CIS 3.1): 5 or more in 5 minutes",
		},
		{
			ID: "KeyDenied", MetricName: "KeyDeniedCalls", Threshold: 1,
			Pattern: "{" + and(onOurKey(t), or(eq("errorCode", "*AccessDenied*"), eq("errorCode", "*UnauthorizedOperation"),
				eq("errorCode", "DisabledException"), eq("errorCode", "KMSInvalidStateException"))) + "}",
			Description: "A call on the MariaDB master key was denied or hit the disabled key",
		},
		{
			ID: "KeyDisabledOrScheduledForDeletion", MetricName: "KeyStateChanges", Threshold: 1,
			Pattern:     "{" + and(onOurKey(t), eventNames("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy")) + "}",
			Description: "The MariaDB master key was disabled, scheduled for deletion, or its policy changed (CIS 3.7/4.7, scoped to this key)",
		},
		{
			ID: "CloudTrailChanges", MetricName: "CloudTrailChanges", Threshold: 1,
			Pattern:     "{" + eventNames("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", "PutEventSelectors") + "}",
			Description: "A CloudTrail trail was created, changed, stopped or deleted (CIS 3.5/4.5)",
		},
		{
			ID: "ConsoleSignInWithoutMfa", MetricName: "ConsoleSignInWithoutMfa", Threshold: 1,
			Pattern: "{" + and(eq("eventName", "ConsoleLogin"), "($.additionalEventData.MFAUsed != \"Yes\")",
				eq("userIdentity.type", "IAMUser"), eq("responseElements.ConsoleLogin", "Success")) + "}",
			Description: "An IAM user signed in to the console without MFA (CIS 3.2/4.2)",
		},
		{
			ID: "AlertPipelineChanges", MetricName: "AlertPipelineChanges", Threshold: 1,
			Pattern: "{" + and(eq("eventSource", "events.amazonaws.com"),
				eventNames("DeleteRule", "DisableRule", "PutRule", "PutTargets", "RemoveTargets"),
				or(eq("requestParameters.name", t.NamePrefix+"-*"), eq("requestParameters.rule", t.NamePrefix+"-*"))) + "}",
			Description: "A kmsguard EventBridge rule or its target was changed or removed (expected during cdk deploy)",
		},
		{
			ID: "KeyPrincipalChanges", MetricName: "KeyPrincipalChanges", Threshold: 1,
			// IAM is global: its events reach EventBridge only in us-east-1, but the multi-region trail
			// brings them to this log group whatever the stack's region, so this path is a metric filter.
			// Every IAM write about these users (keys, passwords, MFA devices, policies, groups, tags),
			// whether it names them or they act on themselves; reads are left out.
			Pattern:     "{" + and(eq("eventSource", "iam.amazonaws.com"), "($.readOnly IS FALSE)", userNames(t.UserNames)) + "}",
			Description: "Credentials, MFA devices or permissions of the key administrator or a key user changed",
		},
		{
			ID: "KeyPrincipalReplaced", MetricName: "KeyPrincipalReplaced", Threshold: 1,
			// The key policy names its users by aws:PrincipalArn (docs/aws-facts.md), which a user deleted
			// and re-created under the same name matches again. Both calls alarm on their own, whoever
			// makes them, in any region (a metric filter, for the reason above).
			Pattern: "{" + and(eq("eventSource", "iam.amazonaws.com"), eventNames("CreateUser", "DeleteUser"),
				requestUserNames(t.UserNames)) + "}",
			Description: "The key administrator or a key user was deleted or created; a user re-created under the same name regains the master key",
		},
		{
			ID: "KeyPrincipalSessions", MetricName: "KeyPrincipalSessions", Threshold: 1,
			// STS is regional: a session started at another region's endpoint reaches that region's
			// EventBridge, not ours, but the multi-region trail brings it here. Refused ones count too.
			Pattern: "{" + and(eq("eventSource", "sts.amazonaws.com"), eq("eventName", "GetSessionToken"),
				identityNames(t.UserNames)) + "}",
			Description: "The key administrator or a key user started a session (GetSessionToken), in any region",
		},
	}
	if roles := roleChanges(t); roles != "" {
		filters = append(filters, MetricFilter{
			ID: "RoleChanges", MetricName: "RoleChanges", Threshold: 1,
			// IAM events reach EventBridge only in us-east-1; the trail brings them here from anywhere.
			Pattern:     "{" + roles + "}",
			Description: "The trail's delivery role or a key user's role changed: trust policy, policies, boundary, or the role itself",
		})
	}
	return append(filters, []MetricFilter{
		{
			ID: "KeyCalls", MetricName: "KeyCalls",
			Pattern:     "{" + onOurKey(t) + "}",
			Dimensions:  map[string]string{"EventName": "$.eventName"},
			Description: "Calls on the MariaDB master key by event name (dashboard only)",
		},
	}...)
}

// identityNames matches a call made by one of the users.
func identityNames(names []string) string {
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = eq("userIdentity.userName", n)
	}
	return or(terms...)
}

// roleChanges matches IAM writes that name the trail's delivery role, a key user's role, or the delivery
// role's managed policy ("" when there is none to watch).
func roleChanges(t Targets) string {
	var terms []string
	for _, r := range append(append([]string{}, t.KeyUserRoleNames...), t.DeliveryRoleName) {
		if r != "" {
			terms = append(terms, eq("requestParameters.roleName", r))
		}
	}
	if t.DeliveryPolicyArn != "" {
		terms = append(terms, eq("requestParameters.policyArn", t.DeliveryPolicyArn))
	}
	if len(terms) == 0 {
		return ""
	}
	return and(eq("eventSource", "iam.amazonaws.com"), "($.readOnly IS FALSE)", or(terms...))
}
