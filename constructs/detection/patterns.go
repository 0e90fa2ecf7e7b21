package detection

// The event patterns are plain data built by pure functions, so that they can be unit-tested and replayed
// (internal/replay) exactly as EventBridge will see them. Tiers are disjoint by construction: a successful
// call, or a failed one whose error is not a denial, raises the tier of what it touches (key-danger for the
// master key and the principals that may use it, audit-tamper for the audit pipeline); a denial raises
// denied; key-use takes the successful cryptographic calls on the key and nothing else.

const (
	apiCall      = "AWS API Call via CloudTrail"
	serviceEvent = "AWS Service Event via CloudTrail"
	// kmsSource is the source of the events KMS sends to EventBridge itself, not through CloudTrail
	// (docs/aws-facts.md, "KMS's own EventBridge events").
	kmsSource = "aws.kms"
)

// DangerEvents are the calls that change who can use the master key or whether it exists. A successful one
// is critical even when it was meant: it must be seen by a human. ReplicateKey (a copy of a multi-Region key
// in another region, with a key policy of the caller's choosing) and UpdatePrimaryRegion (which key is the
// primary) apply only to multi-Region keys (docs/fleet.md, "Multi-Region key"); on a single-Region key
// they fail, and the failure alerts as an attempt.
var DangerEvents = []string{
	"CancelKeyDeletion", "CreateAlias", "CreateGrant", "DeleteAlias", "DisableKey", "DisableKeyRotation",
	"EnableKey", "PutKeyPolicy", "ReplicateKey", "RetireGrant", "RevokeGrant", "ScheduleKeyDeletion", "UpdateAlias",
	"UpdatePrimaryRegion",
}

// KeyGoneEvents are what KMS itself records, as AwsServiceEvent, when a key becomes unusable for good: the
// deletion at the end of the waiting period and the deletion of expired imported key material.
var KeyGoneEvents = []string{"DeleteExpiredKeyMaterial", "DeleteKey"}

// CryptoEvents are the cryptographic (data-plane) operations valid for a symmetric encryption KMS key, the
// master key's type (KMS "Key type reference", docs/aws-facts.md). Only these are use of the key:
// DescribeKey, GetKeyPolicy, GetKeyRotationStatus, ListResourceTags and the other reads are what AWS Config,
// Security Hub, drift detection and the console call all day; they alert only when denied.
var CryptoEvents = []string{
	"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
	"GenerateDataKeyWithoutPlaintext", "ReEncrypt",
}

// KMSLifecycleEvents are the detail types KMS sends under source aws.kms that end a key's usefulness: it
// was deleted, or its imported key material expired. "KMS CMK Rotation" is left out on purpose: rotation
// keeps the old key material, changes nothing about who can use the key, and is on by design.
var KMSLifecycleEvents = []string{"KMS CMK Deletion", "KMS Imported Key Material Expiration"}

// aliasEvents can repoint or remove the alias MariaDB may be configured with, whichever key they name.
var aliasEvents = []string{"CreateAlias", "DeleteAlias", "UpdateAlias"}

// roleEvents change who may assume a role or what it may do: its trust policy, its policies, its
// permissions boundary, or the role itself.
var roleEvents = []string{
	"AttachRolePolicy", "DeleteRole", "DeleteRolePermissionsBoundary", "DeleteRolePolicy", "DetachRolePolicy",
	"PutRolePermissionsBoundary", "PutRolePolicy", "UpdateAssumeRolePolicy",
}

// keyUserRoleEvents are roleEvents and the role's creation: a key-user role is named in the key policy by
// ARN, so whoever creates a role of that name (first, or again after a deletion) may use the key; a fleet's
// key-user roles may not exist yet in every member account (docs/fleet.md, "Key users and break-glass
// roles").
var keyUserRoleEvents = []string{
	"AttachRolePolicy", "CreateRole", "DeleteRole", "DeleteRolePermissionsBoundary", "DeleteRolePolicy", "DetachRolePolicy",
	"PutRolePermissionsBoundary", "PutRolePolicy", "UpdateAssumeRolePolicy",
}

