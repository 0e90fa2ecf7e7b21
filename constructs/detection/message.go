package detection

import (
	"encoding/json"
	"strings"
)

// inputPaths are the CloudTrail fields every alert email shows. A field absent from an event (no error
// code on a success, no VPC endpoint on an internet call) comes out empty, so the "Named" line can list
// every request field that names a resource and shows only the one the call used. Whole objects are not
// inserted: a JSON object inside a text line would not read as text.
var inputPaths = map[string]string{
	"account":      "$.account",
	"detailType":   "$.detail-type",
	"errorCode":    "$.detail.errorCode",
	"errorMessage": "$.detail.errorMessage",
	"eventId":      "$.detail.eventID",
	"eventName":    "$.detail.eventName",
	"eventSource":  "$.detail.eventSource",
	"principal":    "$.detail.userIdentity.arn",
	"principalTyp": "$.detail.userIdentity.type",
	"kmsKeyId":     "$.detail.key-id",
	"region":       "$.region",
	"reqAlias":     "$.detail.requestParameters.aliasName",
	"reqAlarm":     "$.detail.requestParameters.alarmName",
	"reqBucket":    "$.detail.requestParameters.bucketName",
	"reqKeyId":     "$.detail.requestParameters.keyId",
	"reqLogGroup":  "$.detail.requestParameters.logGroupName",
	"reqLogGrpId":  "$.detail.requestParameters.logGroupIdentifier",
	"reqResource":  "$.detail.requestParameters.resourceIdentifier",
	"reqSubscr":    "$.detail.requestParameters.subscriptionArn",
	"reqQueue":     "$.detail.requestParameters.queueUrl",
	"reqName":      "$.detail.requestParameters.name",
	"reqPolicy":    "$.detail.requestParameters.policyArn",
	"reqRole":      "$.detail.requestParameters.roleName",
	"reqStack":     "$.detail.requestParameters.stackName",
	"reqUser":      "$.detail.requestParameters.userName",
	"reqRule":      "$.detail.requestParameters.rule",
	"reqTopic":     "$.detail.requestParameters.topicArn",
	"reqTrail":     "$.detail.requestParameters.trailName",
	"sourceIp":     "$.detail.sourceIPAddress",
	"time":         "$.time",
	"userAgent":    "$.detail.userAgent",
	"vpce":         "$.detail.vpcEndpointId",
}

// InputPaths is a copy of the CloudTrail fields every alert email shows, by placeholder name, for rules
// built outside this package (the fleet's central rules, docs/fleet.md) that render the same messages.
func InputPaths() map[string]string {
	out := make(map[string]string, len(inputPaths))
	for k, v := range inputPaths {
		out[k] = v
	}
	return out
}

// Message is the email text for one tier: what happened to which resource, who did it from where and when,
// whether it failed, and how to find the event in CloudTrail. subject names the watched resource. KMS's own
// events (source aws.kms) carry no CloudTrail fields: they get KMSEventMessage.
func Message(t Tier, subject string) []string {
	return message(t, subject, "<eventName> on "+subject, t.Meaning)
}

// AttemptMessage is the email text of an attempt rule: a call that failed with an error that is not a
// denial. The first line says so and names the error, so that nobody mistakes it for a change that happened.
func AttemptMessage(t Tier, subject string) []string {
	return message(t, subject, "attempt failed: <errorCode>: <eventName> on "+subject,
		t.Meaning+" This call failed, so nothing changed, but someone tried it.")
}

