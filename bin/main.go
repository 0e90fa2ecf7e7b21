// Command bin is the CDK app: it reads the context, validates it, builds the guard stack and synthesizes.
// All configuration problems are reported before anything is synthesized, and every quota the template
// would break before anything can be deployed.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/jsiikernel"
	"github.com/kmsguard/kmsguard/stacks"
)

func main() {
	// Before any CDK call: the kernel without jsii's relay process (internal/jsiikernel).
	jsiikernel.Use()
	defer jsii.Close()
	app := stacks.NewApp("", false)
	context, _ := app.Node().GetAllContext(nil).(map[string]any)
	cfg, err := stacks.ParseConfig(context)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	if cfg.IsFleet() {
		synthFleet(app, cfg)
		return
	}
	stacks.NewGuardStack(app, cfg)
	app.Synth(nil)
	// Every synth checks the template against AWS's quotas at the longest names (docs/quotas.md): pattern
	// and policy sizes grow with the operator's own values, which no test configuration foresees.
	if _, err := stacks.CheckQuotas(cfg, *app.Outdir()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	// KMSGUARD_NAG=1 (make synth): also write the cdk-nag reports to cdk.out/nag and print a summary. It
	// reports; test/nag_test.go is the gate that fails the build.
	if os.Getenv("KMSGUARD_NAG") == "1" {
		if err := stacks.NagReport(cfg, filepath.Join(*app.Outdir(), "nag"), os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "kmsguard:", err)
		}
	}
}

// synthFleet synthesizes the organization-wide shape (docs/fleet.md): the central stacks, and the StackSet
// templates beside them in cdk.out; then the quota check of every template.
func synthFleet(app awscdk.App, cfg stacks.Config) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	fleet, err := stacks.NewFleet(app, cfg)
	if err != nil {
		fail(err)
	}
	app.Synth(nil)
	if err := fleet.WriteTemplates(*app.Outdir()); err != nil {
		fail(err)
	}
	if err := stacks.CheckFleetQuotas(fleet, *app.Outdir()); err != nil {
		fail(err)
	}
}
