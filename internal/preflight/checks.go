package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kmsguard/kmsguard/internal/quota"
	"github.com/kmsguard/kmsguard/stacks"
)

// Service Quotas codes of the EventBridge quotas the checks read (docs/quotas.md, docs/preflight.md).
const (
	eventPatternQuotaCode = "L-664C5505"
	rulesPerBusQuotaCode  = "L-244521F2"
)

// Run makes every check for the template raw (written to templatePath) and the configuration it was
// synthesized from, in the region of d's clients, and returns the report. It never changes anything in
// the account: every call is a read (or a policy simulation).
func Run(ctx context.Context, d Deps, raw []byte, cfg stacks.Config, region, templatePath string) Report {
	r := &run{d: d, report: Report{Stack: cfg.StackName, Region: region, Template: templatePath}}
	id, err := d.Identity.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		r.add(Unknown, "credentials", fmt.Sprintf("sts:GetCallerIdentity failed: %v", err),
			"give AWS credentials for the target account (AWS_PROFILE, --profile, SSO, an instance role)")
		return r.report
	}
	r.callerArn, r.report.Account = aws.ToString(id.Arn), aws.ToString(id.Account)
	r.partition = "aws"
	if parts := strings.SplitN(r.callerArn, ":", 3); len(parts) == 3 {
		r.partition = parts[1]
	}
	r.plan, err = NewPlan(raw, cfg, r.partition, region, r.report.Account)
	if err != nil {
		r.add(Unknown, "template", err.Error(), "run make synth (cdk synth) again and pass its template with --template")
		return r.report
	}
	r.ownedResources(ctx)
	r.subscriptions(ctx)
	r.bootstrap(ctx)
	r.names(ctx)
	r.trails(ctx)
	r.rules(ctx)
	r.eventPatternQuota(ctx)
	r.vpcEndpoints(ctx)
	r.permissions(ctx)
	return r.report
}

type run struct {
	d                    Deps
	plan                 Plan
	report               Report
	callerArn, partition string
	trailList            []cttypes.Trail
	// owned are the physical ids of an existing stack of the same name: on an update its own names are
	// not collisions.
	owned map[string]bool
	// stack is "exists", "absent" or "" (could not be read); topics are its SNS topics' ARNs, sorted.
	stack  string
	topics []string
}

func (r *run) add(s Status, check, summary, fix string) {
	r.report.Results = append(r.report.Results, Result{Check: check, Status: s, Summary: summary, Fix: fix})
}

// could adds the "could not check" result for a failed call.
func (r *run) could(check, call string, err error) {
	r.add(Unknown, check, fmt.Sprintf("%s failed: %v", call, err), "allow the caller "+call+" (read-only), or check by hand")
}

func (r *run) ownedResources(ctx context.Context) {
	r.owned = map[string]bool{}
	out, err := r.d.Stacks.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(r.plan.Stack)})
	switch {
	case err != nil && errorCode(err) == "ValidationError" && strings.Contains(err.Error(), "does not exist"):
		r.stack = "absent"
		r.add(OK, "stack", fmt.Sprintf("no stack %s yet: cdk deploy creates it", r.plan.Stack), "")
	case err != nil:
		r.could("stack", "cloudformation:DescribeStackResources", err)
	default:
		r.stack = "exists"
		for _, res := range out.StackResources {
			r.owned[aws.ToString(res.PhysicalResourceId)] = true
			if aws.ToString(res.ResourceType) == "AWS::SNS::Topic" && aws.ToString(res.PhysicalResourceId) != "" {
				r.topics = append(r.topics, aws.ToString(res.PhysicalResourceId))
			}
		}
		slices.Sort(r.topics)
		r.add(OK, "stack", fmt.Sprintf("stack %s exists (%d resources): cdk deploy updates it, and its own names are not collisions", r.plan.Stack, len(out.StackResources)), "")
	}
}