// policyVersionEvents change what a customer managed policy says without touching the role it is attached
// to.
var policyVersionEvents = []string{"CreatePolicyVersion", "SetDefaultPolicyVersion"}

// credentialEvents give a user a new way to sign in or to sign requests (access keys, a console password,
// an MFA device), or delete and re-create it (the key policy names users by ARN, so a user re-created under
// the same name regains the key).
var credentialEvents = []string{
	"CreateAccessKey", "CreateLoginProfile", "CreateUser", "DeactivateMFADevice", "DeleteUser", "EnableMFADevice",
	"ResyncMFADevice", "UpdateAccessKey", "UpdateLoginProfile",
}

// stackEvents change or remove the CloudFormation stack, and with it every rule, alarm and policy of
// kmsguard. ExecuteChangeSet may name only the change set's ARN, which does not contain the stack's name:
// the CreateChangeSet that made the change set had to name the stack and alerts already.
var stackEvents = []string{
	"CreateChangeSet", "DeleteStack", "ExecuteChangeSet", "SetStackPolicy", "UpdateStack", "UpdateTerminationProtection",
}

// SecretEvents are the Secrets Manager calls that change a secret, each naming it in requestParameters
// secretId (its name or ARN, partial or complete): its value (PutSecretValue, UpdateSecret, and
// UpdateSecretVersionStage, which moves AWSCURRENT to another version), its description or key
// (UpdateSecret), tags, resource policy, rotation, replication (a replica promoted to a standalone secret by
// StopReplicationToReplica can then be written), and its deletion. CreateSecret names the secret in
// requestParameters name instead (a secret re-created under the name after a forced deletion).
var SecretEvents = []string{
	"CancelRotateSecret", "DeleteResourcePolicy", "DeleteSecret", "PutResourcePolicy", "PutSecretValue",
	"RemoveRegionsFromReplication", "ReplicateSecretToRegions", "RotateSecret", "StopReplicationToReplica", "TagResource",
	"UntagResource", "UpdateSecret", "UpdateSecretVersionStage",
}

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

// knownDenialSpellings lists the exact codes the "failed call" (attempt) rules leave to the denied tier.
// anything-but takes exact values only, so a future spelling outside this list would alert in both tiers:
// a duplicate, never a miss.
var knownDenialSpellings = []any{
	"AccessDenied", "AccessDeniedException", "AuthorizationError", "Client.AccessDenied", "Client.UnauthorizedOperation",
	"UnauthorizedOperation",
}

// keyRefusals are the codes the master key's attempt rule leaves to the denied tier: the denials and the
// unusable-key errors, which the denied tier takes on the master key.
var keyRefusals = append(append([]any{}, knownDenialSpellings...), UnusableKeyCodes...)

var (
	succeeded = []any{map[string]any{"exists": false}}
	failed    = []any{map[string]any{"exists": true}}
)

// attempted matches a failed call whose error is not one of refusals. EventBridge's anything-but matches
// only a present value, so this never matches a success.
func attempted(refusals []any) []any { return []any{map[string]any{"anything-but": refusals}} }

