package managekey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// sessionMargin keeps the session valid for the final DisableKey.
const sessionMargin = 10 * time.Minute

// window enables the key, counts down, and disables it again: at the end, on
// a signal (ctx cancelled) and on any error once EnableKey may have taken
// effect. The final DisableKey runs on a fresh context so a signal cannot
// abort it; if it fails the error is a LeftEnabledError.
func window(ctx context.Context, o Options, d Deps) error {
	seconds := max(int32((o.For+sessionMargin)/time.Second), awsclient.MinSessionSeconds)
	client, err := session(ctx, o, d, seconds)
	if err != nil {
		return err
	}
	ectx, cancel := context.WithTimeout(ctx, awsTimeout)
	_, err = client.EnableKey(ectx, &kms.EnableKeyInput{KeyId: aws.String(o.KeyID)})
	cancel()
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			// AWS answered with an error: the key state did not change.
			return fmt.Errorf("enable %s: %s", o.KeyID, awsclient.Explain(err, o.MFACode))
		}
		// No answer (interrupted, network): the key may be enabled now.
		return finish(ctx, client, o, d, fmt.Errorf("enable %s: %s", o.KeyID, awsclient.Explain(err, o.MFACode)))
	}
	fmt.Fprintf(d.Out, "key %s enabled for %s: start the server now (Ctrl-C disables it at once)\n", o.KeyID, o.For)
	return finish(ctx, client, o, d, countdown(ctx, o.For, d))
}

// finish disables the key and combines the outcome with why the window ended.
func finish(ctx context.Context, c KeyDisabler, o Options, d Deps, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), awsTimeout)
	defer cancel()
	if _, err := c.DisableKey(dctx, &kms.DisableKeyInput{KeyId: aws.String(o.KeyID)}); err != nil {
		return &LeftEnabledError{KeyID: o.KeyID, Err: errors.New(awsclient.Explain(err, o.MFACode))}
	}
	fmt.Fprintf(d.Out, "key %s disabled\n", o.KeyID)
	if cause != nil {
		return fmt.Errorf("window ended early, key disabled again: %w", cause)
	}
	return nil
}

// countdown waits for total, showing the time left: redrawn every second on
// a terminal, a line every 30 s otherwise (logs stay short).
func countdown(ctx context.Context, total time.Duration, d Deps) error {
	const step = time.Second
	for left := total; left > 0; {
		if d.TTY {
			fmt.Fprintf(d.Err, "\rdisabling the key in %-10s", left.Round(time.Second))
		} else if left == total || left%(30*time.Second) == 0 {
			fmt.Fprintf(d.Err, "disabling the key in %s\n", left.Round(time.Second))
		}
		wait := min(step, left)
		if ctx.Err() != nil { // a signal wins over a timer that is also ready
			return context.Cause(ctx)
		}
		select {
		case <-ctx.Done():
			if d.TTY {
				fmt.Fprintln(d.Err)
			}
			return context.Cause(ctx)
		case <-d.Clock.After(wait):
			left -= wait
		}
	}
	if d.TTY {
		fmt.Fprint(d.Err, "\r\033[K")
	}
	return nil
}