// bootstrap: the template's CheckBootstrapVersion rule reads the bootstrap version from SSM and refuses
// the listed versions; without the parameter the deploy fails before it starts.
func (r *run) bootstrap(ctx context.Context) {
	need := r.plan.Bootstrap
	if need == nil {
		r.add(Skip, "bootstrap", "the template has no BootstrapVersion rule: it needs no CDK bootstrap", "")
		return
	}
	env := fmt.Sprintf("aws://%s/%s", r.report.Account, r.report.Region)
	out, err := r.d.Parameters.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(need.Parameter)})
	switch {
	case notFound(err):
		r.add(Fail, "bootstrap", fmt.Sprintf("no CDK bootstrap in %s (parameter %s missing); the template needs version %d or later", env, need.Parameter, need.Minimum()),
			"cdk bootstrap "+env)
		return
	case err != nil:
		r.could("bootstrap", "ssm:GetParameter", err)
		return
	}
	v := aws.ToString(out.Parameter.Value)
	if slices.Contains(need.Refused, v) {
		r.add(Fail, "bootstrap", fmt.Sprintf("CDK bootstrap version %s in %s is too old; the template needs %d or later", v, env, need.Minimum()),
			"cdk bootstrap "+env+" (with the pinned CDK CLI: export PATH=$PWD/node_modules/.bin:$PATH)")
		return
	}
	r.add(OK, "bootstrap", fmt.Sprintf("CDK bootstrap version %s (the template needs %d or later)", v, need.Minimum()), "")
}

// names: a fixed name that already exists makes its create fail, and the whole deploy roll back.
func (r *run) names(ctx context.Context) {
	type lookup struct {
		check, what string
		names       []string
		exists      func(string) (bool, error)
		call, fix   string
	}
	lookups := []lookup{
		{"users", "IAM user", r.plan.Users, func(n string) (bool, error) {
			_, err := r.d.Users.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(n)})
			return exists(err)
		}, "iam:GetUser", "IAM user names are account-wide: name the existing administrator with adminUserArn and existing key users with keyUserArns, or choose another adminUserName / serverUserName"},
		{"alias", "KMS alias", r.plan.Aliases, func(n string) (bool, error) {
			_, err := r.d.Keys.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(n)})
			return exists(err)
		}, "kms:DescribeKey", "choose another keyAlias, or delete the alias if it is a leftover (docs/teardown.md)"},
		{"log-group", "log group", r.plan.LogGroups, func(n string) (bool, error) { return r.logGroupExists(ctx, n) },
			"logs:DescribeLogGroups", "choose another name, or delete the leftover log group (docs/teardown.md)"},
		{"dashboard", "dashboard", r.plan.Dashboards, func(n string) (bool, error) {
			_, err := r.d.Dashboards.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String(n)})
			return exists(err)
		}, "cloudwatch:GetDashboard", "choose another stackName (the dashboard is <stackName>-mariadb-key-<region>)"},
		{"trail-name", "trail", r.plan.Trails, func(n string) (bool, error) { return r.trailExists(ctx, n) },
			"cloudtrail:DescribeTrails", "use it with existingTrailArn (README.md, \"Using an existing trail\"), or choose another trailName"},
	}
	for _, l := range lookups {
		if len(l.names) == 0 {
			continue
		}
		var taken []string
		failed := false
		for _, n := range l.names {
			if r.owned[n] {
				continue
			}
			ok, err := l.exists(n)
			if err != nil {
				r.could(l.check, l.call, err)
				failed = true
				break
			}
			if ok {
				taken = append(taken, n)
			}
		}
		switch {
		case failed:
		case len(taken) > 0:
			r.add(Fail, l.check, fmt.Sprintf("%s %s exists already: creating it would fail", l.what, strings.Join(quoteAll(taken), ", ")), l.fix)
		default:
			r.add(OK, l.check, fmt.Sprintf("no %s named %s exists yet", l.what, strings.Join(quoteAll(l.names), " or ")), "")
		}
	}
	if g := r.plan.ExistingLogGroup; g != "" {
		ok, err := r.logGroupExists(ctx, g)
		switch {
		case err != nil:
			r.could("existing-logs", "logs:DescribeLogGroups", err)
		case !ok:
			r.add(Fail, "existing-logs", fmt.Sprintf("existingTrailLogGroup %q does not exist in %s: the metric filters cannot be created", g, r.report.Region),
				"name the log group the trail delivers to (aws cloudtrail describe-trails: CloudWatchLogsLogGroupArn), in the stack's region")
		default:
			r.existingLogGroupFilters(ctx, g)
		}
	}
}

