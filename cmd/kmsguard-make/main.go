// Command kmsguard-make answers the Makefile's questions about this checkout: which stack cdk.json
// configures (so synth, diff and demo follow stackName) and whether AWS credentials are available (so
// make diff compares with the deployed stack when it can). See README.md, "Quick start".
package main

import (
	"context"
	"os"

	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/projectconfig"
)

func main() {
	code := projectconfig.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	// The CDK packages linked in (the configuration lives with the stacks) unpack jsii's runtime into a
	// temporary directory as the program starts; only Close removes it.
	jsii.Close()
	os.Exit(code)
}
