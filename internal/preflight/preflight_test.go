package preflight

// The checks run against moto_server (internal/testmoto) wherever moto implements the API: STS, SSM,
// CloudFormation, IAM users, KMS, CloudWatch Logs, CloudTrail, EventBridge and EC2. Three are fakes behind
// their interfaces, and each test that uses them says so: Service Quotas for EventBridge (fakeQuotas) and
// iam:SimulatePrincipalPolicy (fakeSimulator), which moto does not implement, and CloudWatch dashboards
// (fakeDashboards): moto 5.2.1 has GetDashboard, but not the Smithy RPC v2 CBOR protocol in which every
// aws-sdk-go-v2 CloudWatch client since v1.53 sends it (moto answers 404). What real
// AWS answers is documented in docs/preflight.md; moto shows that the calls, their pagination and the
// not-found errors are read as the SDK delivers them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/kmsguard/kmsguard/internal/testmoto"
	"github.com/kmsguard/kmsguard/stacks"
)

func TestMain(m *testing.M) {
	testmoto.Main(m)
}

const (
	region      = testmoto.Region
	motoAccount = "123456789012"
)

// fakeQuotas stands in for Service Quotas, which moto does not implement for EventBridge. applied holds the
// applied values by quota code (absent: NoSuchResourceException, as for a quota never changed); defaults
// the AWS defaults; err fails every call.
type fakeQuotas struct {
	applied, defaults map[string]float64
	err               error
}

func (f *fakeQuotas) GetServiceQuota(_ context.Context, in *servicequotas.GetServiceQuotaInput, _ ...func(*servicequotas.Options)) (*servicequotas.GetServiceQuotaOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.applied[aws.ToString(in.QuotaCode)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchResourceException", Message: "no applied quota"}
	}
	return &servicequotas.GetServiceQuotaOutput{Quota: &sqtypes.ServiceQuota{Value: aws.Float64(v)}}, nil
}

func (f *fakeQuotas) GetAWSDefaultServiceQuota(_ context.Context, in *servicequotas.GetAWSDefaultServiceQuotaInput, _ ...func(*servicequotas.Options)) (*servicequotas.GetAWSDefaultServiceQuotaOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.defaults[aws.ToString(in.QuotaCode)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchResourceException", Message: "no such quota"}
	}
	return &servicequotas.GetAWSDefaultServiceQuotaOutput{Quota: &sqtypes.ServiceQuota{Value: aws.Float64(v)}}, nil
}

// fakeSimulator stands in for iam:SimulatePrincipalPolicy, which moto does not implement: principals that
// exist, actions denied to each, and what was asked of whom.
type fakeSimulator struct {
	exists map[string]bool
	deny   map[string][]string
	asked  map[string][]string
}

func (f *fakeSimulator) SimulatePrincipalPolicy(_ context.Context, in *iam.SimulatePrincipalPolicyInput, _ ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	p := aws.ToString(in.PolicySourceArn)
	if !f.exists[p] {
		return nil, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no such principal " + p}
	}
	if f.asked == nil {
		f.asked = map[string][]string{}
	}
	f.asked[p] = append(f.asked[p], in.ActionNames...)
	out := &iam.SimulatePrincipalPolicyOutput{}
	for _, a := range in.ActionNames {
		decision := iamtypes.PolicyEvaluationDecisionTypeAllowed
		if slices.Contains(f.deny[p], a) {
			decision = iamtypes.PolicyEvaluationDecisionTypeImplicitDeny
		}
		out.EvaluationResults = append(out.EvaluationResults, iamtypes.EvaluationResult{EvalActionName: aws.String(a), EvalDecision: decision})
	}
	return out, nil
}

// fakeDashboards stands in for CloudWatch's GetDashboard (see above): the dashboards that exist.
type fakeDashboards struct{ names map[string]bool }

func (f *fakeDashboards) GetDashboard(_ context.Context, in *cloudwatch.GetDashboardInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetDashboardOutput, error) {
	if !f.names[aws.ToString(in.DashboardName)] {
		// The error the SDK's CloudWatch client returns for a dashboard that does not exist.
		return nil, &cwtypes.DashboardNotFoundError{Message: aws.String("Dashboard does not exist")}
	}
	return &cloudwatch.GetDashboardOutput{DashboardName: in.DashboardName}, nil
}