// existingLogGroupFilters: CloudWatch Logs allows 100 metric filters per log group, and a trail's log group
// shared with others may already hold many.
func (r *run) existingLogGroupFilters(ctx context.Context, group string) {
	existing := 0
	var token *string
	for {
		out, err := r.d.LogGroups.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group), NextToken: token})
		if err != nil {
			r.could("existing-logs", "logs:DescribeMetricFilters", err)
			return
		}
		for _, f := range out.MetricFilters {
			if !strings.HasPrefix(aws.ToString(f.FilterName), r.plan.Stack+"-") { // this stack's own are replaced, not added
				existing++
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	ours := r.plan.FiltersOnExistingLogGroup
	summary := fmt.Sprintf("existingTrailLogGroup %q exists with %d metric filter(s), %d more with this stack; the quota is %d per log group",
		group, existing, ours, quota.MetricFiltersPerLogGroup)
	if existing+ours > quota.MetricFiltersPerLogGroup {
		r.add(Fail, "existing-logs", summary+": PutMetricFilter would fail", "remove unused metric filters from that log group (the quota cannot be raised)")
		return
	}
	r.add(OK, "existing-logs", summary, "")
}

func exists(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	}
	return false, err
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func (r *run) logGroupExists(ctx context.Context, name string) (bool, error) {
	out, err := r.d.LogGroups.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return false, err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return true, nil
		}
	}
	return false, nil
}

// regionTrails lists the trails that count in this region: its own and the shadows of multi-region and
// organization trails. Cached: three checks read it.
func (r *run) regionTrails(ctx context.Context) ([]cttypes.Trail, error) {
	if r.trailList != nil {
		return r.trailList, nil
	}
	out, err := r.d.Trails.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	r.trailList = append([]cttypes.Trail{}, out.TrailList...)
	return r.trailList, nil
}

