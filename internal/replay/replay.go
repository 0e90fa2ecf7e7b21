package replay

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Options controls a replay.
type Options struct {
	Rules    Rules
	Top      int       // length of the top-N lists
	Show     io.Writer // if set, one line per alerting event, in input order
	Stdin    io.Reader // read for the path "-"
	Workers  int       // inputs decoded and matched at once, one core each; 0: GOMAXPROCS
	Readers  int       // inputs opened and read ahead at once (downloads); at least Workers
	Counters *Counters // if set, running totals for a progress display
}

// ErrNoInput means not one input could be read.
var ErrNoInput = errors.New("no input could be read")

// Replay reads every path (files, directories, "-"), applies the rules to
// each record and returns the per-tier summary. Problems with the input
// are written to problems as "file:line: reason" and skipped. The error
// is ErrNoInput (wrapped) when nothing could be read.
func Replay(paths []string, opt Options, problems io.Writer) (*Summary, error) {
	return ReplaySource(context.Background(), LocalSource{Paths: paths, Stdin: opt.Stdin}, opt, problems)
}

// LocalSource is files, directories (walked recursively, in lexical order)
// and "-" for stdin. Files in a CloudTrail-Digest directory, or named as
// digest files, are yielded as digests: counted, not read.
type LocalSource struct {
	Paths []string
	Stdin io.Reader // for "-"; os.Stdin when nil
}

// Inputs implements Source.
func (l LocalSource) Inputs(_ context.Context, yield func(Input) error) error {
	files, err := ExpandPaths(l.Paths)
	if err != nil {
		return err
	}
	for _, f := range files {
		in := Input{Name: f}
		switch {
		case f == "-":
			stdin := l.Stdin
			if stdin == nil {
				stdin = os.Stdin
			}
			in.Name = "<stdin>"
			in.Open = func(context.Context) (io.ReadCloser, error) { return io.NopCloser(stdin), nil }
		case IsDigest(filepath.ToSlash(f)):
			in.Digest = true
		default:
			if fi, err := os.Stat(f); err == nil {
				in.Size = fi.Size()
			}
			in.Open = func(context.Context) (io.ReadCloser, error) { return os.Open(f) }
		}
		if err := yield(in); err != nil {
			return err
		}
	}
	return nil
}

// IsDigest reports whether a slash-separated path or S3 key is a CloudTrail
// digest file: under a CloudTrail-Digest directory, or named
// ACCOUNT_CloudTrail-Digest_REGION_... as CloudTrail names them.
func IsDigest(key string) bool {
	return strings.Contains("/"+key, "/CloudTrail-Digest/") || strings.Contains(path.Base(key), "_CloudTrail-Digest_")
}

// ShowLine formats one alerting event: time, tiers, eventName, principal,
// source IP and errorCode ("-" when absent), tab-separated.
func ShowLine(rec ep.Value, tiers []string) string {
	f := func(k string) string {
		if s := rec.Path(k).Str(); s != "" {
			return s
		}
		return "-"
	}
	return strings.Join([]string{f("eventTime"), strings.Join(tiers, ","), f("eventName"), Principal(rec), f("sourceIPAddress"), f("errorCode")}, "\t")
}
