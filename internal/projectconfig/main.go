package projectconfig

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/kmsguard/kmsguard/stacks"
)

// Usage is kmsguard-make's help text.
const Usage = `usage: kmsguard-make [--dir DIR] stack-name
       kmsguard-make [--dir DIR] cdk-args
       kmsguard-make [--dir DIR] templates
       kmsguard-make [--dir DIR] deployment
       kmsguard-make [--dir DIR] deployed-stacksets OUTDIR
       kmsguard-make has-credentials

  stack-name       print the stack name DIR/cdk.json configures (context stackName, default KmsGuard);
                   exit 1 with every configuration problem when the configuration is invalid
  cdk-args         print the CDK CLI arguments make passes to cdk synth/diff/deploy: "-c example=true" when
                   DIR/cdk.json leaves the alert subscribers or networks unset (README.md, "Safe by default"),
                   nothing when it sets them; exit 1 with every configuration problem otherwise
  templates        print the templates a synth of DIR/cdk.json writes to cdk.out (NAME.template.json), one
                   per line: the stack name for the standalone stack; for deployment=org the central stacks
                   and the StackSet templates (docs/fleet.md); exit 1 like stack-name
  deployment       print the configuration's shape: standalone or org (docs/fleet.md); exit 1 like stack-name
  deployed-stacksets
                   write the template each StackSet of a fleet is deployed with to OUTDIR/NAME.template.json
                   (the AWS SDK's default credentials, the security account, the home region; docs/fleet.md)
  has-credentials  exit 0 and name the source when the AWS SDK finds credentials, 1 when it finds none
                   (the credentials are never printed)
`

// Main runs kmsguard-make and returns its exit status: 0 success, 1 a failed answer, 2 a usage error.
// -h and --help print the usage on stdout and exit 0, like every kmsguard command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kmsguard-make", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", ".", "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, Usage)
			return 0
		}
		fmt.Fprintf(stderr, "kmsguard-make: %v\n\n%s", err, Usage)
		return 2
	}
	if fs.NArg() == 2 && fs.Arg(0) == "deployed-stacksets" {
		return deployedStackSets(ctx, *dir, fs.Arg(1), stdout, stderr)
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "kmsguard-make: want exactly one command\n\n%s", Usage)
		return 2
	}
	switch fs.Arg(0) {
	case "stack-name":
		name, err := StackName(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "kmsguard-make: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, name)
		return 0
	case "templates":
		cfg, _, err := Resolve(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "kmsguard-make: %v\n", err)
			return 1
		}
		for _, name := range cfg.TemplateNames() {
			fmt.Fprintln(stdout, name)
		}
		return 0
	case "deployment":
		cfg, _, err := Resolve(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "kmsguard-make: %v\n", err)
			return 1
		}
		if cfg.IsFleet() {
			fmt.Fprintln(stdout, stacks.DeploymentOrg)
		} else {
			fmt.Fprintln(stdout, stacks.DeploymentStandalone)
		}
		return 0
	case "cdk-args":
		_, cdkArgs, err := Resolve(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "kmsguard-make: %v\n", err)
			return 1
		}
		if len(cdkArgs) > 0 {
			fmt.Fprintln(stdout, strings.Join(cdkArgs, " "))
		}
		return 0
	case "has-credentials":
		src, err := CredentialSource(ctx, 10*time.Second)
		if err != nil {
			fmt.Fprintf(stdout, "%v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "AWS credentials found (%s)\n", src)
		return 0
	}
	fmt.Fprintf(stderr, "kmsguard-make: unknown command %q (want stack-name, cdk-args, templates, deployment, deployed-stacksets or has-credentials)\n\n%s", fs.Arg(0), Usage)
	return 2
}

func deployedStackSets(ctx context.Context, dir, out string, stdout, stderr io.Writer) int {
	cfg, _, err := Resolve(dir)
	if err == nil {
		var awsCfg aws.Config
		if awsCfg, err = config.LoadDefaultConfig(ctx); err == nil {
			err = DeployedStackSets(ctx, cloudformation.NewFromConfig(awsCfg), cfg, out, stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kmsguard-make: %v\n", err)
		return 1
	}
	return 0
}
