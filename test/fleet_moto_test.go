package test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/motoserver"
	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// motoAccount is an SDK config for one moto account and region: moto keeps one backend per account, chosen
// by the credentials of an sts:AssumeRole into that account (nothing here is a secret).
func motoAccount(t *testing.T, base aws.Config, account, region string) aws.Config {
	t.Helper()
	out, err := sts.NewFromConfig(base).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/fleet-test"), RoleSessionName: aws.String("fleet-test"),
	})
	if err != nil {
		t.Fatalf("assume a role in %s: %v", account, err)
	}
	cfg := base.Copy()
	cfg.Region = region
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	return cfg
}

// createStack creates a stack from body and fails unless it completes. The template goes through an S3
// bucket (TemplateURL), as cdk deploy sends a template over 51,200 bytes: the home central stack, which
// carries the StackSet templates inline, is one.
func createStack(t *testing.T, cfg aws.Config, name string, body []byte) *cloudformation.Client {
	t.Helper()
	cf := cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	bucket := "templates-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("template.json"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name),
		TemplateURL:  aws.String("https://s3.amazonaws.com/" + bucket + "/template.json"),
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam, cftypes.CapabilityCapabilityNamedIam}}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil || len(out.Stacks) != 1 || out.Stacks[0].StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("stack %s did not complete: %v %+v", name, err, out)
	}
	return cf
}

// withQueueTargets points every rule target of a central template at queueArn: moto's EventBridge does not
// deliver to SNS, so the test reads the rendered alert from an SQS queue instead of the topics. It also
// writes each rule's EventBusName as the bus's name: moto 5.2.1 resolves a Ref to an AWS::Events::EventBus
// to its model object instead of the name CloudFormation documents, and fails the rule. And it joins each
// input template's lines (each one JSON string, the multi-line text form EventBridge documents) into one
// JSON array: moto parses an input template as a single JSON document. The placeholders are unchanged.
func withQueueTargets(t *testing.T, raw []byte, queueArn string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		props := res["Properties"].(map[string]any)
		if ref, ok := props["EventBusName"].(map[string]any); ok {
			bus := doc["Resources"].(map[string]any)[ref["Ref"].(string)].(map[string]any)
			props["EventBusName"] = bus["Properties"].(map[string]any)["Name"]
			res["DependsOn"] = ref["Ref"] // what the Ref gave: the bus first
		}
		for _, tg := range props["Targets"].([]any) {
			target := tg.(map[string]any)
			target["Arn"] = queueArn
			if it, ok := target["InputTransformer"].(map[string]any); ok {
				it["InputTemplate"] = "[" + strings.ReplaceAll(it["InputTemplate"].(string), "\n", ",\n") + "]"
			}
		}
	}
	out, _ := json.Marshal(doc)
	return out
}

// keyIDAsRef rewrites Fn::GetAtt [key, KeyId] of a KMS key to Ref key, which AWS documents as the same
// value (the key id); moto 5.2.1's CloudFormation lacks the attribute (scripts/demo/emulator, ForMoto, makes
// the same rewrite). Nothing else changes.
func keyIDAsRef(t *testing.T, raw []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	out, _ := json.Marshal(cfntemplate.Rewrite(doc, func(node map[string]any) (any, bool) {
		if ref, ok := cfntemplate.RefOf(node); ok && ref.Attr == "KeyId" && tpl.Resources[ref.ID].Type == "AWS::KMS::Key" {
			n++
			return map[string]any{"Ref": ref.ID}, true
		}
		return nil, false
	}))
	if n == 0 {
		t.Fatal("no Fn::GetAtt KeyId to rewrite: has the template changed?")
	}
	return out
}