func (r *run) trailExists(ctx context.Context, name string) (bool, error) {
	trails, err := r.regionTrails(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range trails {
		if aws.ToString(t.Name) == name && aws.ToString(t.HomeRegion) == r.report.Region {
			return true, nil
		}
	}
	return false, nil
}

// trails: the per-region quota of 5 trails (a multi-region trail counts in every region), an organization
// trail that could be reused, and an existing trail named by existingTrailArn that must record what the
// rules need.
func (r *run) trails(ctx context.Context) {
	trails, err := r.regionTrails(ctx)
	if err != nil {
		r.could("trails", "cloudtrail:DescribeTrails", err)
		return
	}
	existing := 0
	var org []cttypes.Trail
	for _, t := range trails {
		if !r.owned[aws.ToString(t.TrailARN)] && !r.owned[aws.ToString(t.Name)] {
			existing++
		}
		if aws.ToBool(t.IsOrganizationTrail) {
			org = append(org, t)
		}
	}
	ours := r.plan.Usage.Trails
	summary := fmt.Sprintf("%d trail(s) in %s, %d more with this stack; the quota is %d per region", existing, r.report.Region, ours, quota.TrailsPerRegion)
	if existing+ours > quota.TrailsPerRegion {
		r.add(Fail, "trails", summary+": CreateTrail would fail",
			"reuse one of them with existingTrailArn (README.md, \"Using an existing trail\"), or delete a trail nobody needs (the quota cannot be raised)")
	} else {
		r.add(OK, "trails", summary, "")
	}
	// A multi-region trail of the same name from another region (typically kmsguard's own, from a first
	// stack there) already records this region: a second one would record the same events twice.
	for _, t := range trails {
		if home := aws.ToString(t.HomeRegion); home != r.report.Region && slices.Contains(r.plan.Trails, aws.ToString(t.Name)) &&
			!r.owned[aws.ToString(t.TrailARN)] {
			r.add(Warn, "trail-shadow", fmt.Sprintf("multi-region trail %s (home region %s) already records %s under the name this stack would give its own trail: "+
				"a second trail would record and bill every management event again", aws.ToString(t.TrailARN), home, r.report.Region),
				fmt.Sprintf("reuse it: existingTrailArn=%s (README.md, \"Using an existing trail\")", aws.ToString(t.TrailARN)))
		}
	}
	switch {
	case len(org) > 0 && r.plan.ExistingTrailArn == "":
		r.add(Warn, "org-trail", fmt.Sprintf("organization trail %s already records this account's management events; this stack would add a trail of its own (a second copy of management events is billed)",
			aws.ToString(org[0].TrailARN)),
			fmt.Sprintf("reuse it: existingTrailArn=%s (the tamper rules then watch it by name; README.md, \"Using an existing trail\")", aws.ToString(org[0].TrailARN)))
	case len(org) > 0:
		r.add(OK, "org-trail", fmt.Sprintf("organization trail %s; existingTrailArn is set", aws.ToString(org[0].TrailARN)), "")
	default:
		r.add(OK, "org-trail", "no organization trail records this region", "")
	}
	if r.plan.ExistingTrailArn != "" {
		r.existingTrail(ctx, trails)
	}
}

// existingTrail: EventBridge receives CloudTrail's events only while a trail logs them (docs/aws-facts.md),
// and the key's read-only Decrypt and GenerateDataKeyWithoutPlaintext are read management events from KMS.
func (r *run) existingTrail(ctx context.Context, trails []cttypes.Trail) {
	arn := r.plan.ExistingTrailArn
	var found *cttypes.Trail
	for i, t := range trails {
		if aws.ToString(t.TrailARN) == arn {
			found = &trails[i]
		}
	}
	if found == nil {
		r.add(Fail, "existing-trail", fmt.Sprintf("existingTrailArn %s is not a trail that records %s", arn, r.report.Region),
			"name a trail listed by aws cloudtrail describe-trails in this region (a multi-region trail, or one whose home region is this one)")
		return
	}
	status, err := r.d.Trails.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		r.could("existing-trail", "cloudtrail:GetTrailStatus", err)
		return
	}
	if !aws.ToBool(status.IsLogging) {
		r.add(Fail, "existing-trail", fmt.Sprintf("trail %s is not logging: no CloudTrail event reaches EventBridge, and no rule can fire", arn),
			"aws cloudtrail start-logging --name "+arn)
		return
	}
	sel, err := r.d.Trails.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil {
		r.could("existing-trail", "cloudtrail:GetEventSelectors", err)
		return
	}
	if problem := managementEventGap(sel); problem != "" {
		r.add(Fail, "existing-trail", fmt.Sprintf("trail %s %s", arn, problem),
			"record read and write management events, KMS included, on that trail (kmsguard's own trail does), or let the stack create its trail")
		return
	}
	r.add(OK, "existing-trail", fmt.Sprintf("trail %s is logging read and write management events, KMS included", arn), "")
}

