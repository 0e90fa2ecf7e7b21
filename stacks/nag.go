package stacks

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// NagPacks are the cdk-nag rule packs the stack is held to: AWS Solutions and NIST 800-53 rev 5. The test
// (test/nag_test.go) fails on any finding they report; `KMSGUARD_NAG=1 cdk synth` (make synth) writes
// their CSV/JSON reports into cdk.out/nag. Apply them with awscdk.Aspects_Of(app).Add.
func NagPacks(reports bool) []awscdk.IAspect {
	props := func() *cdknag.NagPackProps {
		return &cdknag.NagPackProps{
			Verbose: jsii.Bool(true),
			Reports: jsii.Bool(reports),
			// Suppressed findings are recorded in the report, with their reason, so a reviewer sees them.
			ReportFormats: &[]cdknag.NagReportFormat{cdknag.NagReportFormat_CSV, cdknag.NagReportFormat_JSON},
		}
	}
	return []awscdk.IAspect{cdknag.NewAwsSolutionsChecks(props()), cdknag.NewNIST80053R5Checks(props())}
}

// NagSuppression is one accepted cdk-nag finding: the rule, the reason, and (for rules that list what they
// matched, such as IAM5) the exact findings accepted, so that any new wildcard still fails.
type NagSuppression struct {
	Rule      string
	Reason    string
	AppliesTo []string
}

// NagSuppressions returns the accepted findings by construct path relative to the stack, for the docs
// test (docs/checks.md must list every one) and for applyNagSuppressions. Every entry is on one resource;
// nothing is suppressed stack-wide.
func (g *GuardStack) NagSuppressions() map[string][]NagSuppression {
	replication := NagSuppression{
		Rule: "NIST.800.53.R5-S3BucketReplicationEnabled",
		Reason: "Replication needs a destination bucket in another Region or account, which this single-Region stack " +
			"cannot own; the bucket is versioned, retained, TLS-only and CloudTrail log-file validation detects " +
			"tampering. Organisations that need AU-9(2) replicate to their log-archive account (docs/checks.md).",
	}
	s := map[string][]NagSuppression{}
	if g.AuditTrail != nil {
		s["AuditTrail/TrailBucket"] = []NagSuppression{replication}
		s["AuditTrail/AccessLogBucket"] = []NagSuppression{
			replication,
			{
				Rule: "NIST.800.53.R5-S3DefaultEncryptionKMS",
				Reason: "S3 server access logging delivers only to buckets with SSE-S3 (AES256) default encryption; " +
					"SSE-KMS on the target bucket makes S3 drop the access logs. The logs hold request metadata, no key material.",
			},
		}
	}
	if g.KeyAdmin != nil && g.Config.AdminRequireMfa {
		s["KeyAdmin/RequireMfa"] = []NagSuppression{{
			Rule: "AwsSolutions-IAM5",
			Reason: "AWS's documented force-MFA policy: iam:ListVirtualMFADevices has no resource-level permissions, " +
				"and the DenyAllExceptListedIfNoMfa statement must deny on every resource. Both wildcards are Resource::*; " +
				"any other wildcard still fails.",
			AppliesTo: []string{"Resource::*"},
		}}
	}
	for _, queue := range []string{"Detection/UndeliveredAlerts", "Detection/SecurityUndeliveredAlerts"} {
		s[queue] = []NagSuppression{{
			Rule: "AwsSolutions-SQS3",
			Reason: "This queue is itself the dead-letter queue of one destination's EventBridge rule targets (cdk-nag only " +
				"recognises queues named in another queue's redrive policy). A dead-letter queue of its own would hold " +
				"nothing: nobody consumes this queue automatically; its UndeliveredAlerts alarm fires on its first message.",
		}}
	}
	if g.ServerUser != nil {
		s["ServerUser/User"] = []NagSuppression{{
			Rule: "NIST.800.53.R5-IAMUserGroupMembership",
			Reason: "The MariaDB server user has no identity policy at all: its only permission is the master key's " +
				"AllowUseOfTheKey statement, which matches the user's ARN with aws:PrincipalArn (a group is never the " +
				"principal of a request, so it cannot be matched there). An empty group would add nothing to control.",
		}}
	}
	return s
}

// applyNagSuppressions records the accepted findings on their resources (as cdk_nag metadata, visible in
// the template and in cdk diff).
func (g *GuardStack) applyNagSuppressions() { suppressNag(g.Stack, g.NagSuppressions()) }

