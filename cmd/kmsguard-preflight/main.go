// Command kmsguard-preflight says, before cdk deploy, what in the target account and region would make the
// deploy fail or surprise. See docs/preflight.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/preflight"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := preflight.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	// The CDK packages linked in (the configuration lives with the stacks) unpack jsii's runtime into a
	// temporary directory as the program starts; only Close removes it.
	jsii.Close()
	os.Exit(code)
}
