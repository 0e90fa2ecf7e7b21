package stacks

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// deployRoleIn resolves the deploy roles of cfg for a stack in account 111122223333, us-east-1, of an app
// with the given context.
func deployRoleIn(t *testing.T, cfg Config, context map[string]any) []string {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &context})
	stack := awscdk.NewStack(app, jsii.String("S"), nil)
	res := cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: "us-east-1", AccountID: "111122223333"}}
	var out []string
	for _, arn := range cfg.DeployRoles(stack) {
		v, unresolved := res.String(stack.Resolve(jsii.String(arn)))
		if len(unresolved) > 0 {
			t.Fatalf("unresolved %v in %s", unresolved, arn)
		}
		out = append(out, v)
	}
	return out
}

// The default deploy role is the role `cdk deploy` hands CloudFormation: the CDK's own
// DefaultStackSynthesizer.DEFAULT_CLOUDFORMATION_ROLE_ARN with the default qualifier, for the stack's
// account and region (docs/aws-facts.md, "The deploy role"). It follows a qualifier set in the context, as
// the synthesizer does (the control: a different qualifier gives a different role), and deployRoleArns
// replaces it.
func TestDefaultDeployRoleIsTheBootstrapExecutionRole(t *testing.T) {
	want := strings.NewReplacer("${Qualifier}", *awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER(), "${AWS::Partition}", "aws",
		"${AWS::AccountId}", "111122223333", "${AWS::Region}", "us-east-1").Replace(*awscdk.DefaultStackSynthesizer_DEFAULT_CLOUDFORMATION_ROLE_ARN())
	if want != "arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1" {
		t.Fatalf("the CDK's default execution role is now %s: check the bootstrap template and docs/aws-facts.md", want)
	}
	if got := deployRoleIn(t, DefaultConfig(), map[string]any{}); len(got) != 1 || got[0] != want {
		t.Fatalf("default deploy role %v, want %s", got, want)
	}
	custom := deployRoleIn(t, DefaultConfig(), map[string]any{bootstrapQualifierContext: "custom12"})
	if len(custom) != 1 || custom[0] != "arn:aws:iam::111122223333:role/cdk-custom12-cfn-exec-role-111122223333-us-east-1" {
		t.Fatalf("with the qualifier custom12: %v", custom)
	}
	cfg := DefaultConfig()
	cfg.DeployRoleArns = []string{"arn:aws:iam::111122223333:role/KmsGuardDeploy"}
	if got := deployRoleIn(t, cfg, map[string]any{}); len(got) != 1 || got[0] != cfg.DeployRoleArns[0] {
		t.Fatalf("deployRoleArns must replace the default: %v", got)
	}
}
