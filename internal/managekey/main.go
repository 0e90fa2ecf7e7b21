package managekey

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/kmsguard/kmsguard/internal/awsclient"
	"golang.org/x/term"
)

// Main is the tool with real dependencies; it returns the exit status.
func Main(ctx context.Context, args []string, stdout io.Writer, stderr *os.File) int {
	o, err := ParseArgs(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, Usage)
		return 0
	}
	if errors.Is(err, ErrUsage) {
		fmt.Fprintf(stderr, "kms-manage-key: %v\n\n%s", err, Usage)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "kms-manage-key: %v\n", err)
		return ExitUsage
	}
	cfg, err := awsclient.LoadConfig(ctx, o.Profile, o.Region)
	if errors.Is(err, awsclient.ErrNoRegion) {
		err = fmt.Errorf("%w: pass --region, a key ARN or --outputs FILE (its KeyArn names the region), or set AWS_REGION", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kms-manage-key: %v\n", err)
		return ExitFailure
	}
	d := Deps{
		STS: sts.NewFromConfig(cfg),
		KMS: func(s *awsclient.Session) KMS {
			c := cfg.Copy()
			if s != nil {
				c.Credentials = aws.NewCredentialsCache(s.Provider())
			}
			return kms.NewFromConfig(c)
		},
		SNS:    sns.NewFromConfig(cfg),
		Prompt: ttyPrompter{},
		Clock:  realClock{},
		Out:    stdout,
		Err:    stderr,
		TTY:    term.IsTerminal(int(stderr.Fd())),
	}
	return ExitCode(Execute(ctx, o, d), stderr)
}

// ExitCode reports err on w and maps it to an exit status.
func ExitCode(err error, w io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(w, "kms-manage-key: %v\n", err)
	var left *LeftEnabledError
	switch {
	case errors.As(err, &left):
		return ExitLeftEnabled
	case errors.Is(err, ErrUsage):
		return ExitUsage
	}
	return ExitFailure
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ttyPrompter reads from the controlling terminal, not stdin, so a code is
// never taken from a pipe by accident and is never echoed.
type ttyPrompter struct{}

func (ttyPrompter) Prompt(label string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("no terminal to ask on: pass --mfa-code")
	}
	defer tty.Close()
	fmt.Fprint(tty, label)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	return string(b), nil
}