const (
	execRole   = "arn:aws:iam::" + motoAccount + ":role/cdk-hnb659fds-cfn-exec-role-" + motoAccount + "-" + region
	deployRole = "arn:aws:iam::" + motoAccount + ":role/cdk-hnb659fds-deploy-role-" + motoAccount + "-" + region
	deployer   = "arn:aws:iam::" + motoAccount + ":user/deployer"
)

// env is one test's moto account (reset first) with the two fakes.
type env struct {
	t        *testing.T
	endpoint string
	cfg      aws.Config
	deps     Deps
	quotas   *fakeQuotas
	sim      *fakeSimulator
	boards   *fakeDashboards
}

func newEnv(t *testing.T) *env {
	t.Helper()
	endpoint := testmoto.Endpoint(t)
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
	e := &env{t: t, endpoint: endpoint, cfg: testmoto.Config(t, endpoint)}
	e.quotas = &fakeQuotas{defaults: map[string]float64{eventPatternQuotaCode: 2048, rulesPerBusQuotaCode: 300}}
	e.sim = &fakeSimulator{exists: map[string]bool{execRole: true, deployer: true}}
	e.deps = NewDeps(e.cfg)
	e.boards = &fakeDashboards{names: map[string]bool{}}
	e.deps.Quotas, e.deps.Simulator, e.deps.Dashboards = e.quotas, e.sim, e.boards
	// The caller is an IAM user of the moto account, as an operator's would be (moto answers
	// GetCallerIdentity with the user whose access key signed the call).
	// After the reset only this call makes the user. "Already exists" still means the user is there,
	// which is all the setup needs; one CI run failed on it (most likely the SDK retrying a CreateUser
	// whose first attempt moto had carried out; testmoto.Config logs retries, to show it if it recurs).
	iamc := iam.NewFromConfig(e.cfg)
	var exists *iamtypes.EntityAlreadyExistsException
	if _, err := iamc.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("deployer")}); err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	if err != nil {
		t.Fatal(err)
	}
	callerCfg := e.cfg.Copy()
	callerCfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	e.deps.Identity = sts.NewFromConfig(callerCfg)
	return e
}

// bootstrap writes the CDK bootstrap version parameter, as cdk bootstrap does.
func (e *env) bootstrap(version string) {
	e.t.Helper()
	_, err := ssm.NewFromConfig(e.cfg).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String("/cdk-bootstrap/hnb659fds/version"), Value: aws.String(version), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
	if err != nil {
		e.t.Fatal(err)
	}
}

// golden is a committed test template (test/testdata), with the configuration it was synthesized from.
func golden(t *testing.T, name string, ctx map[string]any) ([]byte, stacks.Config) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "test", "testdata", name+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ParseConfig(acceptingRisks(ctx))
	if err != nil {
		t.Fatal(err)
	}
	return raw, cfg
}

// acceptingRisks records the risks a test context takes (no subscriber, no network restriction) as an
// operator must (README.md, "Safe by default"); it changes nothing in the template.
func acceptingRisks(ctx map[string]any) map[string]any {
	out := map[string]any{}
	var risks []any
	if _, ok := ctx["alertEmails"]; !ok {
		risks = append(risks, stacks.RiskNoAlertSubscriber)
	}
	_, cidrs := ctx["allowedCidrs"]
	_, vpces := ctx["allowedVpcEndpoints"]
	if !cidrs && !vpces {
		risks = append(risks, stacks.RiskAnyNetwork)
	}
	if len(risks) > 0 {
		out["acceptRisks"] = risks
	}
	for k, v := range ctx {
		out[k] = v
	}
	return out
}

func (e *env) run(raw []byte, cfg stacks.Config) Report {
	return Run(context.Background(), e.deps, raw, cfg, region, "template.json")
}

func result(t *testing.T, r Report, check string) Result {
	t.Helper()
	for _, res := range r.Results {
		if res.Check == check {
			return res
		}
	}
	t.Fatalf("no %s check in %+v", check, r.Results)
	return Result{}
}