// Targets names what the patterns watch. Values may be CloudFormation tokens. An optional list or name left
// empty is not watched (its alternatives are left out), so that a stack that does not own a resource does
// not name it.
type Targets struct {
	KeyArn, KeyID, KeyAlias, AliasArn string
	// AuditKeyArns are the keys of the audit pipeline: the audit key and every alert topic's key.
	AuditKeyArns []string
	TrailName    string
	BucketNames  []string
	LogGroupName string
	// TopicArn is the alert topic; TopicArns every destination's topic. The patterns watch both (the union).
	TopicArn   string
	TopicArns  []string
	NamePrefix string // rules and alarms of this stack are named NamePrefix-...
	// UserArns are the IAM users that may use the key or administer it (the administrator and the key users
	// that are users); UserNames the same users by name.
	UserArns  []string
	UserNames []string
	// KeyUserRoleNames are the key users that are roles, by role name: whoever may assume one may use the
	// key.
	KeyUserRoleNames []string
	// StackName is the CloudFormation stack; StackArnPrefix its ARN up to and including the slash after the
	// name ("arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/"), which every id of a stack of that
	// name starts with.
	StackName, StackArnPrefix string
	// StackNamePrefix, when set, watches every stack whose name starts with it: the stack instances
	// StackSets names StackSet-NAME-ID (docs/fleet.md).
	StackNamePrefix string
	// DeliveryRoleName is the role CloudTrail uses to write to the audit log group, DeliveryPolicyArn its
	// customer managed policy.
	DeliveryRoleName, DeliveryPolicyArn string
	// SecretName is a Secrets Manager secret of the stack (the multi-Region key's primary ARN, docs/fleet.md),
	// SecretArnPrefix its ARN up to and including the name ("arn:PARTITION:secretsmanager:REGION:ACCOUNT:
	// secret:NAME"), which every form of its ARN starts with (Secrets Manager appends a random suffix).
	SecretName, SecretArnPrefix string
	// DeadLetterQueueURL is filled in by New, which creates the queue; DeadLetterQueueURLs lists every
	// destination's queue. The patterns watch both (the union); none given, no queue is watched.
	DeadLetterQueueURL  string
	DeadLetterQueueURLs []string
}

// topics is every alert topic the patterns watch.
func (t Targets) topics() []string { return union(t.TopicArns, t.TopicArn) }

// queues is every undelivered-alerts queue the patterns watch.
func (t Targets) queues() []string { return union(t.DeadLetterQueueURLs, t.DeadLetterQueueURL) }

// union is list with extra appended when it is set and not already there.
func union(list []string, extra string) []string {
	out := append([]string{}, list...)
	for _, s := range out {
		if s == extra {
			return out
		}
	}
	if extra != "" {
		out = append(out, extra)
	}
	return out
}

