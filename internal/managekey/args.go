// Package managekey is kms-manage-key: enable, disable, show, or briefly
// enable ("window") the master key, with an MFA session from STS for the
// key administrator, and one clear line for every AWS failure.
package managekey

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/mfafifo"
)

// Window bounds: long enough to start a server, short enough that the key is
// never left enabled by a forgotten window.
const (
	DefaultWindow = 2 * time.Minute
	MaxWindow     = time.Hour
)

// Options is a parsed command line, with defaults from the environment and
// the stack outputs file already applied.
type Options struct {
	Command   string // enable, disable, status or window
	KeyID     string // key id, key ARN or alias, passed to AWS unchanged
	MFASerial string
	MFACode   string
	Profile   string
	Region    string
	For       time.Duration
	Notes     []string // told to the operator when an MFA session is made
	// TopicArns are the alert topics whose subscriptions status checks (--topic-arn, or the AlertTopicArn and
	// SecurityAlertTopicArn outputs).
	TopicArns []string
}

// ErrUsage marks command-line mistakes (exit status 2).
var ErrUsage = errors.New("usage")

// Usage is the short help.
const Usage = `usage: kms-manage-key [flags] enable|disable|status|window [flags]
       kms-manage-key enable|disable CODE        (the guide's form)

flags:
  --key-id ID         key id, key ARN or alias (env KMSGUARD_KEY_ID)
  --outputs FILE      outputs file of "cdk deploy --outputs-file" (env KMSGUARD_OUTPUTS)
  --stack NAME        stack in the outputs file when it holds several (env KMSGUARD_STACK)
  --mfa-serial ARN    MFA device of the admin user (env KMSGUARD_MFA_SERIAL)
  --mfa-code CODE     6-digit code; asked on the terminal without echo when absent
  --profile NAME      AWS profile with the long-term keys
  --region REGION     AWS region (default: the key ARN's region, then the AWS config)
  --for DURATION      window length, e.g. 2m (default 2m, at most 1h)
  --topic-arn ARN     alert topic whose subscriptions status checks (repeatable;
                      default: AlertTopicArn and SecurityAlertTopicArn from --outputs)
`

// ParseArgs parses argv (without the program name). Flags may come before or
// after the command. getenv supplies the KMSGUARD_* defaults.
func ParseArgs(args []string, getenv func(string) string) (Options, error) {
	var o Options
	var outputs, stack string
	fs := flag.NewFlagSet("kms-manage-key", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.KeyID, "key-id", getenv("KMSGUARD_KEY_ID"), "")
	fs.StringVar(&outputs, "outputs", getenv("KMSGUARD_OUTPUTS"), "")
	fs.StringVar(&stack, "stack", getenv("KMSGUARD_STACK"), "")
	fs.StringVar(&o.MFASerial, "mfa-serial", getenv("KMSGUARD_MFA_SERIAL"), "")
	fs.StringVar(&o.MFACode, "mfa-code", "", "")
	fs.StringVar(&o.Profile, "profile", "", "")
	fs.StringVar(&o.Region, "region", "", "")
	fs.DurationVar(&o.For, "for", DefaultWindow, "")
	fs.Func("topic-arn", "", func(v string) error {
		if !strings.HasPrefix(v, "arn:") || !strings.Contains(v, ":sns:") {
			return fmt.Errorf("--topic-arn %s: not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", v)
		}
		o.TopicArns = append(o.TopicArns, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, parseErr(err)
	}
	if fs.NArg() == 0 {
		return o, usageErr("no command given")
	}
	o.Command = map[string]string{"e": "enable", "d": "disable"}[fs.Arg(0)]
	if o.Command == "" {
		o.Command = fs.Arg(0)
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return o, parseErr(err)
	}
	if err := o.positional(fs.Args()); err != nil {
		return o, err
	}
	if err := o.applyOutputs(outputs, stack); err != nil {
		return o, err
	}
	return o, o.validate()
}

// parseErr keeps -h/--help recognisable (flag.ErrHelp: usage on stdout, exit 0) and makes any other flag
// problem a usage error.
func parseErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageErr(err.Error())
}

func usageErr(msg string) error { return fmt.Errorf("%w: %s", ErrUsage, msg) }

// positional handles the guide's "kms-manage-key enable 123456".
func (o *Options) positional(rest []string) error {
	switch o.Command {
	case "enable", "disable", "status", "window":
	default:
		return usageErr(fmt.Sprintf("unknown command %q (want enable, disable, status or window)", o.Command))
	}
	if len(rest) == 0 {
		return nil
	}
	if len(rest) > 1 || o.MFACode != "" || (o.Command != "enable" && o.Command != "disable") {
		return usageErr("unexpected arguments after " + o.Command)
	}
	o.MFACode = rest[0]
	return nil
}

func (o *Options) validate() error {
	if o.KeyID == "" {
		return usageErr("no key: pass --key-id or --outputs (or set KMSGUARD_KEY_ID)")
	}
	if o.MFACode != "" {
		o.Notes = append(o.Notes, "an MFA code on the command line is visible in ps and shell history until it expires; "+
			"leave it out to be asked on the terminal")
		if _, err := mfafifo.ParseCode([]byte(o.MFACode)); err != nil {
			return usageErr(err.Error())
		}
		o.MFACode = strings.TrimSpace(o.MFACode)
	}
	if o.Command != "status" {
		if err := changeableKey(o.KeyID); err != nil {
			return usageErr(err.Error())
		}
		if o.MFASerial != "" {
			if err := check.MFADeviceARN(o.MFASerial); err != nil {
				return usageErr("--mfa-serial: " + err.Error())
			}
		}
	}
	if o.Command == "window" && (o.For <= 0 || o.For > MaxWindow) {
		return usageErr(fmt.Sprintf("--for %s is outside 1s–%s", o.For, MaxWindow))
	}
	if r := arnRegion(o.KeyID); r != "" {
		if o.Region != "" && o.Region != r {
			return usageErr(fmt.Sprintf("--region %s differs from the key ARN's region %s", o.Region, r))
		}
		o.Region = r
	}
	return nil
}

// changeableKey rejects, before any MFA code is asked for or spent on STS, a --key-id that EnableKey and
// DisableKey would refuse: an alias (KMS accepts only a key id or key ARN there) or an ARN of something
// other than a KMS key.
func changeableKey(id string) error {
	switch {
	case strings.HasPrefix(id, "alias/") || strings.Contains(id, ":alias/"):
		return fmt.Errorf("--key-id %s: EnableKey and DisableKey do not accept an alias; pass the key id or key ARN "+
			"(the KeyId or KeyArn output, or --outputs FILE; kms-manage-key --key-id %s status shows it)", id, id)
	case strings.HasPrefix(id, "arn:") && !strings.Contains(id, ":kms:") || strings.HasPrefix(id, "arn:") && !strings.Contains(id, ":key/"):
		return fmt.Errorf("--key-id %s: not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); pass the key id or key ARN", id)
	}
	return nil
}

// arnRegion returns the region field of an ARN, or "" for ids and alias names.
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}
