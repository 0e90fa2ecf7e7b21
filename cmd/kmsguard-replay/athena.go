package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kmsguard/kmsguard/internal/athena"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// athenaFlags are the flags of --emit athena (docs/replay.md, "Athena").
type athenaFlags struct {
	emit, org, table string
}

func (a *athenaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.emit, "emit", "", "`athena`: print the CREATE TABLE statement for the trail bucket given as s3://BUCKET/PREFIX and one query per tier, instead of replaying")
	fs.StringVar(&a.org, "org", "", "--emit athena: the trail is an organization trail with this `o-ID` (key layout AWSLogs/o-ID/ACCOUNT/...)")
	fs.StringVar(&a.table, "table", athena.DefaultTableName, "--emit athena: the Athena table `name`")
}

// check validates the flags that only --emit athena reads, and the ones it
// cannot honour.
func (a *athenaFlags) check(fs *flag.FlagSet) error {
	if a.emit == "" {
		for _, name := range []string{"org", "table"} {
			if isSet(fs, name) {
				return fmt.Errorf("--%s applies to --emit athena only; add --emit athena or drop the flag", name)
			}
		}
		return nil
	}
	if a.emit != "athena" {
		return fmt.Errorf("--emit %q: the only output is athena", a.emit)
	}
	for _, name := range []string{"show", "json", "top", "workers", "downloads", "profile", "bucket-region"} {
		if isSet(fs, name) {
			return fmt.Errorf("--%s does nothing with --emit athena (nothing is read); drop it", name)
		}
	}
	return nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// emitAthena prints the table and the tier queries for the one s3:// path.
// Unresolved pattern values are an error here, not a warning: a query
// with a stand-in value would silently select nothing for it.
func emitAthena(w io.Writer, paths []string, b *bucketFlags, a *athenaFlags, res replay.Resolver, rules replay.Rules, warnings []string) error {
	bucket, prefix, ok := "", "", len(paths) == 1
	if ok {
		bucket, prefix, ok = replay.ParseS3URL(paths[0])
	}
	if !ok {
		return fmt.Errorf("--emit athena: give the trail bucket as one s3://BUCKET/PREFIX (PREFIX: the trail's key prefix, the part before AWSLogs/); got %q", paths)
	}
	if len(warnings) > 0 {
		return fmt.Errorf("--emit athena: %d pattern values are unknown and would silently match nothing in the queries:\n  %s", len(warnings), strings.Join(warnings, "\n  "))
	}
	t := athena.Table{
		Name: a.table, Bucket: bucket, Prefix: prefix, OrgID: a.org,
		Accounts: b.filter.Accounts, Regions: b.filter.Regions, From: b.filter.From, To: b.filter.To,
	}
	if len(t.Accounts) == 0 && res.Account != "" {
		t.Accounts = []string{res.Account}
	}
	if len(t.Regions) == 0 && res.Region != "" {
		t.Regions = []string{res.Region}
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("--emit athena (flags --table, --org, --accounts or --key-arn's account, --regions or its region, --from, --to, and the s3:// path):\n%w", err)
	}
	return athena.Write(w, rules, t)
}
