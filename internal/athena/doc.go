// Package athena hands kmsguard's alert rules to Amazon Athena: the
// CREATE EXTERNAL TABLE statement for a trail's CloudTrail logs (AWS's
// documented table, with partition projection over accounts, regions and
// days) and, per tier, a query selecting the records the tier's rules
// would have alerted on.
//
// The queries are generated from the compiled patterns that
// kmsguard-replay runs (replay.LoadRules, eventpattern), never from a
// second reading of the pattern JSON, so replay and Athena cannot drift
// apart; the tests run them in an embedded SQL engine over the labelled
// corpus and over one generated event per pattern alternative, and require
// exactly replay's records per tier. docs/replay.md ("Athena") lists what
// the translation assumes of CloudTrail's records and what it refuses.
package athena
