package managekey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/kmsguard/kmsguard/internal/alertsubs"
	"github.com/kmsguard/kmsguard/internal/awsclient"
	"github.com/kmsguard/kmsguard/internal/mfafifo"
)

// One-method interfaces over the KMS calls, so each fake implements only
// what a test needs.
type (
	KeyEnabler interface {
		EnableKey(context.Context, *kms.EnableKeyInput, ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
	}
	KeyDisabler interface {
		DisableKey(context.Context, *kms.DisableKeyInput, ...func(*kms.Options)) (*kms.DisableKeyOutput, error)
	}
	KeyDescriber interface {
		DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	}
	RotationGetter interface {
		GetKeyRotationStatus(context.Context, *kms.GetKeyRotationStatusInput, ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	}
	AliasLister interface {
		ListAliases(context.Context, *kms.ListAliasesInput, ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	}
)

// KMS is every call the tool makes; *kms.Client satisfies it.
type KMS interface {
	KeyEnabler
	KeyDisabler
	KeyDescriber
	RotationGetter
	AliasLister
}

// Prompter asks the operator for the MFA code without echoing it.
type Prompter interface {
	Prompt(label string) (string, error)
}

// Clock lets tests run a window's countdown without waiting.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

// Deps are the tool's contacts with the outside world.
type Deps struct {
	STS    awsclient.SessionTokenGetter
	KMS    func(sess *awsclient.Session) KMS // nil session: the base credentials
	SNS    alertsubs.Reader                  // base credentials; nil skips the subscription check
	Prompt Prompter
	Clock  Clock
	Out    io.Writer // results
	Err    io.Writer // progress, notes and errors
	TTY    bool      // Err is a terminal: redraw the countdown in place
}

// Exit statuses; ExitLeftEnabled means the key may still be enabled.
const (
	ExitFailure     = 1
	ExitUsage       = 2
	ExitLeftEnabled = 3
)

// LeftEnabledError says the final DisableKey of a window failed.
type LeftEnabledError struct {
	KeyID string
	Err   error
}

func (e *LeftEnabledError) Error() string {
	return fmt.Sprintf("!!! THE KEY MAY STILL BE ENABLED: the final DisableKey failed: %v\n!!! Disable it now: kms-manage-key disable --key-id %s", e.Err, e.KeyID)
}

func (e *LeftEnabledError) Unwrap() error { return e.Err }

// awsTimeout bounds each AWS call, retries included.
const awsTimeout = time.Minute

// Execute runs the parsed command.
func Execute(ctx context.Context, o Options, d Deps) error {
	switch o.Command {
	case "status":
		return status(ctx, o, d)
	case "window":
		return window(ctx, o, d)
	}
	client, err := session(ctx, o, d, awsclient.MinSessionSeconds)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, awsTimeout)
	defer cancel()
	if o.Command == "enable" {
		_, err = client.EnableKey(cctx, &kms.EnableKeyInput{KeyId: aws.String(o.KeyID)})
	} else {
		_, err = client.DisableKey(cctx, &kms.DisableKeyInput{KeyId: aws.String(o.KeyID)})
	}
	if err != nil {
		return fmt.Errorf("%s %s: %s", o.Command, o.KeyID, awsclient.Explain(err, o.MFACode))
	}
	fmt.Fprintf(d.Out, "key %s %sd\n", o.KeyID, o.Command)
	return nil
}

// session gets MFA session credentials and a KMS client that uses them.
func session(ctx context.Context, o Options, d Deps, seconds int32) (KMS, error) {
	if o.MFASerial == "" {
		return nil, usageErr("no MFA device: pass --mfa-serial (or --outputs with AdminUserArn)")
	}
	for _, n := range o.Notes {
		fmt.Fprintln(d.Err, "note: "+n)
	}
	code := o.MFACode
	if code == "" {
		typed, err := d.Prompt.Prompt("MFA code for " + o.MFASerial + ": ")
		if err != nil {
			return nil, fmt.Errorf("reading the MFA code: %w", err)
		}
		if code, err = mfafifo.ParseCode([]byte(typed)); err != nil {
			return nil, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, awsTimeout)
	defer cancel()
	sess, err := awsclient.GetSession(cctx, d.STS, o.MFASerial, code, seconds)
	if err != nil {
		return nil, errors.New("getting an MFA session: " + awsclient.Explain(err, code))
	}
	return d.KMS(&sess), nil
}
