// Package testdata is the labelled CloudTrail corpus and the red-team attack records, embedded where they
// live so that kmsguard-summary --diff (docs/review.md) replays the same files the detection tests read,
// with no second copy to drift. The templates in this directory are not embedded.
package testdata

import "embed"

// Labelled holds cloudtrail/corpus.jsonl and redteam/*.jsonl (test/testdata/cloudtrail/README.md says
// what a line is).
//
//go:embed cloudtrail/corpus.jsonl redteam/*.jsonl
var Labelled embed.FS
