// Command kmsguard-preflight says, before cdk deploy, what in the target account and region would make the
// deploy fail or surprise. See docs/preflight.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kmsguard/kmsguard/internal/preflight"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := preflight.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