// managementEventGap says what the trail's selectors leave out of what kmsguard's rules need, or "".
func managementEventGap(sel *cloudtrail.GetEventSelectorsOutput) string {
	for _, s := range sel.EventSelectors {
		if aws.ToBool(s.IncludeManagementEvents) && s.ReadWriteType == cttypes.ReadWriteTypeAll &&
			!slices.Contains(s.ExcludeManagementEventSources, "kms.amazonaws.com") {
			return ""
		}
	}
	for _, a := range sel.AdvancedEventSelectors {
		management, readOnlyFiltered, kmsExcluded := false, false, false
		for _, f := range a.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				management = slices.Contains(f.Equals, "Management")
			case "readOnly":
				readOnlyFiltered = true
			case "eventSource":
				kmsExcluded = slices.Contains(f.NotEquals, "kms.amazonaws.com") || (len(f.Equals) > 0 && !slices.Contains(f.Equals, "kms.amazonaws.com"))
			}
		}
		if management && !readOnlyFiltered && !kmsExcluded {
			return ""
		}
	}
	return "does not record both read and write management events with KMS included (the key's Decrypt and GenerateDataKeyWithoutPlaintext are read-only KMS management events)"
}

// appliedQuota reads an EventBridge quota's applied value, else its AWS default; source says which.
func (r *run) appliedQuota(ctx context.Context, code string) (value int, source string, err error) {
	out, err := r.d.Quotas.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("events"), QuotaCode: aws.String(code)})
	if err == nil && out.Quota != nil && out.Quota.Value != nil {
		return int(*out.Quota.Value), "applied quota " + code, nil
	}
	if err != nil && !notFound(err) {
		return 0, "", err
	}
	def, err := r.d.Quotas.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String("events"), QuotaCode: aws.String(code)})
	if err != nil {
		return 0, "", err
	}
	if def.Quota == nil || def.Quota.Value == nil {
		return 0, "", fmt.Errorf("servicequotas:GetAWSDefaultServiceQuota %s: no value", code)
	}
	return int(*def.Quota.Value), "AWS default quota " + code, nil
}

