package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kmsguard/kmsguard/internal/replay"
)

// bucketFlags are the flags of s3:// inputs (docs/replay.md, "Reading the
// trail bucket").
type bucketFlags struct {
	profile, bucketRegion       string
	from, to, accounts, regions string
	downloads                   int
	filter                      replay.Filter
}

func (b *bucketFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.profile, "profile", "", "AWS shared-config profile for s3:// inputs (default: the SDK's default credential chain)")
	fs.StringVar(&b.bucketRegion, "bucket-region", "", "region of the trail bucket (default: the profile's or AWS_REGION, else the --key-arn region)")
	fs.StringVar(&b.from, "from", "", "s3:// inputs: first day to read, `YYYY-MM-DD` (UTC, as in the key layout)")
	fs.StringVar(&b.to, "to", "", "s3:// inputs: last day to read, `YYYY-MM-DD`, included")
	fs.StringVar(&b.accounts, "accounts", "", "s3:// inputs: only these account ids (comma-separated)")
	fs.StringVar(&b.regions, "regions", "", "s3:// inputs: only these regions (comma-separated)")
	fs.IntVar(&b.downloads, "downloads", 8, "s3:// inputs: objects downloaded at once")
}

// check validates the flags against the paths; the message names the flag
// and the fix.
func (b *bucketFlags) check(paths []string) error {
	var err error
	day := func(flagName, v string) time.Time {
		if v == "" || err != nil {
			return time.Time{}
		}
		t, perr := time.Parse(time.DateOnly, v)
		if perr != nil {
			err = fmt.Errorf("--%s %q: want a day as YYYY-MM-DD, e.g. 2024-05-01", flagName, v)
		}
		return t
	}
	b.filter.From, b.filter.To = day("from", b.from), day("to", b.to)
	if err != nil {
		return err
	}
	if !b.filter.From.IsZero() && !b.filter.To.IsZero() && b.filter.To.Before(b.filter.From) {
		return fmt.Errorf("--to %s is before --from %s: swap them", b.to, b.from)
	}
	b.filter.Accounts = splitList(b.accounts)
	for _, a := range b.filter.Accounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return fmt.Errorf("--accounts: %q is not a 12-digit account id", a)
		}
	}
	b.filter.Regions = splitList(b.regions)
	if b.downloads < 1 {
		return errors.New("--downloads must be at least 1")
	}
	s3 := false
	for _, p := range paths {
		if strings.HasPrefix(p, "s3://") {
			if _, _, ok := replay.ParseS3URL(p); !ok {
				return fmt.Errorf("%q: want s3://BUCKET or s3://BUCKET/PREFIX", p)
			}
			s3 = true
		}
	}
	if !s3 {
		// Every such flag is named, in the usage's (alphabetical) order, so the message is the same on every run.
		var given []string
		for _, f := range []struct{ name, value string }{{"accounts", b.accounts}, {"bucket-region", b.bucketRegion},
			{"from", b.from}, {"profile", b.profile}, {"regions", b.regions}, {"to", b.to}} {
			if f.value != "" {
				given = append(given, "--"+f.name)
			}
		}
		switch len(given) {
		case 0:
		case 1:
			return fmt.Errorf("%s applies to s3:// inputs only; give an s3://BUCKET/PREFIX path or drop the flag", given[0])
		default:
			return fmt.Errorf("%s apply to s3:// inputs only; give an s3://BUCKET/PREFIX path or drop the flags", strings.Join(given, ", "))
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// sources turns the paths into sources in order: runs of local paths, and
// one trail-bucket source per s3:// path (one S3 client for all).
func (b *bucketFlags) sources(ctx context.Context, paths []string, stdin io.Reader, fallbackRegion string) (replay.Sources, error) {
	var out replay.Sources
	var local []string
	var client replay.S3Client
	for _, p := range paths {
		bucket, prefix, ok := replay.ParseS3URL(p)
		if !ok {
			local = append(local, p)
			continue
		}
		if len(local) > 0 {
			out = append(out, replay.LocalSource{Paths: local, Stdin: stdin})
			local = nil
		}
		if client == nil {
			c, err := replay.NewS3Client(ctx, b.profile, b.bucketRegion, fallbackRegion)
			if err != nil {
				return nil, err
			}
			client = c
		}
		out = append(out, replay.S3Source{Client: client, Bucket: bucket, Prefix: prefix, Filter: b.filter})
	}
	if len(local) > 0 {
		out = append(out, replay.LocalSource{Paths: local, Stdin: stdin})
	}
	return out, nil
}
