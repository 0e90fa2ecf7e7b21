// Package replay answers "which alerts would last month's CloudTrail have
// raised?" before a stack is deployed: it reads CloudTrail records, wraps
// each one as EventBridge does, and applies the AWS::Events::Rule
// resources of a synthesized CloudFormation template, rule state included.
//
// The API, for the kmsguard-replay command and for tests that replay a
// labelled corpus through the synthesized template:
//
//	res, _ := replay.NewResolver(keyARN)          // partition/region/account from the ARN
//	rules, warnings, err := replay.LoadRules(templateJSON, res)
//	ev, _ := replay.WrapRecord(record)             // record: map[string]any from encoding/json
//	tiers := rules.Tiers(ev)                       // sorted tiers whose rules fire
//
// LoadRules resolves each event pattern's intrinsics with
// internal/cfntemplate, the one template reader every kmsguard tool uses.
//
// Replay streams files and directories (gzip or not, CloudTrail log files
// or JSON lines) and returns a Summary per tier. Each record is decoded
// once, by a scanner that builds only the fields the rules and the summary
// read and validates the rest (project.go; eventpattern.Parse for what it
// leaves, ReadRecords for whole records); the EventBridge envelope is built
// around the decoded record without re-marshalling it.
//
// How EventBridge treats CloudTrail records (EventBridge User Guide, "AWS
// service events delivered via AWS CloudTrail" and "Receiving read-only
// management events from AWS services"):
//   - detail-type follows eventType: AwsApiCall "AWS API Call via
//     CloudTrail", AwsServiceEvent "AWS Service Event via CloudTrail",
//     AwsConsoleSignIn "AWS Console Signin via CloudTrail", AwsConsoleAction
//     "AWS Console Action via CloudTrail", AwsCloudTrailInsight "AWS Insight
//     via CloudTrail"; other event types are not delivered;
//   - source is "aws." plus the eventSource service prefix;
//   - DISABLED rules see nothing; ENABLED rules do not see read-only
//     management events; ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS sees all.
package replay