// TestFleetAlertTravelsFromMemberToCentralQueueOnMoto deploys the home region's central template in the
// security account and the regional StackSet template, as a plain stack, in a member account of moto, puts
// the CloudTrail record of an UpdateAlias that repoints the master key's alias on the member's default bus,
// and reads the alert the central key-danger rule renders. (moto 5.2.1 does not match a pattern field
// inside an array of objects, such as resources.ARN, so the rules that find the key by its ARN, among them
// key use, cannot be exercised on moto; the alias rule finds the key by its alias name.) moto forwards the event to the central bus in the other account (and
// rewrites the envelope's account and region to the receiving bus's, which real EventBridge does not
// claim to keep either); the alert must name the member's account, region and key from the record inside.
// moto ignores AWS::CloudFormation::StackSet resources (it warns and creates nothing), so the StackSets
// themselves are not exercised here: the member stack stands in for one stack instance. moto does not
// enforce bus policies either (TestCentralBusPolicyRefusesAccountsOutsideTheOrganization evaluates it).
func TestFleetAlertTravelsFromMemberToCentralQueueOnMoto(t *testing.T) {
	t.Parallel() // moto is a process of its own; jsii only through synthFleet
	if testing.Short() {
		t.Skip("moto fleet test skipped with -short")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server not on PATH and CI=true")
		}
		t.Skip("moto_server not on PATH; CI=true makes this a failure")
	}
	s := synthFleet(t, "fleet")
	srv, err := motoserver.Start(motoserver.Options{ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	defer func() {
		if t.Failed() {
			log := srv.Log()
			t.Logf("moto_server log (last 3000 bytes):\n%s", log[max(0, len(log)-30000):])
		}
	}()
	ctx := context.Background()
	base := testmoto.Config(t, srv.Endpoint())
	const memberAccount, memberRegion = simAccount, "us-east-1"
	central := motoAccount(t, base, "999988887777", "us-east-1")
	member := motoAccount(t, base, memberAccount, memberRegion)

	// The central stack is deployed with cdk deploy into a bootstrapped account: its template reads the
	// bootstrap version from SSM, as in every bootstrapped account.
	if _, err := ssm.NewFromConfig(central).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/cdk-bootstrap/hnb659fds/version"),
		Value: aws.String("30"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(central)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("central-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	queueArn := "arn:aws:sqs:us-east-1:999988887777:central-alerts"
	cf := createStack(t, central, "KmsGuard-Central-us-east-1", withQueueTargets(t, s.Files["KmsGuard-Central-us-east-1"], queueArn))
	res, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("KmsGuard-Central-us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	buses := 0
	for _, r := range res.StackResourceSummaries {
		switch *r.ResourceType {
		case "AWS::CloudFormation::StackSet":
			t.Errorf("moto created StackSet %s; this test's description says it ignores them", *r.LogicalResourceId)
		case "AWS::Events::EventBus":
			buses++
		}
	}
	if buses != 4 {
		t.Fatalf("central stack created %d buses, want 4", buses)
	}
	createStack(t, member, "StackSet-KmsGuard-Regional-0a1b2c3d", keyIDAsRef(t, s.Files["KmsGuard-Regional"]))

	aliases, err := kms.NewFromConfig(member).ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := ""
	for _, a := range aliases.Aliases {
		if *a.AliasName == "alias/mariadb-encryption" {
			keyID = *a.TargetKeyId
		}
	}
	if keyID == "" {
		t.Fatalf("the member stack made no alias/mariadb-encryption: %+v", aliases.Aliases)
	}
	// The key's ARN as KMS forms it (moto 5.2.1's DescribeKey fails on a key CloudFormation created).
	keyArn := "arn:aws:kms:" + memberRegion + ":" + memberAccount + ":key/" + keyID
	record := map[string]any{
		"eventVersion": "1.08", "eventSource": "kms.amazonaws.com", "eventName": "UpdateAlias", "awsRegion": memberRegion,
		"recipientAccountId": memberAccount, "eventID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "readOnly": false,
		"requestParameters": map[string]any{"aliasName": "alias/mariadb-encryption", "targetKeyId": keyID},
		"sourceIPAddress":   "203.0.113.5", "userAgent": "aws-sdk-cpp",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::" + memberAccount + ":user/MDBEnc"},
		"resources":    []any{map[string]any{"ARN": keyArn, "accountId": memberAccount, "type": "AWS::KMS::Key"}},
	}
	detail, _ := json.Marshal(record)
	put, err := eventbridge.NewFromConfig(member).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("aws.kms"), DetailType: aws.String("AWS API Call via CloudTrail"), Detail: aws.String(string(detail)),
	}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("put the member event: %v %+v", err, put)
	}

	var bodies []string
	for i := 0; i < 5 && len(bodies) == 0; i++ {
		msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs.Messages {
			bodies = append(bodies, *m.Body)
		}
	}
	var alert string
	for _, b := range bodies {
		if strings.Contains(b, "kmsguard key-danger: UpdateAlias") {
			alert = b
		}
	}
	if alert == "" {
		t.Fatalf("no key-danger alert reached the central queue; received %q", bodies)
	}
	t.Logf("the alert rendered in the security account:\n%s", alert)
	for what, want := range map[string]string{
		"the member's account and region (from the record)": "in " + memberRegion + ", account " + memberAccount,
		"the member's key":               "alias/mariadb-encryption (" + keyArn + ")",
		"the caller":                     "arn:aws:iam::" + memberAccount + ":user/MDBEnc",
		"the envelope, kept apart":       "Forwarded by: account 999988887777",
		"the lookup in the right region": "region=" + memberRegion + "#/events/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
	} {
		if !strings.Contains(alert, want) {
			t.Errorf("the alert does not name %s (%q):\n%s", what, want, alert)
		}
	}
	// Control: the forwarded envelope names the security account, not the member, so an alert rendered from
	// $.account (as the standalone rules do) would have named the wrong account; the assertion above would
	// catch that.
	if strings.Contains(alert, "account "+memberAccount+" in") || !strings.Contains(alert, "Forwarded by: account 999988887777") {
		t.Errorf("control: moto no longer rewrites the envelope's account; the test no longer tells the record from the envelope:\n%s", alert)
	}

	// The member's undelivered-forwards alarm going into ALARM (moto models neither the alarm in
	// CloudFormation nor CloudWatch's own events: the event is put as CloudWatch would send it) reaches the
	// central queue rendered by the alarm rule; another alarm of the member (the control) does not.
	alarmArn := "arn:aws:cloudwatch:" + memberRegion + ":" + memberAccount + ":alarm:"
	for _, name := range []string{"Other-Alarm", "KmsGuard-UndeliveredForwards"} {
		ev := alarmStateChange(name, "ALARM", "OK")
		detail, _ := json.Marshal(ev["detail"])
		put, err := eventbridge.NewFromConfig(member).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("aws.cloudwatch"), DetailType: aws.String("CloudWatch Alarm State Change"), Detail: aws.String(string(detail)),
			Resources: []string{alarmArn + name},
		}}})
		if err != nil || put.FailedEntryCount != 0 {
			t.Fatalf("put the member alarm event: %v %+v", err, put)
		}
	}
	bodies = nil
	for i := 0; i < 5 && len(bodies) == 0; i++ {
		msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs.Messages {
			bodies = append(bodies, *m.Body)
		}
	}
	var alarmAlerts []string
	for _, b := range bodies {
		if strings.Contains(b, "member alarm") {
			alarmAlerts = append(alarmAlerts, b)
		}
		if strings.Contains(b, "Other-Alarm") {
			t.Errorf("control: another alarm of the member reached the centre:\n%s", b)
		}
	}
	// withQueueTargets points both destinations at the one queue: one copy each.
	if len(alarmAlerts) != 2 {
		t.Fatalf("want the alarm alert rendered for both destinations in the central queue, got %d of %q", len(alarmAlerts), bodies)
	}
	t.Logf("the alarm alert rendered in the security account:\n%s", alarmAlerts[0])
	// moto drops the envelope's resources (the alarm's ARN) when it forwards to another bus, and rewrites its
	// account: the name and the states are what survive there.
	for _, want := range []string{"member alarm KmsGuard-UndeliveredForwards is ALARM", "State:  ALARM (was OK)", "Threshold Crossed: 1 datapoint"} {
		if !strings.Contains(alarmAlerts[0], want) {
			t.Errorf("the alarm alert does not say %q:\n%s", want, alarmAlerts[0])
		}
	}
}