func strs(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// kms matches KMS's CloudTrail records: API calls, and the calls AWS services make on a key that CloudTrail
// records as AwsServiceEvent (AWS's own ACM example records such a Decrypt; KMS records its DeleteKey and
// rotation that way), which EventBridge delivers under their own detail type.
func kms(detail map[string]any) map[string]any {
	detail["eventSource"] = strs("kms.amazonaws.com")
	return map[string]any{"detail-type": strs(apiCall, serviceEvent), "detail": detail}
}

func onKey(t Targets) map[string]any { return map[string]any{"ARN": strs(t.KeyArn)} }

// kmsLifecycle matches KMS's own EventBridge events about the given keys (they name the key in the
// event's top-level resources).
func kmsLifecycle(keyArns ...string) map[string]any {
	return map[string]any{"source": strs(kmsSource), "detail-type": strs(KMSLifecycleEvents...), "resources": strs(keyArns...)}
}

// KeyDangerPatterns: successful danger calls on the key and KMS's record of its deletion, alias changes
// by alias name, KMS's own deletion and expiry events, any failure on the key that is not a refusal, and
// the changes that give someone the key users' or the administrator's powers (credentials, sessions,
// role trust), one success rule and one attempt rule per group of keyPrincipalGroups.
func KeyDangerPatterns(t Targets) []map[string]any {
	patterns := []map[string]any{
		kms(map[string]any{"eventName": strs(append(append([]string{}, DangerEvents...), KeyGoneEvents...)...), "resources": onKey(t), "errorCode": succeeded}),
		kms(map[string]any{"eventName": strs(aliasEvents...), "requestParameters": map[string]any{"aliasName": strs(t.KeyAlias)}, "errorCode": succeeded}),
		kmsLifecycle(t.KeyArn),
		kms(map[string]any{"resources": onKey(t), "errorCode": attempted(keyRefusals)}),
	}
	return append(patterns, groupPatterns(keyPrincipalGroups(t))...)
}

// DeniedPatterns: denials and unusable-key errors on the key (found by the resolved key, the alias, or the
// key id the caller sent), and denials of every call the other tiers watch, one rule per group of
// pipelineScopeGroups and keyPrincipalGroups (a refused GetSessionToken of a key user or the administrator
// is a wrong or guessed MFA code).
func DeniedPatterns(t Targets) []map[string]any {
	kmsCodes := append(append([]any{}, DeniedCodes...), UnusableKeyCodes...)
	patterns := []map[string]any{
		kms(map[string]any{"errorCode": kmsCodes, "$or": []any{
			map[string]any{"resources": onKey(t)},
			map[string]any{"requestParameters": map[string]any{"aliasName": strs(t.KeyAlias)}},
			map[string]any{"requestParameters": map[string]any{"keyId": strs(t.KeyArn, t.KeyID, t.KeyAlias, t.AliasArn)}},
		}}),
	}
	for _, group := range append(pipelineScopeGroups(t), keyPrincipalGroups(t)...) {
		patterns = append(patterns, map[string]any{"detail-type": strs(apiCall), "detail": anyOf(map[string]any{"errorCode": DeniedCodes}, group)})
	}
	return patterns
}

// AuditTamperPatterns: changes to the trail, its buckets, the audit log group and its routes, the audit
// and topic keys, the alert rules, the alarms, the topics and queues, the delivery role and the stack, one
// success rule and one attempt rule per group of pipelineScopeGroups (someone trying to stop the trail is
// news whatever the error); and the deletion of an audit or topic key, as KMS records and announces it.
func AuditTamperPatterns(t Targets) []map[string]any {
	patterns := groupPatterns(pipelineScopeGroups(t))
	if len(t.AuditKeyArns) > 0 {
		// Two rules, not one "$or": KMS's own events have no CloudTrail fields, so they get their own email
		// text (KMSEventMessage), and a rule has one.
		patterns = append(patterns,
			map[string]any{"detail-type": strs(serviceEvent), "detail": map[string]any{"eventSource": strs("kms.amazonaws.com"),
				"eventName": strs(KeyGoneEvents...), "resources": map[string]any{"ARN": strs(t.AuditKeyArns...)}}},
			kmsLifecycle(t.AuditKeyArns...))
	}
	return patterns
}

// groupPatterns is, for each group, the success rule and the attempt rule (a failure that is not a
// denial).
func groupPatterns(groups [][]any) []map[string]any {
	var patterns []map[string]any
	for _, group := range groups {
		patterns = append(patterns,
			map[string]any{"detail-type": strs(apiCall), "detail": anyOf(map[string]any{"errorCode": succeeded}, group)},
			map[string]any{"detail-type": strs(apiCall), "detail": anyOf(map[string]any{"errorCode": attempted(knownDenialSpellings)}, group)})
	}
	return patterns
}

// anyOf adds the alternatives of a group to detail: as "$or" when there are several, the one alternative's
// fields themselves when there is one (EventBridge reads "$or" as an or only with two or more branches;
// with one it would be a field named "$or").
func anyOf(detail map[string]any, group []any) map[string]any {
	if len(group) != 1 {
		detail["$or"] = group
		return detail
	}
	for k, v := range group[0].(map[string]any) {
		detail[k] = v
	}
	return detail
}

// KeyUsePatterns: the successful cryptographic calls on the key, including the plugin's read-only Decrypt
// and GenerateDataKeyWithoutPlaintext (hence the rule state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS)
// and an AWS service's use recorded as AwsServiceEvent.
func KeyUsePatterns(t Targets) []map[string]any {
	return []map[string]any{kms(map[string]any{
		"eventName": strs(CryptoEvents...), "resources": onKey(t), "errorCode": succeeded,
	})}
}

func source(s string) []any { return strs(s + ".amazonaws.com") }

// anyCase matches each of names in any letter case, one EventBridge equals-ignore-case per name (the operator
// takes one string; EventBridge "Content filtering", "Equals-ignore-case matching"). It is for the IAM names a
// caller types into a request (requestParameters userName, roleName, policyArn): IAM names are unique
// whatever their case, so a differently cased name can only be the watched entity or nothing, and a record
// that spells it in another case must still alert (docs/aws-facts.md, "IAM names and letter case"). Names
// AWS writes itself, the caller's userIdentity.arn and userName, are in the entity's own case and stay
// exact.
func anyCase(names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"equals-ignore-case": n}
	}
	return out
}

