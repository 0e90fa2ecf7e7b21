package projectconfig

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/kmsguard/kmsguard/internal/testmoto"
)

func TestMain(m *testing.M) {
	testmoto.Main(m)
}

const fleetContext = `{"context":{"deployment":"org","organizationId":"o-a1b2c3d4e5","securityAccount":"123456789012",` +
	`"targetOus":["ou-ab12-cdefgh34"],"regions":["us-east-1","eu-west-1"],"stackName":"Fleet",` +
	`"alertEmails":["dba@example.org"],"allowedCidrs":["203.0.113.0/24"]}}`

// TestTemplatesNameWhatTheSynthWrites: make synth removes, and then summarizes, exactly the templates
// kmsguard-make templates names: the stack for the standalone shape, the central stacks in region order and
// both StackSet templates for a fleet; deployment says which shape make is driving.
func TestTemplatesNameWhatTheSynthWrites(t *testing.T) {
	for _, tc := range []struct{ json, templates, deployment string }{
		{`{"context":{"stackName":"OpsCheck"}}`, "OpsCheck\n", "standalone\n"},
		{fleetContext, "Fleet-Central-us-east-1\nFleet-Central-eu-west-1\nFleet-Identity\nFleet-Regional\n", "org\n"},
	} {
		dir := writeProject(t, tc.json)
		for cmd, want := range map[string]string{"templates": tc.templates, "deployment": tc.deployment} {
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{"--dir", dir, cmd}, &out, &errb); code != 0 || out.String() != want {
				t.Errorf("%s with %s: exit %d, %q (stderr %q); want %q", cmd, tc.json, code, out.String(), errb.String(), want)
			}
		}
	}
	var out, errb bytes.Buffer
	bad := writeProject(t, `{"context":{"deployment":"org","regions":["eu-west-1"]}}`)
	if code := Main(context.Background(), []string{"--dir", bad, "templates"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "organizationId") {
		t.Errorf("an invalid fleet: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestDeployedStackSetsWritesWhatTheFleetRunsToday: make diff reviews each StackSet template against the
// one deployed. Against moto's CloudFormation: the deployed regional StackSet's template is written under
// the name the synth uses, a StackSet not deployed yet is reported and skipped (not an error), and a
// standalone configuration is refused.
func TestDeployedStackSetsWritesWhatTheFleetRunsToday(t *testing.T) {
	endpoint := testmoto.Endpoint(t)
	cf := cloudformation.NewFromConfig(testmoto.Config(t, endpoint))
	body := `{"Description":"kmsguard fleet member (deployed)","Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`
	if _, err := cf.CreateStackSet(context.Background(), &cloudformation.CreateStackSetInput{
		StackSetName: aws.String("Fleet-Regional"), TemplateBody: aws.String(body),
	}); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Resolve(writeProject(t, fleetContext))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var log bytes.Buffer
	if err := DeployedStackSets(context.Background(), cf, cfg, dir, &log); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "Fleet-Regional.template.json"))
	if err != nil || string(got) != body {
		t.Errorf("deployed regional template: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Fleet-Identity.template.json")); !os.IsNotExist(err) {
		t.Errorf("a StackSet that is not deployed was written: %v", err)
	}
	if !strings.Contains(log.String(), "Fleet-Identity is not deployed in us-east-1 yet") {
		t.Errorf("the missing StackSet is not reported: %q", log.String())
	}
	standalone, _, _ := Resolve(writeProject(t, `{"context":{"alertEmails":["a@example.org"],"allowedCidrs":["203.0.113.0/24"]}}`))
	if err := DeployedStackSets(context.Background(), cf, standalone, t.TempDir(), &log); err == nil || !strings.Contains(err.Error(), "deployment=org") {
		t.Errorf("standalone: %v", err)
	}
}
