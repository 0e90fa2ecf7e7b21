// Command kmsguard-replay shows which alerts a synthesized kmsguard
// template would have raised on existing CloudTrail logs, before deploying:
//
//	kmsguard-replay --template cdk.out/KmsGuard.template.json --key-arn ARN [--show] [--json] PATH...
//
// PATHs are CloudTrail log files or directories of them (gzip or not),
// JSON-lines files, "-" for stdin, or s3://BUCKET/PREFIX for a trail
// bucket. See docs/replay.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kmsguard/kmsguard/internal/replay"
)

func main() {
	// Ctrl-C stops reading; the summary of what was read is still printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kmsguard-replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	template := fs.String("template", "", "synthesized CloudFormation template (required), e.g. cdk.out/KmsGuard.template.json")
	keyARN := fs.String("key-arn", "", "ARN of the deployed master key (required if the rules reference it)")
	region := fs.String("region", "", "AWS::Region for the patterns (default: from --key-arn)")
	account := fs.String("account", "", "AWS::AccountId for the patterns (default: from --key-arn)")
	outputs := fs.String("outputs", "", "`cdk deploy --outputs-file` JSON supplying deployed values of referenced resources")
	var resolves multiFlag
	fs.Var(&resolves, "resolve", "`LogicalId=value` or LogicalId.Attr=value for a reference in a pattern (repeatable)")
	top := fs.Int("top", 10, "length of the top event name / principal lists")
	show := fs.Bool("show", false, "print each alerting event: time, tiers, eventName, principal, source IP, errorCode")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	var bucket bucketFlags
	bucket.register(fs)
	var ath athenaFlags
	ath.register(fs)
	workers := fs.Int("workers", 0, "cores decoding and matching records (default: all)")
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprintln(w, "usage: kmsguard-replay --template FILE --key-arn ARN [flags] PATH... (files, directories, - for stdin, or s3://BUCKET/PREFIX)")
		fmt.Fprintln(w, "       kmsguard-replay --emit athena --template FILE --key-arn ARN --from YYYY-MM-DD [flags] s3://BUCKET/PREFIX")
		fs.PrintDefaults()
	}
	fs.Usage = func() {} // printed below: -h/--help on stdout, a bad flag on stderr
	paths, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil {
		usage(stderr)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "kmsguard-replay: "+format+"\n", a...)
		return 2
	}
	if *template == "" {
		return fail("--template is required")
	}
	if *top < 0 {
		return fail("--top must not be negative")
	}
	if len(paths) == 0 && ath.emit == "" {
		return fail("no CloudTrail input given: pass files, directories, - for stdin, or s3://BUCKET/PREFIX")
	}
	if err := ath.check(fs); err != nil {
		return fail("%v", err)
	}
	if *workers < 0 {
		return fail("--workers must not be negative (0 uses every core)")
	}
	if err := bucket.check(paths); err != nil {
		return fail("%v", err)
	}
	tpl, err := os.ReadFile(*template)
	if err != nil {
		return fail("--template: %v", err)
	}
	res, err := replay.NewResolver(*keyARN)
	if err != nil {
		return fail("--key-arn: %v", err)
	}
	if *region != "" {
		res.Region = *region
	}
	if *account != "" {
		res.Account = *account
	}
	if res.Partition == "" && (res.Region != "" || res.Account != "") {
		res.Partition = "aws"
	}
	if *outputs != "" {
		data, err := os.ReadFile(*outputs)
		if err != nil {
			return fail("--outputs: %v", err)
		}
		if err := res.AddOutputs(tpl, data); err != nil {
			return fail("--outputs: %v", err)
		}
	}
	for _, r := range resolves {
		k, v, ok := strings.Cut(r, "=")
		if !ok || k == "" {
			return fail("--resolve %q: want LogicalId=value or LogicalId.Attr=value", r)
		}
		res.Values[k] = v
	}
	rules, warnings, err := replay.LoadRules(tpl, res)
	if err != nil {
		return fail("--template %s: %v", *template, err)
	}
	if ath.emit != "" {
		if err := emitAthena(stdout, paths, &bucket, &ath, res, rules, warnings); err != nil {
			return fail("%v", err)
		}
		return 0
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if len(rules) == 0 {
		return fail("--template %s: no AWS::Events::Rule with an EventPattern", *template)
	}
	opt := replay.Options{Rules: rules, Top: *top, Stdin: stdin, Workers: *workers, Readers: bucket.downloads, Counters: &replay.Counters{}}
	if *show {
		opt.Show = stdout
	}
	src, err := bucket.sources(ctx, paths, stdin, res.Region)
	if err != nil {
		return fail("%v", err)
	}
	stopProgress := startProgress(stderr, opt.Counters)
	sum, err := replay.ReplaySource(ctx, src, opt, stderr)
	stopProgress()
	if err != nil {
		if errors.Is(err, replay.ErrNoInput) {
			fmt.Fprintf(stderr, "kmsguard-replay: %v\n", err)
			return 1
		}
		return fail("%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return fail("%v", err)
		}
	} else {
		sum.WriteText(stdout)
		sum.WritePlaces(stdout)
	}
	if sum.Problems > 0 {
		fmt.Fprintf(stderr, "kmsguard-replay: %d problems in the input were skipped (listed above)\n", sum.Problems)
	}
	if sum.Interrupted {
		fmt.Fprintln(stderr, "kmsguard-replay: interrupted; the summary covers what was read before")
		return 130
	}
	return 0
}

// parseInterspersed parses flags wherever they appear among the paths, so
// `kmsguard-replay logs/ --show` works like `kmsguard-replay --show logs/`.
// After "--" everything is a path (for a file whose name starts with "-").
// A lone "-" is a path: stdin.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return paths, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(paths, rest...), nil
		}
		paths = append(paths, rest[0])
		args = rest[1:]
	}
}
