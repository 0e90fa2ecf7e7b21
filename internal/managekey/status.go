package managekey

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// status prints the key's state in one block. It uses the base credentials
// (the admin user may not call DescribeKey under the key policy), or an MFA
// session when a code was given. Only DescribeKey is required; alias and
// rotation degrade to "unknown" with the reason.
func status(ctx context.Context, o Options, d Deps) error {
	client := d.KMS(nil)
	if o.MFACode != "" {
		var err error
		if client, err = session(ctx, o, d, awsclient.MinSessionSeconds); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, awsTimeout)
	defer cancel()
	desc, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(o.KeyID)})
	if err != nil {
		return fmt.Errorf("status %s: %s", o.KeyID, awsclient.Explain(err, o.MFACode))
	}
	m := desc.KeyMetadata
	tw := tabwriter.NewWriter(d.Out, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("key", aws.ToString(m.Arn))
	row("alias", aliases(ctx, client, aws.ToString(m.KeyId)))
	row("state", string(m.KeyState))
	row("enabled", yesNo(m.Enabled))
	// GetKeyRotationStatus takes no alias: use the input unless it is one.
	rotKey := o.KeyID
	if strings.HasPrefix(o.KeyID, "alias/") || strings.Contains(o.KeyID, ":alias/") {
		rotKey = aws.ToString(m.Arn)
	}
	row("rotation", rotation(ctx, client, rotKey))
	if m.DeletionDate != nil {
		row("deletion", "PENDING, scheduled for "+m.DeletionDate.UTC().Format(time.RFC3339)+" (cancel with aws kms cancel-key-deletion)")
	} else {
		row("deletion", "not scheduled")
	}
	if m.Description != nil && *m.Description != "" {
		row("description", *m.Description)
	}
	if m.CreationDate != nil {
		row("created", m.CreationDate.UTC().Format(time.RFC3339))
	}
	subscriptions(ctx, o, d, row)
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func aliases(ctx context.Context, c AliasLister, keyID string) string {
	var names []string
	p := kms.NewListAliasesPaginator(c, &kms.ListAliasesInput{KeyId: aws.String(keyID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "unknown: " + awsclient.Explain(err)
		}
		for _, a := range page.Aliases {
			names = append(names, aws.ToString(a.AliasName))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func rotation(ctx context.Context, c RotationGetter, keyID string) string {
	out, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)})
	if err != nil {
		return "unknown: " + awsclient.Explain(err)
	}
	if !out.KeyRotationEnabled {
		return "disabled"
	}
	if out.RotationPeriodInDays != nil {
		return fmt.Sprintf("enabled (every %d days)", *out.RotationPeriodInDays)
	}
	return "enabled"
}
