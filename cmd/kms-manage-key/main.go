// Command kms-manage-key enables, disables or shows the MariaDB master key,
// or enables it for a short window, with an MFA session for the key
// administrator. See docs/operator-tools.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kmsguard/kmsguard/internal/managekey"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	code := managekey.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
