package detection

// The event patterns are plain data built by pure functions, so that they can be unit-tested and replayed
// (internal/replay) exactly as EventBridge will see them. Tiers are disjoint by construction: key-danger
// and audit-tamper take successful calls (or, for key-danger, failures that are not denials), denied takes
// denials, key-use takes the remaining successful calls on the key.

const (
	apiCall      = "AWS API Call via CloudTrail"
	serviceEvent = "AWS Service Event via CloudTrail"
)

// DangerEvents are the calls that change who can use the master key or whether it exists. A successful one
// is critical even when it was meant: it must be seen by a human.
var DangerEvents = []string{
	"CancelKeyDeletion", "CreateAlias", "CreateGrant", "DeleteAlias", "DisableKey", "DisableKeyRotation",
	"EnableKey", "PutKeyPolicy", "RetireGrant", "RevokeGrant", "ScheduleKeyDeletion", "UpdateAlias",
}

// aliasEvents can repoint or remove the alias MariaDB may be configured with, whichever key they name.
var aliasEvents = []string{"CreateAlias", "DeleteAlias", "UpdateAlias"}

// DeniedCodes are the denial spellings seen in CloudTrail (AccessDenied, AccessDeniedException,
// Client.UnauthorizedOperation, UnauthorizedOperation, SNS's AuthorizationError), matched by shape
// rather than an exact list so that a new spelling is not missed.
var DeniedCodes = []any{
	map[string]any{"wildcard": "*AccessDenied*"},
	map[string]any{"suffix": "UnauthorizedOperation"},
	map[string]any{"prefix": "AuthorizationError"},
}

// UnusableKeyCodes mean the key could not be used because it is disabled or pending deletion: on our key
// that is either the enable/disable workflow going wrong or someone probing it.
var UnusableKeyCodes = []any{"DisabledException", "KMSInvalidStateException"}

// knownDenialSpellings lists the exact codes the key-danger "failed call" rule leaves to the denied tier.
// anything-but takes exact values only, so a future spelling outside this list would alert in both tiers:
// a duplicate, never a miss.
var knownDenialSpellings = []any{
	"AccessDenied", "AccessDeniedException", "Client.AccessDenied", "Client.UnauthorizedOperation",
	"UnauthorizedOperation", "DisabledException", "KMSInvalidStateException",
}

var (
	succeeded = []any{map[string]any{"exists": false}}
	failed    = []any{map[string]any{"exists": true}}
)

// Targets names what the patterns watch. Values may be CloudFormation tokens.
type Targets struct {
	KeyArn, KeyID, KeyAlias, AliasArn string
	AuditKeyArns                      []string // the audit key and every alert topic's key
	TrailName                         string
	BucketNames                       []string
	NamePrefix                        string // rules and alarms of this stack are named NamePrefix-...
	UserArns                          []string
	UserNames                         []string // the same users by name, for the IAM metric filter
	// LogGroupName, TopicArns and DeadLetterQueueURLs are filled in by New from Props.LogGroup, the
	// destinations' topics and the queues it creates; patterns built without queue URLs watch no queue.
	LogGroupName        string
	TopicArns           []string
	DeadLetterQueueURLs []string
}