func want(t *testing.T, r Report, check string, status Status, mentions ...string) {
	t.Helper()
	res := result(t, r, check)
	if res.Status != status {
		t.Errorf("%s: status %s, want %s: %s (fix: %s)", check, res.Status, status, res.Summary, res.Fix)
	}
	for _, m := range mentions {
		if !strings.Contains(res.Summary+" fix: "+res.Fix, m) {
			t.Errorf("%s: %q does not mention %q (fix: %s)", check, res.Summary, m, res.Fix)
		}
	}
}

func defaultTemplate(t *testing.T) ([]byte, stacks.Config) {
	return golden(t, "default", map[string]any{})
}

// TestBootstrapMissingOrTooOldIsNotReady: the template's CheckBootstrapVersion rule refuses versions 1-5,
// and without the parameter the deploy cannot start. Controls: version 30 passes; a template without the
// rule is not checked.
func TestBootstrapMissingOrTooOldIsNotReady(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	r := e.run(raw, cfg)
	want(t, r, "bootstrap", Fail, "no CDK bootstrap", "cdk bootstrap aws://"+motoAccount+"/"+region, "version 6 or later")
	if v, code := r.Verdict(); v != "not-ready" || code != ExitNotReady {
		t.Errorf("verdict %s %d, want not-ready 1", v, code)
	}
	e.bootstrap("5")
	want(t, e.run(raw, cfg), "bootstrap", Fail, "version 5", "too old")
	e.bootstrap("30")
	want(t, e.run(raw, cfg), "bootstrap", OK, "version 30")

	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "Rules")
	delete(doc, "Parameters")
	stripped, _ := json.Marshal(doc)
	want(t, e.run(stripped, cfg), "bootstrap", Skip, "needs no CDK bootstrap")
}

// TestNamesThatExistAreReported: the user, alias, dashboard and trail names the template fixes, created
// beforehand, each make the deploy fail (the dashboard in fakeDashboards, the rest on moto). Control: in a
// fresh account each is free.
func TestNamesThatExistAreReported(t *testing.T) {
	e := newEnv(t)
	e.bootstrap("30")
	raw, cfg := defaultTemplate(t)
	r := e.run(raw, cfg)
	want(t, r, "users", OK, `no IAM user named "MDBEncAdmin" or "MDBEnc"`)
	want(t, r, "alias", OK, "alias/mariadb-encryption")
	want(t, r, "dashboard", OK, "KmsGuard-mariadb-key-"+region)
	want(t, r, "trail-name", OK, "mariadb-encryption-key")

	ctx := context.Background()
	if _, err := iam.NewFromConfig(e.cfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("MDBEncAdmin")}); err != nil {
		t.Fatal(err)
	}
	k := kms.NewFromConfig(e.cfg)
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/mariadb-encryption"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	e.boards.names["KmsGuard-mariadb-key-"+region] = true // a fake: see fakeDashboards
	e.trail("mariadb-encryption-key")
	r = e.run(raw, cfg)
	want(t, r, "users", Fail, `"MDBEncAdmin" exists`, "adminUserArn")
	want(t, r, "alias", Fail, "alias/mariadb-encryption")
	want(t, r, "dashboard", Fail, "KmsGuard-mariadb-key-"+region)
	want(t, r, "trail-name", Fail, "mariadb-encryption-key", "existingTrailArn")
}

