// Command iam-kms-wrapper starts a program (mysqld) with MFA session
// credentials: it waits for "echo CODE > SOCKET", calls STS GetSessionToken
// with the key user's long-term keys, and execs the program with only the
// session credentials. See docs/operator-tools.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kmsguard/kmsguard/internal/wrapper"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	code := wrapper.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
