package preflight

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kmsguard/kmsguard/internal/awsclient"
	"github.com/kmsguard/kmsguard/internal/projectconfig"
	"github.com/kmsguard/kmsguard/stacks"
)

// Usage is kmsguard-preflight's help text.
const Usage = `usage: kmsguard-preflight [--dir DIR] [--template FILE] [--profile P] [--region R] [--json]

Before cdk deploy: what in the target account and region would make the deploy of the synthesized
template fail or surprise (docs/preflight.md). Read-only: it changes nothing.

  --dir DIR        the project whose cdk.json configured the synth (default .)
  --template FILE  the synthesized template (default DIR/cdk.out/<stackName>.template.json; run make synth first)
  --profile P      shared-config profile (default: the AWS SDK's default credential chain)
  --region R       target region (default: the profile's or AWS_REGION)
  --json           the report as JSON, for pipelines

Exit status: 0 ready, 1 not ready (a check says cdk deploy would fail), 2 bad flags,
3 could not check (no credentials, no permission to ask, no template).
`

// Options are the parsed flags.
type Options struct {
	Dir, Template, Profile, Region string
	JSON                           bool
}

// ParseArgs reads the flags; flag.ErrHelp for -h/--help.
func ParseArgs(args []string) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("kmsguard-preflight", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Dir, "dir", ".", "")
	fs.StringVar(&o.Template, "template", "", "")
	fs.StringVar(&o.Profile, "profile", "", "")
	fs.StringVar(&o.Region, "region", "", "")
	fs.BoolVar(&o.JSON, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (every input is a flag)", fs.Arg(0))
	}
	return o, nil
}

// Main runs kmsguard-preflight with real AWS clients and returns its exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := ParseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, Usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "kmsguard-preflight: %v\n\n%s", err, Usage)
		return ExitUsage
	}
	cfg, raw, path, err := LoadProject(o.Dir, o.Template)
	if err != nil {
		fmt.Fprintf(stderr, "kmsguard-preflight: %v\n", err)
		return ExitCouldNotCheck
	}
	awsCfg, err := awsclient.LoadConfig(ctx, o.Profile, o.Region)
	if errors.Is(err, awsclient.ErrNoRegion) {
		err = fmt.Errorf("%w: pass --region (the region you will deploy to), or set AWS_REGION", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kmsguard-preflight: %v\n", err)
		return ExitCouldNotCheck
	}
	return Run(ctx, NewDeps(awsCfg), raw, cfg, awsCfg.Region, path).write(o.JSON, stdout, stderr)
}

// write prints the report (text or JSON) and returns its exit status.
func (r Report) write(asJSON bool, stdout, stderr io.Writer) int {
	_, code := r.Verdict()
	if asJSON {
		if err := r.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "kmsguard-preflight: %v\n", err)
			return ExitCouldNotCheck
		}
		return code
	}
	r.WriteText(stdout)
	return code
}

// LoadProject reads the configuration the template was synthesized from (DIR/cdk.json, validated as cdk
// synth validates it) and the template (default DIR/cdk.out/<stackName>.template.json).
func LoadProject(dir, template string) (stacks.Config, []byte, string, error) {
	ctx, err := projectconfig.Context(dir)
	if err != nil {
		return stacks.Config{}, nil, "", err
	}
	cfg, err := stacks.ParseConfig(ctx)
	if err != nil {
		return stacks.Config{}, nil, "", err
	}
	if template == "" {
		template = filepath.Join(dir, "cdk.out", cfg.StackName+".template.json")
	}
	raw, err := os.ReadFile(template)
	if err != nil {
		return stacks.Config{}, nil, "", fmt.Errorf("%w (run make synth first, or pass --template)", err)
	}
	return cfg, raw, template, nil
}
