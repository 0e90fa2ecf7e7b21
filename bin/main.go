// Command bin is the CDK app: it reads the context, validates it, builds the guard stack and synthesizes.
// All problems are reported before anything is written.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/stacks"
)

func main() {
	defer jsii.Close()
	flags := stacks.FeatureFlags()
	app := awscdk.NewApp(&awscdk.AppProps{PostCliContext: &flags})
	context, _ := app.Node().GetAllContext(nil).(map[string]any)
	cfg, err := stacks.ParseConfig(context)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	stacks.NewGuardStack(app, cfg)
	app.Synth(nil)
}