func req(field string, values ...any) map[string]any { return map[string]any{field: values} }

// keyPrincipalGroups are the calls that hand someone the powers of a key user or of the key administrator:
// a new access key, password or MFA device of the administrator or a key user, named in the request or made
// by the user itself (CreateAccessKey without a user name acts on the caller); the user deleted or
// re-created; every session (GetSessionToken) those users start; and, in a group of its own, a key user
// role's creation, trust and policies. EventBridge cannot match "outside the allowed networks" (it has no
// negated cidr), and STS VPC endpoints are not the key's, so every session alerts (docs/aws-facts.md). IAM
// events reach EventBridge only in us-east-1: elsewhere these rules stay quiet and the metric filters carry
// the IAM changes.
//
// The users' group is one alternative: the event names written once, and the two ways to name the user as
// an "$or" of the request's userName (in any case) and the caller's ARN (exact: AWS writes it from the
// authenticated principal, in the user's own case). STS has no credential events and GetSessionToken no
// user name in its request, so this matches what an alternative for each way would, in fewer characters:
// the rule fits kmsguard's pattern budget at the longest names (docs/quotas.md). An "$or" placed directly
// in a branch of another "$or" is not read as an or by internal/eventpattern (docs/aws-facts.md, "A "$or" of
// one alternative is not an OR"), so the roles, which would make a second alternative, are a second group;
// the two groups' event names are disjoint (one email per event).
func keyPrincipalGroups(t Targets) [][]any {
	var groups [][]any
	var users []map[string]any
	if len(t.UserNames) > 0 {
		users = append(users, map[string]any{"requestParameters": req("userName", anyCase(t.UserNames...)...)})
	}
	if len(t.UserArns) > 0 {
		users = append(users, map[string]any{"userIdentity": map[string]any{"arn": strs(t.UserArns...)}})
	}
	switch len(users) {
	case 2:
		groups = append(groups, []any{map[string]any{"eventSource": strs("iam.amazonaws.com", "sts.amazonaws.com"),
			"eventName": strs(append(append([]string{}, credentialEvents...), "GetSessionToken")...),
			"$or":       []any{users[0], users[1]}}})
	case 1:
		alt := users[0]
		alt["eventSource"] = strs("iam.amazonaws.com", "sts.amazonaws.com")
		alt["eventName"] = strs(append(append([]string{}, credentialEvents...), "GetSessionToken")...)
		groups = append(groups, []any{alt})
	}
	if len(t.KeyUserRoleNames) > 0 {
		groups = append(groups, []any{map[string]any{"eventSource": source("iam"), "eventName": strs(keyUserRoleEvents...),
			"requestParameters": req("roleName", anyCase(t.KeyUserRoleNames...)...)}})
	}
	return groups
}

