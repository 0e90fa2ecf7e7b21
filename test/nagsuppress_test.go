package test

import (
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	constructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/kmsguard/kmsguard/stacks"
)

// cdkNagSuppress applies sups with cdk-nag's own NagSuppressions.addResourceSuppressions, the reference
// that stacks.AddNagSuppressions must match.
func cdkNagSuppress(c constructs.IConstruct, sups []stacks.NagSuppression) {
	list := make([]*cdknag.NagPackSuppression, 0, len(sups))
	for _, s := range sups {
		ns := &cdknag.NagPackSuppression{Id: jsii.String(s.Rule), Reason: jsii.String(s.Reason)}
		if len(s.AppliesTo) > 0 {
			applies := make([]any, len(s.AppliesTo))
			for i, a := range s.AppliesTo {
				applies[i] = a
			}
			ns.AppliesTo = &applies
		}
		list = append(list, ns)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &list, jsii.Bool(false))
}

// nagMetadata is the cdk_nag metadata of c's CloudFormation resource (its default child, or c itself).
func nagMetadata(t *testing.T, c constructs.IConstruct) any {
	t.Helper()
	if d := c.Node().DefaultChild(); d != nil {
		c = d
	}
	r, ok := c.(awscdk.CfnResource)
	if !ok {
		t.Fatalf("%s is not a CloudFormation resource", *c.Node().Path())
	}
	return r.GetMetadata(jsii.String("cdk_nag"))
}

// resetNagMetadata empties the cdk_nag metadata of c's resource (no rules_to_suppress), as if nothing had
// been suppressed on it; jsii refuses a nil value.
func resetNagMetadata(c constructs.IConstruct) {
	if d := c.Node().DefaultChild(); d != nil {
		c = d
	}
	c.(awscdk.CfnResource).AddMetadata(jsii.String("cdk_nag"), map[string]any{})
}

func findPath(t *testing.T, root constructs.IConstruct, rel string) constructs.IConstruct {
	t.Helper()
	c := root
	for _, id := range strings.Split(rel, "/") {
		if c = c.Node().TryFindChild(jsii.String(id)); c == nil {
			t.Fatalf("no construct %s", rel)
		}
	}
	return c
}

// TestNagSuppressionMetadataMatchesCdkNag: the suppression metadata the stack writes without loading
// cdk-nag (stacks.AddNagSuppressions) equals what cdk-nag's NagSuppressions.addResourceSuppressions
// writes for the same suppressions on the same resource, for every accepted finding of the stack in the
// configurations that have them all, so the rule packs (and a reviewer) read the same thing. (The key
// order inside each entry differs in the template: jsii sends a Go map with its keys sorted.)
func TestNagSuppressionMetadataMatchesCdkNag(t *testing.T) {
	for _, name := range []string{"default", "hardened", "existing-users"} {
		cfg, err := stacks.ParseConfig(configs[name])
		if err != nil {
			t.Fatal(err)
		}
		outdir, err := os.MkdirTemp(synthRoot, "nagmeta-"+name+"-")
		if err != nil {
			t.Fatal(err)
		}
		g := stacks.NewGuardStack(stacks.NewApp(outdir, false), cfg)
		sups := g.NagSuppressions()
		paths := make([]string, 0, len(sups))
		for p := range sups {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			c := findPath(t, g.Stack, p)
			ours := nagMetadata(t, c)
			if ours == nil {
				t.Errorf("%s: %s has no cdk_nag metadata", name, p)
				continue
			}
			resetNagMetadata(c)
			cdkNagSuppress(c, sups[p])
			if theirs := nagMetadata(t, c); !reflect.DeepEqual(ours, theirs) {
				t.Errorf("%s: %s: kmsguard wrote\n  %v\ncdk-nag writes\n  %v", name, p, ours, theirs)
			}
		}
	}
}