// TestAnExistingStacksOwnNamesAreNotCollisions: on an update, the names the deployed stack already owns
// exist by design. Control: a name the stack does not own still fails.
func TestAnExistingStacksOwnNamesAreNotCollisions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := cloudformation.NewFromConfig(e.cfg).CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("KmsGuard"),
		TemplateBody: aws.String(`{"Resources":{"Admin":{"Type":"AWS::IAM::User","Properties":{"UserName":"MDBEncAdmin"}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	raw, cfg := defaultTemplate(t)
	r := e.run(raw, cfg)
	want(t, r, "stack", OK, "stack KmsGuard exists")
	want(t, r, "users", OK, `"MDBEnc"`)
	if _, err := iam.NewFromConfig(e.cfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("MDBEnc")}); err != nil {
		t.Fatal(err)
	}
	want(t, e.run(raw, cfg), "users", Fail, `"MDBEnc" exists`)
}

// trail creates a trail (and its bucket) in moto; it logs management events.
func (e *env) trail(name string, opts ...func(*cloudtrail.CreateTrailInput)) string {
	e.t.Helper()
	ctx := context.Background()
	bucket := strings.ToLower(name) + "-bucket"
	if _, err := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		e.t.Fatal(err)
	}
	in := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)}
	for _, o := range opts {
		o(in)
	}
	ct := cloudtrail.NewFromConfig(e.cfg)
	out, err := ct.CreateTrail(ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.TrailARN)
}

// TestTrailsQuotaCountsWhatTheRegionHas: five trails in the region leave no room for the stack's own
// (quota 5, not adjustable). Controls: four leave room; with existingTrailArn the stack adds none.
func TestTrailsQuotaCountsWhatTheRegionHas(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	for i := range 4 {
		e.trail(fmt.Sprintf("other-trail-%d", i))
	}
	want(t, e.run(raw, cfg), "trails", OK, "4 trail(s)", "1 more")
	arn := e.trail("other-trail-4")
	want(t, e.run(raw, cfg), "trails", Fail, "5 trail(s)", "1 more", "existingTrailArn")

	rawExisting, cfgExisting := golden(t, "existing-trail-no-logs", map[string]any{"existingTrailArn": arn})
	want(t, e.run(rawExisting, cfgExisting), "trails", OK, "5 trail(s)", "0 more")
}

// TestAnOrganizationTrailIsSuggested: an organization trail already records the account's management
// events; a stack that would add its own trail is told to reuse it. Controls: without one nothing is
// suggested; with existingTrailArn set the suggestion is taken.
func TestAnOrganizationTrailIsSuggested(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	want(t, e.run(raw, cfg), "org-trail", OK, "no organization trail")
	arn := e.trail("org-trail", func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail, in.IsMultiRegionTrail = aws.Bool(true), aws.Bool(true)
	})
	want(t, e.run(raw, cfg), "org-trail", Warn, "organization trail "+arn, "existingTrailArn="+arn)
	rawExisting, cfgExisting := golden(t, "existing-trail-no-logs", map[string]any{"existingTrailArn": arn})
	want(t, e.run(rawExisting, cfgExisting), "org-trail", OK, "existingTrailArn is set")
}

// TestASecondRegionIsToldToReuseTheFirstRegionsTrail: kmsguard's multi-region trail from a first stack in
// another region already records this one; a second stack with the same trailName is told to reuse it.
// Control: a trail of another name, or a single-region one elsewhere, says nothing.
func TestASecondRegionIsToldToReuseTheFirstRegionsTrail(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	other := e.cfg.Copy()
	other.Region = "eu-west-1"
	ctx := context.Background()
	if _, err := s3.NewFromConfig(other, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("first-region-trail"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(other)
	mk := func(name string, multi bool) string {
		out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String("first-region-trail"), IsMultiRegionTrail: aws.Bool(multi)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TrailARN)
	}
	mk("another-trail", true)
	mk("mariadb-encryption-key", false)
	for _, res := range e.run(raw, cfg).Results {
		if res.Check == "trail-shadow" {
			t.Errorf("control: %s", res.Summary)
		}
	}
	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("mariadb-encryption-key")}); err != nil {
		t.Fatal(err)
	}
	arn := mk("mariadb-encryption-key", true)
	want(t, e.run(raw, cfg), "trail-shadow", Warn, arn, "home region eu-west-1", "existingTrailArn="+arn)
}

// TestAnExistingTrailMustLogWhatTheRulesNeed: existingTrailArn must name a trail of this region that is
// logging read and write management events with KMS included; existingTrailLogGroup must exist. Controls:
// a trail that does is accepted, and so is a log group that exists.
func TestAnExistingTrailMustLogWhatTheRulesNeed(t *testing.T) {
	const trailLogs = "aws-cloudtrail-logs-111122223333-management-events" // the golden existing-trail template's
	e := newEnv(t)
	ctx := context.Background()
	missing := "arn:aws:cloudtrail:" + region + ":" + motoAccount + ":trail/management-events"
	raw, cfg := golden(t, "existing-trail", map[string]any{"existingTrailArn": missing, "existingTrailLogGroup": trailLogs})
	r := e.run(raw, cfg)
	want(t, r, "existing-trail", Fail, "is not a trail that records "+region)
	want(t, r, "existing-logs", Fail, `"`+trailLogs+`" does not exist`)

	arn := e.trail("management-events")
	if arn != missing {
		t.Fatalf("moto made trail %s, want %s", arn, missing)
	}
	if _, err := cloudwatchlogs.NewFromConfig(e.cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(trailLogs)}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(e.cfg)
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(arn), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	r = e.run(raw, cfg)
	want(t, r, "existing-trail", OK, "logging read and write management events")
	filters := countResources(t, raw, "AWS::Logs::MetricFilter", "")
	want(t, r, "existing-logs", OK, fmt.Sprintf("0 metric filter(s), %d more with this stack", filters))

	// CloudWatch Logs' 100 metric filters per log group: 100-N others leave room for kmsguard's N, one more does not.
	logs := cloudwatchlogs.NewFromConfig(e.cfg)
	room := 100 - filters
	for i := range room + 1 {
		if _, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(trailLogs),
			FilterName: aws.String(fmt.Sprintf("other-%02d", i)), FilterPattern: aws.String(`{ $.eventName = "X" }`),
			MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1")}}}); err != nil {
			t.Fatal(err)
		}
		if i == room-1 {
			want(t, e.run(raw, cfg), "existing-logs", OK, fmt.Sprintf("%d metric filter(s)", room))
		}
	}
	want(t, e.run(raw, cfg), "existing-logs", Fail, fmt.Sprintf("%d metric filter(s), %d more", room+1, filters), "quota is 100")

	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(arn), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	want(t, e.run(raw, cfg), "existing-trail", Fail, "read-only KMS management events")

	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("management-events")}); err != nil {
		t.Fatal(err)
	}
	want(t, e.run(raw, cfg), "existing-trail", Fail, "is not logging", "start-logging")
}

// TestRulesOnTheDefaultBusAgainstThePerBusQuotas: existing rules plus kmsguard's share against the applied
// rules quota (Service Quotas: a fake, moto has none for EventBridge) and the 30 wildcard rules. A rule of
// this stack that exists already is not counted twice. Controls: one rule fewer fits.
func TestRulesOnTheDefaultBusAgainstThePerBusQuotas(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(e.cfg)
	put := func(name, pattern string) {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
			t.Fatal(err)
		}
	}
	// kmsguard's share, read from the template: its rules, and those with a wildcard.
	ours, wild := countResources(t, raw, "AWS::Events::Rule", ""), countResources(t, raw, "AWS::Events::Rule", `"wildcard"`)
	e.quotas.applied = map[string]float64{rulesPerBusQuotaCode: float64(ours + 13)}
	for i := range 13 {
		put(fmt.Sprintf("plain-%d", i), `{"source":["aws.ec2"]}`)
	}
	put("KmsGuard-key-danger-1", `{"source":["aws.kms"]}`) // this stack's own: replaced, not added
	want(t, e.run(raw, cfg), "rules", OK, "13 rule(s)", fmt.Sprintf("%d more", ours), fmt.Sprintf("applied quota L-244521F2 is %d", ours+13))
	put("plain-13", `{"source":["aws.ec2"]}`)
	want(t, e.run(raw, cfg), "rules", Fail, "14 rule(s)", fmt.Sprintf("%d more", ours))

	e.quotas.applied = map[string]float64{} // not raised: the AWS default applies
	others := 30 - wild
	for i := range others {
		put(fmt.Sprintf("wild-%d", i), `{"detail":{"eventName":[{"wildcard":"Get*"}]}}`)
	}
	want(t, e.run(raw, cfg), "wildcard-rules", OK, fmt.Sprintf("%d rule(s) with a wildcard", others), fmt.Sprintf("%d more", wild))
	want(t, e.run(raw, cfg), "rules", OK, "AWS default quota L-244521F2 is 300")
	put(fmt.Sprintf("wild-%d", others), `{"detail":{"eventName":[{"wildcard":"Get*"}]}}`)
	want(t, e.run(raw, cfg), "wildcard-rules", Fail, fmt.Sprintf("%d rule(s) with a wildcard", others+1))
}

// TestAppliedEventPatternQuota: kmsguard's largest pattern against the account's applied quota
// (Service Quotas: a fake). Controls: the default 2,048 fits; a failed read is "could not check".
func TestAppliedEventPatternQuota(t *testing.T) {
	e := newEnv(t)
	raw, cfg := defaultTemplate(t)
	want(t, e.run(raw, cfg), "pattern-size", OK, "AWS default quota L-664C5505 is 2048")
	e.quotas.applied = map[string]float64{eventPatternQuotaCode: 1000}
	want(t, e.run(raw, cfg), "pattern-size", Fail, "applied quota L-664C5505 is 1000")
	e.quotas.err = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}
	want(t, e.run(raw, cfg), "pattern-size", Unknown, "servicequotas:GetServiceQuota")
}

// TestKMSEndpointsOutsideAllowedVpcEndpoints: with a network restriction, a KMS interface endpoint the key
// policy does not list is named (a call through it has no aws:SourceIp). Controls: listed, it passes; with
// no restriction nothing is checked; an endpoint for another service is ignored.
func TestKMSEndpointsOutsideAllowedVpcEndpoints(t *testing.T) {
	e := newEnv(t)
	raw, _ := defaultTemplate(t)
	ctx := context.Background()
	ec := ec2.NewFromConfig(e.cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := func(service string) string {
		out, err := ec.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: vpc.Vpc.VpcId, ServiceName: aws.String(service), VpcEndpointType: "Interface"})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VpcEndpoint.VpcEndpointId)
	}
	kmsEndpoint := endpoint("com.amazonaws." + region + ".kms")
	endpoint("com.amazonaws." + region + ".sts")
	cfg := func(ctx map[string]any) stacks.Config {
		c, err := stacks.ParseConfig(acceptingRisks(ctx))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	want(t, e.run(raw, cfg(map[string]any{"allowedCidrs": "203.0.113.0/24"})), "vpc-endpoints", Warn, kmsEndpoint, "aws:SourceIp")
	want(t, e.run(raw, cfg(map[string]any{"allowedVpcEndpoints": kmsEndpoint})), "vpc-endpoints", OK, "1 KMS interface endpoint")
	want(t, e.run(raw, cfg(map[string]any{})), "vpc-endpoints", Skip)
	want(t, e.run(raw, cfg(map[string]any{"allowedVpcEndpoints": "vpce-0123456789abcdef0," + kmsEndpoint})), "vpc-endpoints", Warn,
		"vpce-0123456789abcdef0, which is not a KMS interface endpoint")
}

// TestPermissionsOfWhoCreatesTheResources: with the CDK bootstrap, CloudFormation creates the resources
// with the bootstrap's execution role, and the caller must be allowed to assume the deploy role
// (iam:SimulatePrincipalPolicy: a fake, moto has none). A denied create action fails the check, naming it.
// Controls: all allowed passes; without the execution role the caller's own policies are simulated; the
// actions asked follow the template (no CreateTrail for an existing trail).
func TestPermissionsOfWhoCreatesTheResources(t *testing.T) {
	e := newEnv(t)
	e.bootstrap("30")
	raw, cfg := defaultTemplate(t)
	want(t, e.run(raw, cfg), "permissions", OK, "execution role "+execRole)
	if !slices.Contains(e.sim.asked[execRole], "cloudtrail:CreateTrail") || !slices.Contains(e.sim.asked[deployer], "sts:AssumeRole") {
		t.Errorf("asked %v", e.sim.asked)
	}
	e.sim.deny = map[string][]string{execRole: {"kms:CreateKey"}, deployer: {"sts:AssumeRole"}}
	want(t, e.run(raw, cfg), "permissions", Fail, "kms:CreateKey", "sts:AssumeRole on "+deployRole)

	e.sim = &fakeSimulator{exists: map[string]bool{deployer: true}, deny: map[string][]string{deployer: {"iam:CreateUser"}}}
	e.deps.Simulator = e.sim
	want(t, e.run(raw, cfg), "permissions", Fail, "the caller "+deployer, "iam:CreateUser")

	e.sim.asked = nil
	rawExisting, cfgExisting := golden(t, "existing-trail-no-logs", map[string]any{"existingTrailArn": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-trail"})
	e.run(rawExisting, cfgExisting)
	if slices.Contains(e.sim.asked[deployer], "cloudtrail:CreateTrail") || !slices.Contains(e.sim.asked[deployer], "events:PutRule") {
		t.Errorf("existing trail: asked %v; want PutRule and no CreateTrail", e.sim.asked[deployer])
	}
}

func TestPrincipalOfTheCaller(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::111122223333:user/ops/alice":                  "arn:aws:iam::111122223333:user/ops/alice",
		"arn:aws:sts::111122223333:assumed-role/Admin/alice":        "arn:aws:iam::111122223333:role/Admin",
		"arn:aws-us-gov:sts::111122223333:assumed-role/Deploy/ci-1": "arn:aws-us-gov:iam::111122223333:role/Deploy",
		"arn:aws:iam::111122223333:root":                            "",
		"arn:aws:sts::111122223333:federated-user/bob":              "",
	} {
		got, ok := principalOf(arn)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", arn, got, ok, want)
		}
	}
}

// TestVerdictAndExitStatus: one failure makes the report not ready (1) whatever else; a check that could
// not be made, with no failure, is 3; otherwise ready (0), warnings included.
func TestVerdictAndExitStatus(t *testing.T) {
	for _, tc := range []struct {
		statuses []Status
		verdict  string
		code     int
	}{
		{[]Status{OK, Warn, Skip}, "ready", 0},
		{[]Status{OK, Unknown, Warn}, "could-not-check", 3},
		{[]Status{Unknown, Fail, OK}, "not-ready", 1},
	} {
		var r Report
		for _, s := range tc.statuses {
			r.Results = append(r.Results, Result{Check: "c", Status: s})
		}
		if v, code := r.Verdict(); v != tc.verdict || code != tc.code {
			t.Errorf("%v: got %s %d, want %s %d", tc.statuses, v, code, tc.verdict, tc.code)
		}
	}
}

// TestMainAgainstMoto runs the command as an operator would, its AWS configuration from the environment
// (AWS_ENDPOINT_URL pointing at moto), on a project directory. Real clients throughout, so Service Quotas
// and GetDashboard go to moto, which cannot answer them: they are among the checks that could not be made
// (moto's own caller, arn:aws:sts::…:user/moto, is no principal SimulatePrincipalPolicy takes: skipped). Fresh account: not ready (exit 1, the bootstrap). Bootstrapped: could not check (exit 3), with the
// two checks moto cannot answer named. --json carries the same verdict.
func TestMainAgainstMoto(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(`{"app":"go run ./bin","context":{"acceptRisks":["no-alert-subscriber","any-network"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, _ := defaultTemplate(t)
	if err := os.MkdirAll(filepath.Join(dir, "cdk.out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cdk.out", "KmsGuard.template.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range testmoto.Env(t, e.endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	main := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := Main(context.Background(), append([]string{"--dir", dir}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, _ := main()
	if code != ExitNotReady || !strings.Contains(out, "FAIL    bootstrap") || !strings.Contains(out, "NOT READY") {
		t.Errorf("fresh account: exit %d, want 1:\n%s", code, out)
	}
	e.bootstrap("30")
	code, out, _ = main("--json")
	var report struct {
		Verdict  string   `json:"verdict"`
		ExitCode int      `json:"exitCode"`
		Checks   []Result `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	var unknown []string
	for _, c := range report.Checks {
		if c.Status == Unknown {
			unknown = append(unknown, c.Check)
		}
	}
	if code != ExitCouldNotCheck || report.Verdict != "could-not-check" || report.ExitCode != code ||
		!slices.Contains(unknown, "rules") || !slices.Contains(unknown, "pattern-size") {
		t.Errorf("bootstrapped, on moto: exit %d, verdict %s, unknown %v; want 3, could-not-check, rules and pattern-size among them:\n%s",
			code, report.Verdict, unknown, out)
	}
	if code, _, errText := main("--template", filepath.Join(dir, "nope.json")); code != ExitCouldNotCheck || !strings.Contains(errText, "make synth") {
		t.Errorf("missing template: exit %d, %q; want 3 and the hint", code, errText)
	}
	if code, _, errText := main("--region"); code != ExitUsage || !strings.Contains(errText, "usage: kmsguard-preflight") {
		t.Errorf("bad flags: exit %d, %q; want 2 and the usage", code, errText)
	}
}

// countResources counts the template's resources of a type whose JSON contains has ("" for all of them).
func countResources(t *testing.T, raw []byte, typ, has string) int {
	t.Helper()
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range doc.Resources {
		if r.Type == typ && strings.Contains(string(r.Properties), has) {
			n++
		}
	}
	return n
}