// suppressNag records the accepted findings on the resources of stack, by construct path. It writes the
// metadata that cdk-nag's NagSuppressions.addResourceSuppressions writes (cdk-nag 2.38.2, whose rule packs
// read it back), in plain CDK calls: loading the cdk-nag assembly only for this cost every `cdk synth` a
// large share of its time (docs/checks.md, "Benchmark"). TestNagSuppressionMetadataMatchesCdkNag proves
// the two write the same metadata.
func suppressNag(stack awscdk.Stack, suppressions map[string][]NagSuppression) {
	paths := make([]string, 0, len(suppressions))
	for path := range suppressions {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	// Each construct on the way, and each node searched, is looked up once: every lookup is a round trip
	// to the CDK's process (docs/checks.md, "Benchmark").
	constructs := map[string]cdkconstructs.IConstruct{"": stack}
	nodes := map[string]cdkconstructs.Node{}
	for _, path := range paths {
		parent := ""
		for _, id := range strings.Split(path, "/") {
			if id == "" {
				panic(fmt.Sprintf("cdk-nag suppressions: %q is no construct path (an empty id)", path))
			}
			at := strings.TrimPrefix(parent+"/"+id, "/")
			if _, ok := constructs[at]; !ok {
				node, ok := nodes[parent]
				if !ok {
					node = constructs[parent].Node()
					nodes[parent] = node
				}
				// FindChild panics on a missing id: a renamed construct must not silently drop its suppression.
				constructs[at] = node.FindChild(jsii.String(id))
			}
			parent = at
		}
		AddNagSuppressions(constructs[path], suppressions[path])
	}
}

// AddNagSuppressions records sups on construct's CloudFormation resource (its default child, or the
// construct itself) as cdk-nag's NagSuppressions.addResourceSuppressions does: metadata
// cdk_nag.rules_to_suppress, the resource's earlier entries first, then each new {id, reason, applies_to},
// duplicates dropped; a reason with a character above U+00FF is stored base64-encoded with
// is_reason_encoded. It panics on a suppression cdk-nag would refuse (a reason under 10 characters, a
// finding in the id) and, unlike cdk-nag, on a construct that is no CloudFormation resource, where
// cdk-nag would silently record nothing.
func AddNagSuppressions(construct cdkconstructs.IConstruct, sups []NagSuppression) {
	var problems []string
	for _, s := range sups {
		if strings.Contains(s.Rule, "[") && strings.Contains(s.Rule[strings.Index(s.Rule, "["):], "]") {
			problems = append(problems, fmt.Sprintf("suppression %s: the id names a finding; list findings in AppliesTo", s.Rule))
		}
		if len(utf16.Encode([]rune(s.Reason))) < 10 {
			problems = append(problems, fmt.Sprintf("suppression %s: the reason must have 10 characters or more", s.Rule))
		}
	}
	if len(problems) > 0 {
		panic(fmt.Sprintf("%s: %s", *construct.Node().Id(), strings.Join(problems, "; ")))
	}
	target := construct
	if d := construct.Node().DefaultChild(); d != nil {
		target = d
	}
	resource, ok := target.(awscdk.CfnResource)
	if !ok {
		panic(fmt.Sprintf("%s: cdk-nag suppressions need a CloudFormation resource, and this construct is none", *construct.Node().Path()))
	}
	var rules []any
	seen := map[string]bool{}
	add := func(rule any) {
		key, err := json.Marshal(rule)
		if err != nil {
			panic(err)
		}
		if !seen[string(key)] {
			seen[string(key)] = true
			rules = append(rules, rule)
		}
	}
	if old, ok := resource.GetMetadata(jsii.String("cdk_nag")).(map[string]any); ok {
		if list, ok := old["rules_to_suppress"].([]any); ok {
			for _, r := range list {
				add(r)
			}
		}
	}
	for _, s := range sups {
		rule := map[string]any{"id": s.Rule, "reason": s.Reason}
		if len(s.AppliesTo) > 0 {
			applies := make([]any, len(s.AppliesTo))
			for i, a := range s.AppliesTo {
				applies[i] = a
			}
			rule["applies_to"] = applies
		}
		for _, r := range s.Reason {
			if r > 0xff {
				rule["reason"] = base64.StdEncoding.EncodeToString([]byte(s.Reason))
				rule["is_reason_encoded"] = true
				break
			}
		}
		add(rule)
	}
	resource.AddMetadata(jsii.String("cdk_nag"), map[string]any{"rules_to_suppress": rules})
}

// NagReport builds the stack a second time, in its own app writing to outdir, with the packs applied and
// their CSV/JSON reports on, and writes a one-line summary per pack to w. It is separate from the real
// synth on purpose: cdk-nag records findings as error annotations, and those must not fail `make synth`
// (test/nag_test.go is the gate that fails).
func NagReport(cfg Config, outdir string, w io.Writer) error {
	app := NewApp(outdir, false)
	NewGuardStack(app, cfg)
	for _, pack := range NagPacks(true) {
		awscdk.Aspects_Of(app).Add(pack, nil)
	}
	app.Synth(nil)
	for _, pack := range []string{"AwsSolutions", "NIST.800.53.R5"} {
		// cdk-nag names the file <pack>-<stage path>-<stack>-NagReport.csv; the stage path is empty here.
		matches, _ := filepath.Glob(filepath.Join(outdir, pack+"-*"+cfg.StackName+"-NagReport.csv"))
		if len(matches) != 1 {
			return fmt.Errorf("cdk-nag report: want one %s report for %s in %s, found %v", pack, cfg.StackName, outdir, matches)
		}
		file := matches[0]
		counts, err := countCompliance(file)
		if err != nil {
			return fmt.Errorf("cdk-nag report: %w", err)
		}
		fmt.Fprintf(w, "cdk-nag %-15s %3d non-compliant, %3d suppressed (reason in stacks/nag.go), %3d compliant, %3d not applicable: %s\n",
			pack, counts["Non-Compliant"], counts["Suppressed"], counts["Compliant"], counts["N/A"], file)
	}
	return nil
}

func countCompliance(file string) (map[string]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", file)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "Compliance" {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no Compliance column in %v", file, rows[0])
	}
	counts := map[string]int{}
	for _, r := range rows[1:] {
		counts[r[col]]++
	}
	return counts, nil
}
