package managekey

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// StackOutputs are the outputs of the kmsguard stack that this tool uses.
type StackOutputs struct {
	KeyArn       string
	KeyID        string `json:"KeyId"`
	KeyAlias     string
	AdminUserArn string
	// The alert topics; status checks their subscriptions.
	AlertTopicArn         string
	SecurityAlertTopicArn string
}

// ReadOutputs reads the file written by "cdk deploy --outputs-file" and
// picks the named stack, or the only stack when stack is empty.
func ReadOutputs(path, stack string) (StackOutputs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return StackOutputs{}, fmt.Errorf("reading outputs file: %w", err)
	}
	var all map[string]StackOutputs
	if err := json.Unmarshal(data, &all); err != nil {
		return StackOutputs{}, fmt.Errorf("outputs file %s is not cdk outputs JSON: %w", path, err)
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	switch {
	case stack != "":
		so, ok := all[stack]
		if !ok {
			return StackOutputs{}, fmt.Errorf("outputs file %s has no stack %q (it has: %s)", path, stack, strings.Join(names, ", "))
		}
		return so, nil
	case len(all) == 1:
		return all[names[0]], nil
	default:
		return StackOutputs{}, fmt.Errorf("outputs file %s holds %d stacks (%s): choose one with --stack", path, len(all), strings.Join(names, ", "))
	}
}

// DeriveMFASerial guesses the MFA device ARN from the admin user's ARN
// (arn:aws:iam::ACCT:user/NAME → arn:aws:iam::ACCT:mfa/NAME), the name the
// console suggested for years. Devices can be named otherwise, so it is only
// a default that --mfa-serial overrides.
func DeriveMFASerial(userArn string) string {
	parts := strings.SplitN(userArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "user/") {
		return ""
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	if name == "" {
		return ""
	}
	return strings.Join(parts[:5], ":") + ":mfa/" + name
}

// applyOutputs fills what flags and environment left empty. The key id is
// preferred over the ARN (same account as the admin user, and it avoids an
// emulator bug with ARNs); the ARN still supplies the region.
func (o *Options) applyOutputs(path, stack string) error {
	if path == "" {
		if stack != "" {
			return usageErr("--stack needs --outputs")
		}
		return nil
	}
	so, err := ReadOutputs(path, stack)
	if err != nil {
		return err
	}
	if o.KeyID == "" {
		o.KeyID = so.KeyID
		if o.KeyID == "" {
			o.KeyID = so.KeyArn
		}
		if o.Region == "" && arnRegion(o.KeyID) == "" {
			o.Region = arnRegion(so.KeyArn)
		}
	}
	if len(o.TopicArns) == 0 {
		for _, t := range []string{so.AlertTopicArn, so.SecurityAlertTopicArn} {
			if t != "" {
				o.TopicArns = append(o.TopicArns, t)
			}
		}
	}
	if o.MFASerial == "" {
		if s := DeriveMFASerial(so.AdminUserArn); s != "" {
			o.MFASerial = s
			o.Notes = append(o.Notes, "using MFA device "+s+" derived from AdminUserArn in "+path+"; pass --mfa-serial if the device has another name")
		}
	}
	return nil
}