// TestNagSuppressionMetadataMergesAsCdkNag: suppressions added in several calls, with duplicates, findings
// (applies_to) and a reason cdk-nag must encode (a character above U+00FF), on an L2 construct and on an
// L1 resource, and after suppressions cdk-nag itself recorded, give the same metadata as cdk-nag's own
// calls. The control: one suppression fewer gives different metadata, so the comparison can fail.
func TestNagSuppressionMetadataMergesAsCdkNag(t *testing.T) {
	first := []stacks.NagSuppression{
		{Rule: "AwsSolutions-IAM5", Reason: "Wildcards the service requires here.", AppliesTo: []string{"Resource::*", "Action::s3:Get*"}},
		{Rule: "NIST.800.53.R5-IAMUserGroupMembership", Reason: "No group would hold anything."},
	}
	second := []stacks.NagSuppression{
		first[1], // a duplicate, which both must drop
		{Rule: "AwsSolutions-IAM4", Reason: "Managed policy → accepted ✓ by review."},
		{Rule: "AwsSolutions-IAM5", Reason: "Wildcards the service requires here.", AppliesTo: []string{"Resource::*"}},
	}
	stack := awscdk.NewStack(stacks.NewApp(t.TempDir(), false), jsii.String("Merge"), nil)
	pairs := [][2]constructs.IConstruct{
		{awsiam.NewUser(stack, jsii.String("OursL2"), nil), awsiam.NewUser(stack, jsii.String("TheirsL2"), nil)},
		{awss3.NewCfnBucket(stack, jsii.String("OursL1"), nil), awss3.NewCfnBucket(stack, jsii.String("TheirsL1"), nil)},
	}
	for _, p := range pairs {
		ours, theirs := p[0], p[1]
		stacks.AddNagSuppressions(ours, first)
		stacks.AddNagSuppressions(ours, second)
		cdkNagSuppress(theirs, first)
		cdkNagSuppress(theirs, second)
		o, th := nagMetadata(t, ours), nagMetadata(t, theirs)
		if o == nil || !reflect.DeepEqual(o, th) {
			t.Errorf("%s: kmsguard wrote\n  %v\ncdk-nag writes\n  %v", *ours.Node().Id(), o, th)
		}
	}
	// Suppressions cdk-nag recorded first are kept, in front, and not repeated.
	mixed, ref := awsiam.NewUser(stack, jsii.String("Mixed"), nil), awsiam.NewUser(stack, jsii.String("Ref"), nil)
	cdkNagSuppress(mixed, first)
	stacks.AddNagSuppressions(mixed, second)
	cdkNagSuppress(ref, first)
	cdkNagSuppress(ref, second)
	if o, th := nagMetadata(t, mixed), nagMetadata(t, ref); !reflect.DeepEqual(o, th) {
		t.Errorf("after cdk-nag's own suppressions, kmsguard wrote\n  %v\ncdk-nag writes\n  %v", o, th)
	}
	// Control.
	short, full := awsiam.NewUser(stack, jsii.String("Short"), nil), awsiam.NewUser(stack, jsii.String("Full"), nil)
	stacks.AddNagSuppressions(short, first[:1])
	cdkNagSuppress(full, first)
	if reflect.DeepEqual(nagMetadata(t, short), nagMetadata(t, full)) {
		t.Error("metadata with one suppression fewer compared equal: the comparison would not catch a difference")
	}
}

// TestNagSuppressionRefusesWhatCdkNagRefuses: a reason under 10 characters, or an id naming a finding, is
// refused, as cdk-nag refuses it, naming the rule; so is a construct without a CloudFormation resource,
// where cdk-nag would record nothing and a finding would come back unexplained.
func TestNagSuppressionRefusesWhatCdkNagRefuses(t *testing.T) {
	stack := awscdk.NewStack(stacks.NewApp(t.TempDir(), false), jsii.String("Refuse"), nil)
	user := awsiam.NewUser(stack, jsii.String("User"), nil)
	for _, tc := range []struct {
		name   string
		target constructs.IConstruct
		sup    stacks.NagSuppression
		want   string
	}{
		{"short reason", user, stacks.NagSuppression{Rule: "AwsSolutions-IAM4", Reason: "too short"}, "AwsSolutions-IAM4: the reason must have 10 characters"},
		{"finding in id", user, stacks.NagSuppression{Rule: "AwsSolutions-IAM5[Resource::*]", Reason: "Long enough reason."}, "the id names a finding"},
		{"no resource", constructs.NewConstruct(stack, jsii.String("Empty")), stacks.NagSuppression{Rule: "AwsSolutions-IAM4", Reason: "Long enough reason."}, "need a CloudFormation resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			stacks.AddNagSuppressions(tc.target, []stacks.NagSuppression{tc.sup})
		})
	}
	// The accepted form of the same suppressions passes.
	stacks.AddNagSuppressions(user, []stacks.NagSuppression{{Rule: "AwsSolutions-IAM5", Reason: "Long enough reason.", AppliesTo: []string{"Resource::*"}}})
}

// TestNagPacksReportAMissingSuppression is the control for the suppressions: with one of the access-log
// bucket's two accepted findings left out, the packs report exactly that finding on that bucket.
func TestNagPacksReportAMissingSuppression(t *testing.T) {
	_, findings := nagSynth(t, "hardened", func(g *stacks.GuardStack) {
		c := findPath(t, g.Stack, "AuditTrail/AccessLogBucket")
		resetNagMetadata(c)
		var kept []stacks.NagSuppression
		for _, s := range g.NagSuppressions()["AuditTrail/AccessLogBucket"] {
			if s.Rule != "NIST.800.53.R5-S3DefaultEncryptionKMS" {
				kept = append(kept, s)
			}
		}
		stacks.AddNagSuppressions(c, kept)
	})
	var got []string
	for _, f := range findings {
		if !kmsguardOwn(f) {
			got = append(got, f.path+" "+strings.SplitN(f.text, ":", 2)[0])
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "AccessLogBucket") || !strings.HasSuffix(got[0], " NIST.800.53.R5-S3DefaultEncryptionKMS") {
		t.Errorf("findings %v, want exactly NIST.800.53.R5-S3DefaultEncryptionKMS on the access-log bucket", got)
	}
}
