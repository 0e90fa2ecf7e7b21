package projectconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/kmsguard/kmsguard/stacks"
)

// StackSetDescriber is the one CloudFormation call make diff needs from a fleet's security account.
type StackSetDescriber interface {
	DescribeStackSet(ctx context.Context, in *cloudformation.DescribeStackSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackSetOutput, error)
}

// DeployedStackSets writes the template each of cfg's StackSets is deployed with to dir, as
// NAME.template.json (the name the synth writes its new template under), so that make diff can review each
// StackSet template against what the fleet runs today (docs/fleet.md, "Reviewing a change"). The
// StackSets are asked as their delegated administrator (CallAs DELEGATED_ADMIN), in the home region,
// where the central stack creates them. A StackSet not deployed yet is reported on w and skipped.
func DeployedStackSets(ctx context.Context, cf StackSetDescriber, cfg stacks.Config, dir string, w io.Writer) error {
	if !cfg.IsFleet() {
		return errors.New("deployed-stacksets: cdk.json does not set deployment=org (docs/fleet.md)")
	}
	for _, name := range []string{cfg.IdentityStackSetName(), cfg.RegionalStackSetName()} {
		out, err := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{
			StackSetName: aws.String(name),
			CallAs:       cfntypes.CallAsDelegatedAdmin,
		}, func(o *cloudformation.Options) { o.Region = cfg.HomeRegion() })
		var missing *cfntypes.StackSetNotFoundException
		switch {
		case errors.As(err, &missing):
			fmt.Fprintf(w, "== make diff: the StackSet %s is not deployed in %s yet: its template is all new\n", name, cfg.HomeRegion())
			continue
		case err != nil:
			return fmt.Errorf("describe StackSet %s in %s: %w", name, cfg.HomeRegion(), err)
		case out.StackSet == nil || aws.ToString(out.StackSet.TemplateBody) == "":
			return fmt.Errorf("describe StackSet %s in %s: no template body in the answer", name, cfg.HomeRegion())
		}
		if err := os.WriteFile(filepath.Join(dir, name+".template.json"), []byte(aws.ToString(out.StackSet.TemplateBody)), 0o644); err != nil {
			return fmt.Errorf("deployed-stacksets: %w", err)
		}
	}
	return nil
}