func message(t Tier, subject, headline, meaning string) []string {
	return []string{
		"[" + strings.ToUpper(t.Severity) + "] kmsguard " + t.Name + ": " + headline,
		meaning,
		"",
		"What:   <eventSource> <eventName> (<detailType>)",
		"Target: " + subject,
		"Who:    <principal> (<principalTyp>)",
		"From:   source IP <sourceIp>, VPC endpoint <vpce>, agent <userAgent>",
		"When:   <time> in <region>, account <account>",
		"Error:  <errorCode> <errorMessage>",
		"Named:  <reqName><reqTrail><reqRule><reqAlias><reqKeyId><kmsKeyId><reqBucket><reqLogGroup><reqLogGrpId><reqResource><reqTopic><reqSubscr><reqQueue><reqAlarm><reqStack><reqRole><reqUser><reqPolicy>",
		"",
		"Look it up: https://console.aws.amazon.com/cloudtrail/home?region=<region>#/events/<eventId>",
		"       or: aws cloudtrail lookup-events --region <region> --lookup-attributes AttributeKey=EventId,AttributeValue=<eventId>",
	}
}

// kmsEventPaths are the fields of the events KMS sends itself (source aws.kms): the envelope and the key id
// in detail. They have no caller, no request and no CloudTrail event id, so the CloudTrail lines of
// Message would all come out empty.
var kmsEventPaths = map[string]string{
	"account":    "$.account",
	"detailType": "$.detail-type",
	"eventBusId": "$.id",
	"kmsKeyId":   "$.detail.key-id",
	"region":     "$.region",
	"time":       "$.time",
}

// KMSEventMessage is the email text of a rule on KMS's own events: what KMS announced (the key's deletion at
// the end of its waiting period, or its imported key material expiring), for which key, and how to look at
// the key and at the CloudTrail record of the same deletion (a DeleteKey service event, found by the key id).
func KMSEventMessage(t Tier, subject string) []string {
	return []string{
		"[" + strings.ToUpper(t.Severity) + "] kmsguard " + t.Name + ": <detailType> of key <kmsKeyId> (" + subject + ")",
		t.Meaning,
		"",
		"What:   <detailType>, announced by KMS itself (source aws.kms): no caller and no request",
		"Target: " + subject,
		"Key:    <kmsKeyId> in <region>, account <account>",
		"When:   <time>",
		"Event:  <eventBusId> (EventBridge event id)",
		"",
		"Look it up: aws kms describe-key --region <region> --key-id <kmsKeyId>",
		"       and: aws cloudtrail lookup-events --region <region> --lookup-attributes AttributeKey=ResourceName,AttributeValue=<kmsKeyId>",
	}
}

// MessageFor is the email text of the rule with this pattern: KMSEventMessage for a rule on KMS's own
// events, AttemptMessage for an attempt rule (one whose errorCode must be present and not a refusal), else
// Message.
func MessageFor(t Tier, subject string, pattern map[string]any) []string {
	if IsKMSEvent(pattern) {
		return KMSEventMessage(t, subject)
	}
	if IsAttempt(pattern) {
		return AttemptMessage(t, subject)
	}
	return Message(t, subject)
}

// PathsFor is the InputPathsMap of the rule with this pattern, matching MessageFor's text.
func PathsFor(pattern map[string]any) map[string]string {
	if IsKMSEvent(pattern) {
		return kmsEventPaths
	}
	return inputPaths
}

// IsKMSEvent reports whether a pattern matches only the events KMS sends itself: its source is aws.kms alone.
func IsKMSEvent(pattern map[string]any) bool {
	src, _ := pattern["source"].([]any)
	return len(src) == 1 && src[0] == kmsSource
}

// IsAttempt reports whether a pattern matches only failed calls whose error is not a refusal: its
// detail.errorCode is one anything-but.
func IsAttempt(pattern map[string]any) bool {
	detail, _ := pattern["detail"].(map[string]any)
	codes, _ := detail["errorCode"].([]any)
	if len(codes) != 1 {
		return false
	}
	op, _ := codes[0].(map[string]any)
	_, ok := op["anything-but"]
	return ok && len(op) == 1
}

// InputTemplate renders the lines the way EventBridge's documented multi-line text input is written: one
// JSON string per line, which SNS delivers as readable lines (a single string would show "\n" escapes).
func InputTemplate(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		b, _ := json.Marshal(l)
		// json.Marshal escapes < and > for HTML; EventBridge placeholders need them literal.
		s := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
		out[i] = s
	}
	return strings.Join(out, "\n")
}