func strs(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func kms(detail map[string]any) map[string]any {
	detail["eventSource"] = strs("kms.amazonaws.com")
	return map[string]any{"detail-type": strs(apiCall), "detail": detail}
}

func onKey(t Targets) map[string]any { return map[string]any{"ARN": strs(t.KeyArn)} }

// KeyDangerPatterns: successful danger calls on the key, alias changes by alias name, the deletion itself
// (a service event after the waiting period), and any failure on the key that is not a denial.
func KeyDangerPatterns(t Targets) []map[string]any {
	return []map[string]any{
		kms(map[string]any{"eventName": strs(DangerEvents...), "resources": onKey(t), "errorCode": succeeded}),
		kms(map[string]any{"eventName": strs(aliasEvents...), "requestParameters": map[string]any{"aliasName": strs(t.KeyAlias)}, "errorCode": succeeded}),
		{"detail-type": strs(serviceEvent), "detail": map[string]any{
			"eventSource": strs("kms.amazonaws.com"), "eventName": strs("DeleteKey"), "resources": onKey(t)}},
		kms(map[string]any{"resources": onKey(t), "errorCode": []any{map[string]any{"anything-but": knownDenialSpellings}}}),
	}
}

// DeniedPatterns: denials and unusable-key errors on the key (found by the resolved key, the alias, or the
// key id the caller sent), denials on the audit pipeline (one rule per group of pipelineScopeGroups), and
// refused MFA sessions of our users (a wrong or guessed MFA code).
func DeniedPatterns(t Targets) []map[string]any {
	kmsCodes := append(append([]any{}, DeniedCodes...), UnusableKeyCodes...)
	patterns := []map[string]any{
		kms(map[string]any{"errorCode": kmsCodes, "$or": []any{
			map[string]any{"resources": onKey(t)},
			map[string]any{"requestParameters": map[string]any{"aliasName": strs(t.KeyAlias)}},
			map[string]any{"requestParameters": map[string]any{"keyId": strs(t.KeyArn, t.KeyID, t.KeyAlias, t.AliasArn)}},
		}}),
	}
	for _, group := range pipelineScopeGroups(t) {
		patterns = append(patterns, map[string]any{"detail-type": strs(apiCall), "detail": map[string]any{"errorCode": DeniedCodes, "$or": group}})
	}
	return append(patterns, map[string]any{"detail-type": strs(apiCall), "detail": map[string]any{
		"eventSource": strs("sts.amazonaws.com"), "eventName": strs("GetSessionToken"),
		"userIdentity": map[string]any{"arn": strs(t.UserArns...)}, "errorCode": DeniedCodes}})
}

// AuditTamperPatterns: successful changes to the trail, its buckets, the audit log group, the audit key,
// the alert rules, the alarms and the alert topic, one rule per group of pipelineScopeGroups.
func AuditTamperPatterns(t Targets) []map[string]any {
	var patterns []map[string]any
	for _, group := range pipelineScopeGroups(t) {
		patterns = append(patterns, map[string]any{"detail-type": strs(apiCall), "detail": map[string]any{"errorCode": succeeded, "$or": group}})
	}
	return patterns
}

// KeyUsePatterns: every other successful call on the key, including the plugin's read-only Decrypt and
// GenerateDataKeyWithoutPlaintext (hence the rule state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS).
func KeyUsePatterns(t Targets) []map[string]any {
	return []map[string]any{kms(map[string]any{
		"eventName": []any{map[string]any{"anything-but": strs(DangerEvents...)}},
		"resources": onKey(t), "errorCode": succeeded,
	})}
}

// pipelineScopeGroups are the audit pipeline's calls that can blind or silence kmsguard, one alternative
// per service and request field, each naming only this stack's resources, in the groups that share one
// rule. EventBridge takes an event pattern of at most 2,048 characters; each group keeps its rule within
// kmsguard's budget of 1,536 at the longest names the configuration accepts (docs/quotas.md). The groups
// split by service or by event name, so that one call matches at most one group: one email per event.
func pipelineScopeGroups(t Targets) [][]any {
	source := func(s string) []any { return strs(s + ".amazonaws.com") }
	req := func(field string, values ...any) map[string]any {
		return map[string]any{field: values}
	}
	ourNames := map[string]any{"prefix": t.NamePrefix + "-"}
	ourTrail := []any{t.TrailName, map[string]any{"suffix": ":trail/" + t.TrailName}}
	ourLogGroup := []any{t.LogGroupName, map[string]any{"suffix": ":log-group:" + t.LogGroupName},
		map[string]any{"suffix": ":log-group:" + t.LogGroupName + ":*"}}
	trail := []any{
		// StopLogging, DeleteTrail and UpdateTrail name the trail in "name"; the selector calls in "trailName".
		map[string]any{"eventSource": source("cloudtrail"),
			"eventName":         strs("DeleteTrail", "StopLogging", "UpdateTrail"),
			"requestParameters": req("name", ourTrail...)},
		map[string]any{"eventSource": source("cloudtrail"),
			"eventName":         strs("PutEventSelectors", "PutInsightSelectors"),
			"requestParameters": req("trailName", ourTrail...)},
	}
	logs := []any{
		map[string]any{"eventSource": source("logs"),
			"eventName": strs("DeleteLogGroup", "DeleteMetricFilter", "DeleteRetentionPolicy", "DisassociateKmsKey",
				"PutMetricFilter", "PutRetentionPolicy"),
			"requestParameters": req("logGroupName", t.LogGroupName)},
		// Newer log group APIs take an identifier that is the name or the ARN.
		map[string]any{"eventSource": source("logs"),
			"eventName":         strs("PutLogGroupDeletionProtection"),
			"requestParameters": req("logGroupIdentifier", ourLogGroup...)},
	}
	buckets := []any{
		map[string]any{"eventSource": source("logs"),
			"eventName":         strs("DisassociateKmsKey"),
			"requestParameters": req("resourceIdentifier", ourLogGroup...)},
		map[string]any{"eventSource": source("s3"),
			"eventName": strs("DeleteBucket", "DeleteBucketEncryption", "DeleteBucketLifecycle", "DeleteBucketOwnershipControls",
				"DeleteBucketPolicy", "DeleteBucketPublicAccessBlock", "PutBucketAcl", "PutBucketEncryption", "PutBucketLifecycle",
				"PutBucketLogging", "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketVersioning",
				"PutObjectLockConfiguration"),
			"requestParameters": req("bucketName", strs(t.BucketNames...)...)},
	}
	keysRulesAlarms := []any{
		map[string]any{"eventSource": source("kms"),
			"eventName": strs("DisableKey", "DisableKeyRotation", "PutKeyPolicy", "ScheduleKeyDeletion"),
			"resources": map[string]any{"ARN": strs(t.AuditKeyArns...)}},
		map[string]any{"eventSource": source("events"),
			"eventName":         strs("DeleteRule", "DisableRule", "PutRule"),
			"requestParameters": req("name", ourNames)},
		map[string]any{"eventSource": source("events"),
			"eventName":         strs("PutTargets", "RemoveTargets"),
			"requestParameters": req("rule", ourNames)},
		map[string]any{"eventSource": source("monitoring"),
			"eventName":         strs("DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm"),
			"requestParameters": req("alarmNames", ourNames)},
		map[string]any{"eventSource": source("monitoring"),
			"eventName":         strs("PutMetricAlarm"),
			"requestParameters": req("alarmName", ourNames)},
	}
	subscriptionsOf := make([]any, len(t.TopicArns))
	for i, topic := range t.TopicArns {
		subscriptionsOf[i] = map[string]any{"prefix": topic + ":"}
	}
	delivery := []any{
		map[string]any{"eventSource": source("sns"),
			"eventName":         strs("AddPermission", "DeleteTopic", "PutDataProtectionPolicy", "RemovePermission", "SetTopicAttributes", "Subscribe"),
			"requestParameters": req("topicArn", strs(t.TopicArns...)...)},
		map[string]any{"eventSource": source("sns"),
			// A filter policy that matches nothing silences a subscription as surely as removing it.
			"eventName":         strs("SetSubscriptionAttributes", "Unsubscribe"),
			"requestParameters": req("subscriptionArn", subscriptionsOf...)},
	}
	if len(t.DeadLetterQueueURLs) > 0 {
		delivery = append(delivery, map[string]any{"eventSource": source("sqs"),
			"eventName":         strs("DeleteQueue", "PurgeQueue", "RemovePermission", "SetQueueAttributes"),
			"requestParameters": req("queueUrl", strs(t.DeadLetterQueueURLs...)...)})
	}
	return [][]any{trail, logs, buckets, keysRulesAlarms, delivery}
}