// pipelineScopeGroups are the audit pipeline's calls that can blind or silence kmsguard, one alternative
// per service and request field, each naming only this stack's resources, in the groups that share one
// rule. EventBridge takes an event pattern of at most 2,048 characters; each group keeps its rule within
// kmsguard's budget of 1,536 at the longest names the configuration accepts (docs/quotas.md). The groups
// split by service or by event name, so that one call matches at most one group: one email per event.
func pipelineScopeGroups(t Targets) [][]any {
	ourNames := map[string]any{"prefix": t.NamePrefix + "-"}
	ourTrail := []any{t.TrailName, map[string]any{"suffix": ":trail/" + t.TrailName}}
	ourLogGroup := []any{t.LogGroupName, map[string]any{"suffix": ":log-group:" + t.LogGroupName},
		map[string]any{"suffix": ":log-group:" + t.LogGroupName + ":*"}}
	var trail []any
	if t.TrailName != "" {
		trail = []any{
			// StopLogging, DeleteTrail and UpdateTrail name the trail in "name"; the selector calls in "trailName".
			map[string]any{"eventSource": source("cloudtrail"),
				"eventName":         strs("DeleteTrail", "StopLogging", "UpdateTrail"),
				"requestParameters": req("name", ourTrail...)},
			map[string]any{"eventSource": source("cloudtrail"),
				"eventName":         strs("PutEventSelectors", "PutInsightSelectors"),
				"requestParameters": req("trailName", ourTrail...)},
		}
	}
	// The audit log group's alternatives are long at the longest trail name (each names the group up to
	// three times), so they are spread over three groups.
	var logsByName, logsByID, logKeys []any
	if t.LogGroupName != "" {
		logsByName = []any{
			map[string]any{"eventSource": source("logs"),
				"eventName": strs("AssociateKmsKey", "DeleteLogGroup", "DeleteMetricFilter", "DeleteRetentionPolicy",
					"DeleteSubscriptionFilter", "DisassociateKmsKey", "PutMetricFilter", "PutRetentionPolicy", "PutSubscriptionFilter"),
				"requestParameters": req("logGroupName", t.LogGroupName)},
			// An account-wide policy (subscription filter, transformer, data protection) applies to the audit
			// log group too, whatever it names.
			map[string]any{"eventSource": source("logs"), "eventName": strs("PutAccountPolicy")},
		}
		// Newer log group APIs take an identifier that is the name or the ARN.
		logsByID = []any{map[string]any{"eventSource": source("logs"),
			"eventName": strs("DeleteDataProtectionPolicy", "DeleteTransformer", "PutDataProtectionPolicy",
				"PutLogGroupDeletionProtection", "PutTransformer"),
			"requestParameters": req("logGroupIdentifier", ourLogGroup...)}}
		logKeys = []any{map[string]any{"eventSource": source("logs"),
			"eventName":         strs("AssociateKmsKey", "DisassociateKmsKey"),
			"requestParameters": req("resourceIdentifier", ourLogGroup...)}}
	}
	var buckets []any
	if len(t.BucketNames) > 0 {
		buckets = append(buckets, map[string]any{"eventSource": source("s3"),
			"eventName": strs("DeleteBucket", "DeleteBucketEncryption", "DeleteBucketLifecycle", "DeleteBucketOwnershipControls",
				"DeleteBucketPolicy", "DeleteBucketPublicAccessBlock", "PutBucketAcl", "PutBucketEncryption", "PutBucketLifecycle",
				"PutBucketLogging", "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketVersioning",
				"PutObjectLockConfiguration",
				// Data events, recorded for the trail bucket only (audittrail.TrailSelectors): a log file
				// deleted or its retention changed, with or without the governance bypass.
				"DeleteObject", "DeleteObjects", "PutObjectLegalHold", "PutObjectRetention"),
			"requestParameters": req("bucketName", strs(t.BucketNames...)...)})
	}
	var keysRulesAlarms []any
	if len(t.AuditKeyArns) > 0 {
		keysRulesAlarms = append(keysRulesAlarms, map[string]any{"eventSource": source("kms"),
			"eventName": strs("CreateGrant", "DisableKey", "DisableKeyRotation", "PutKeyPolicy", "ScheduleKeyDeletion"),
			"resources": map[string]any{"ARN": strs(t.AuditKeyArns...)}})
	}
	keysRulesAlarms = append(keysRulesAlarms,
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
	)
	var topicsGroup []any
	if topics := t.topics(); len(topics) > 0 {
		var subscriptions []any
		for _, topic := range topics {
			subscriptions = append(subscriptions, map[string]any{"prefix": topic + ":"})
		}
		topicsGroup = append(topicsGroup,
			map[string]any{"eventSource": source("sns"),
				"eventName":         strs("AddPermission", "DeleteTopic", "RemovePermission", "SetTopicAttributes", "Subscribe"),
				"requestParameters": req("topicArn", strs(topics...)...)},
			// A data protection policy can mask or drop every alert; its API names the topic ResourceArn.
			map[string]any{"eventSource": source("sns"),
				"eventName":         strs("PutDataProtectionPolicy"),
				"requestParameters": req("resourceArn", strs(topics...)...)},
			map[string]any{"eventSource": source("sns"),
				// A filter policy that matches nothing silences a subscription as surely as removing it.
				"eventName":         strs("SetSubscriptionAttributes", "Unsubscribe"),
				"requestParameters": req("subscriptionArn", subscriptions...)})
	}
	logKeysAndQueues := logKeys
	if queues := t.queues(); len(queues) > 0 {
		logKeysAndQueues = append(logKeysAndQueues, map[string]any{"eventSource": source("sqs"),
			"eventName":         strs("DeleteQueue", "PurgeQueue", "RemovePermission", "SetQueueAttributes"),
			"requestParameters": req("queueUrl", strs(queues...)...)})
	}
	var stackAndRole []any
	if t.StackName != "" || t.StackNamePrefix != "" {
		var names []any
		if t.StackName != "" {
			names = append(names, t.StackName)
		}
		if t.StackNamePrefix != "" {
			names = append(names, map[string]any{"prefix": t.StackNamePrefix})
		}
		if t.StackArnPrefix != "" {
			names = append(names, map[string]any{"prefix": t.StackArnPrefix})
		}
		stackAndRole = append(stackAndRole, map[string]any{"eventSource": source("cloudformation"),
			"eventName": strs(stackEvents...), "requestParameters": req("stackName", names...)})
	}
	// The delivery role: IAM events reach EventBridge only in us-east-1; elsewhere the RoleChanges metric
	// filter carries them.
	if t.DeliveryRoleName != "" {
		stackAndRole = append(stackAndRole, map[string]any{"eventSource": source("iam"),
			"eventName": strs(roleEvents...), "requestParameters": req("roleName", anyCase(t.DeliveryRoleName)...)})
	}
	if t.DeliveryPolicyArn != "" {
		stackAndRole = append(stackAndRole, map[string]any{"eventSource": source("iam"),
			"eventName": strs(policyVersionEvents...), "requestParameters": req("policyArn", anyCase(t.DeliveryPolicyArn)...)})
	}
	// The secret, by its name or any form of its ARN (a prefix: the ARN ends in a random suffix, and the
	// name may be given with it).
	var secrets []any
	if t.SecretName != "" {
		secrets = []any{
			map[string]any{"eventSource": source("secretsmanager"), "eventName": strs(SecretEvents...),
				"requestParameters": req("secretId", map[string]any{"prefix": t.SecretName}, map[string]any{"prefix": t.SecretArnPrefix})},
			map[string]any{"eventSource": source("secretsmanager"), "eventName": strs("CreateSecret"),
				"requestParameters": req("name", t.SecretName)},
		}
	}
	// A group with nothing of this stack's to watch has no rule. New groups go last, so that the rules of the
	// others keep their ids.
	var groups [][]any
	for _, g := range [][]any{trail, logsByName, logsByID, logKeysAndQueues, buckets, keysRulesAlarms, topicsGroup, stackAndRole, secrets} {
		if len(g) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}