// rules: the rules and wildcard rules already on the default bus, plus kmsguard's share, against the
// per-bus quotas (a rule of this stack that exists already is replaced, not added).
func (r *run) rules(ctx context.Context) {
	existing, wildcards := 0, 0
	var token *string
	for {
		out, err := r.d.Rules.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("default"), NextToken: token})
		if err != nil {
			r.could("rules", "events:ListRules", err)
			return
		}
		for _, rule := range out.Rules {
			if slices.Contains(r.plan.RuleNames, aws.ToString(rule.Name)) {
				continue
			}
			existing++
			var pattern any
			if json.Unmarshal([]byte(aws.ToString(rule.EventPattern)), &pattern) == nil && quota.UsesWildcard(pattern) {
				wildcards++
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	u := r.plan.Usage
	limit, source, err := r.appliedQuota(ctx, rulesPerBusQuotaCode)
	if err != nil {
		r.could("rules", "servicequotas:GetServiceQuota", err)
	} else {
		summary := fmt.Sprintf("%d rule(s) on the default bus, %d more with this stack; %s is %d", existing, u.RulesOnDefaultBus, source, limit)
		if existing+u.RulesOnDefaultBus > limit {
			r.add(Fail, "rules", summary+": PutRule would fail", "delete unused rules, or request a higher quota "+rulesPerBusQuotaCode+" in Service Quotas")
		} else {
			r.add(OK, "rules", summary, "")
		}
	}
	summary := fmt.Sprintf("%d rule(s) with a wildcard on the default bus, %d more with this stack; the quota is %d per bus (not adjustable)",
		wildcards, u.WildcardRules, quota.WildcardRulesPerBus)
	if wildcards+u.WildcardRules > quota.WildcardRulesPerBus {
		r.add(Fail, "wildcard-rules", summary+": PutRule would fail", "remove wildcards from other rules on the default bus, or delete unused ones")
	} else {
		r.add(OK, "wildcard-rules", summary, "")
	}
}

// eventPatternQuota: the account's applied event pattern size against kmsguard's largest pattern.
func (r *run) eventPatternQuota(ctx context.Context) {
	limit, source, err := r.appliedQuota(ctx, eventPatternQuotaCode)
	if err != nil {
		r.could("pattern-size", "servicequotas:GetServiceQuota", err)
		return
	}
	largest := r.plan.Usage.LargestEventPattern
	summary := fmt.Sprintf("largest event pattern %d characters (%s, at the longest names); %s is %d", largest, r.plan.Usage.LargestPatternRule, source, limit)
	if largest > limit {
		r.add(Fail, "pattern-size", summary+": PutRule would fail", "request a higher quota "+eventPatternQuotaCode+" in Service Quotas, or name fewer key users")
		return
	}
	r.add(OK, "pattern-size", summary, "")
}

// vpcEndpoints: a call through a VPC endpoint carries no aws:SourceIp, so with a network restriction a
// host that reaches KMS through an endpoint the key policy does not list is refused (docs/aws-facts.md).
func (r *run) vpcEndpoints(ctx context.Context) {
	if len(r.plan.AllowedCidrs) == 0 && len(r.plan.AllowedVpcEndpoints) == 0 {
		r.add(Skip, "vpc-endpoints", "no network restriction (allowedCidrs and allowedVpcEndpoints are empty)", "")
		return
	}
	var kmsEndpoints []string
	var token *string
	for {
		out, err := r.d.Endpoints.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{NextToken: token})
		if err != nil {
			r.could("vpc-endpoints", "ec2:DescribeVpcEndpoints", err)
			return
		}
		for _, e := range out.VpcEndpoints {
			svc := aws.ToString(e.ServiceName)
			if e.VpcEndpointType != ec2types.VpcEndpointTypeInterface {
				continue
			}
			if strings.HasSuffix(svc, "."+r.report.Region+".kms") || strings.HasSuffix(svc, "."+r.report.Region+".kms-fips") {
				kmsEndpoints = append(kmsEndpoints, aws.ToString(e.VpcEndpointId))
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	var unlisted, missing []string
	for _, id := range kmsEndpoints {
		if !slices.Contains(r.plan.AllowedVpcEndpoints, id) {
			unlisted = append(unlisted, id)
		}
	}
	for _, id := range r.plan.AllowedVpcEndpoints {
		if !slices.Contains(kmsEndpoints, id) {
			missing = append(missing, id)
		}
	}
	switch {
	case len(unlisted) > 0:
		r.add(Warn, "vpc-endpoints", fmt.Sprintf("KMS interface endpoint(s) %s in %s are not in allowedVpcEndpoints: a host that reaches KMS through one "+
			"is refused by the key policy (a call through an endpoint has no aws:SourceIp, so allowedCidrs cannot admit it)", strings.Join(unlisted, ", "), r.report.Region),
			"add the endpoint the MariaDB server uses to allowedVpcEndpoints; ignore this if the server does not use it")
	case len(missing) > 0:
		r.add(Warn, "vpc-endpoints", fmt.Sprintf("allowedVpcEndpoints names %s, which is not a KMS interface endpoint in %s: the key policy admits nothing through it",
			strings.Join(missing, ", "), r.report.Region), "check the endpoint id (aws ec2 describe-vpc-endpoints), or that it is in the stack's region")
	default:
		r.add(OK, "vpc-endpoints", fmt.Sprintf("%d KMS interface endpoint(s) in %s, all in allowedVpcEndpoints", len(kmsEndpoints), r.report.Region), "")
	}
}

// permissions simulates the policies of whoever creates the resources: with the CDK bootstrap, cdk deploy
// assumes the bootstrap's deploy role and CloudFormation creates the resources with its execution role;
// without it, the caller does both.
func (r *run) permissions(ctx context.Context) {
	actions, unknown := actionsFor(append(slices.Clone(r.plan.ResourceTypes), "AWS::CloudFormation::Stack"))
	if len(unknown) > 0 {
		r.add(Unknown, "permissions", "no list of the permissions needed to create "+strings.Join(unknown, ", "), "a kmsguard bug: add the type to preflight.CreateActions")
		return
	}
	caller, ok := principalOf(r.callerArn)
	if !ok {
		r.add(Skip, "permissions", fmt.Sprintf("the caller %s is the account root or a federated user, which iam:SimulatePrincipalPolicy cannot simulate", r.callerArn), "")
		return
	}
	denied, via, err := r.simulateCreator(ctx, caller, actions)
	if err != nil {
		r.could("permissions", "iam:SimulatePrincipalPolicy", err)
		return
	}
	if len(denied) > 0 {
		shown := denied
		if len(shown) > 8 {
			shown = append(slices.Clone(shown[:8]), fmt.Sprintf("and %d more", len(denied)-8))
		}
		r.add(Fail, "permissions", fmt.Sprintf("%d of the %d actions the deploy needs are not allowed for %s: %s", len(denied), len(actions), via, strings.Join(shown, ", ")),
			"deploy with a principal allowed these actions (an administrator of the account), or bootstrap with an execution role that has them")
		return
	}
	r.add(OK, "permissions", fmt.Sprintf("all %d actions the deploy needs are allowed to %s by its IAM policies (iam:SimulatePrincipalPolicy)", len(actions), via), "")
}

// simulateCreator returns the actions the deploy needs that are not allowed, and whose policies said so:
// with the bootstrap's execution role present, that role's (and sts:AssumeRole of the deploy role for the
// caller); else the caller's.
func (r *run) simulateCreator(ctx context.Context, caller string, actions []string) (denied []string, via string, err error) {
	if b := r.plan.Bootstrap; b != nil && b.Qualifier != "" {
		acct, region := r.report.Account, r.report.Region
		execRole := fmt.Sprintf("arn:%s:iam::%s:role/cdk-%s-cfn-exec-role-%s-%s", r.partition, acct, b.Qualifier, acct, region)
		denied, err = r.simulate(ctx, execRole, actions, "")
		switch {
		case notFound(err):
			// No execution role (the bootstrap check says why): the caller would need every permission itself.
		case err != nil:
			return nil, "", err
		default:
			deployRole := fmt.Sprintf("arn:%s:iam::%s:role/cdk-%s-deploy-role-%s-%s", r.partition, acct, b.Qualifier, acct, region)
			assume, err := r.simulate(ctx, caller, []string{"sts:AssumeRole"}, deployRole)
			if err != nil {
				return nil, "", err
			}
			for _, a := range assume {
				denied = append(denied, a+" on "+deployRole+" (the caller)")
			}
			return denied, "the bootstrap's CloudFormation execution role " + execRole, nil
		}
	}
	denied, err = r.simulate(ctx, caller, actions, "")
	return denied, "the caller " + caller, err
}

// simulate returns the actions principal may not do (on resource, or "*").
func (r *run) simulate(ctx context.Context, principal string, actions []string, resource string) ([]string, error) {
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(principal), ActionNames: actions}
	if resource != "" {
		in.ResourceArns = []string{resource}
	}
	var denied []string
	for {
		out, err := r.d.Simulator.SimulatePrincipalPolicy(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, e := range out.EvaluationResults {
			if e.EvalDecision != "allowed" {
				denied = append(denied, aws.ToString(e.EvalActionName))
			}
		}
		if !out.IsTruncated {
			break
		}
		in.Marker = out.Marker
	}
	slices.Sort(denied)
	return denied, nil
}

// principalOf turns the caller's ARN into what SimulatePrincipalPolicy takes: a user's ARN as it is, an
// assumed role's session as its role (without a path, which the session ARN does not carry). The account
// root and federated users cannot be simulated.
func principalOf(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", false
	}
	switch res := parts[5]; {
	case parts[2] == "iam" && strings.HasPrefix(res, "user/"), parts[2] == "iam" && strings.HasPrefix(res, "role/"):
		return arn, true
	case parts[2] == "sts" && strings.HasPrefix(res, "assumed-role/"):
		role := strings.SplitN(strings.TrimPrefix(res, "assumed-role/"), "/", 2)[0]
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], role), true
	}
	return "", false
}
