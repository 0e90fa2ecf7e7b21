package review

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// TestReplacementTableMatchesCloudFormationSchemas: the properties the review treats as replacing are, for
// every type in the table, exactly the createOnlyProperties of the type's CloudFormation registry schema
// (what the Template Reference shows as "Update requires: Replacement"), as shipped with cfn-lint, which the
// test suite runs anyway. Every resource type of the committed goldens must have a row, so a new type
// cannot slip past the review.
func TestReplacementTableMatchesCloudFormationSchemas(t *testing.T) {
	// cfn-lint is a Python package; its schemas are read with the python3 that runs it.
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import cfnlint.schema").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with cfn-lint is needed and CI=true: %v", err)
		}
		t.Skipf("python3 with cfn-lint not found (%v); CI=true makes this a failure", err)
	}
	var types []string
	for typ := range replacing {
		types = append(types, typ)
	}
	slices.Sort(types)
	script := `import json, sys
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m
out = {}
for t in json.loads(sys.argv[1]):
    s = m.get_resource_schema("us-east-1", t).schema
    out[t] = sorted(p.split("/")[2] for p in s.get("createOnlyProperties", []))
print(json.dumps(out))`
	arg, _ := json.Marshal(types)
	raw, err := exec.Command(python, "-c", script, string(arg)).Output()
	if err != nil {
		t.Fatalf("reading cfn-lint's schemas with %s: %v", python, err)
	}
	var schema map[string][]string
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(schema["AWS::KMS::Alias"], "AliasName") {
		t.Fatalf("control: the schemas say AliasName does not replace an alias: %v (is the extraction broken?)", schema)
	}
	for _, typ := range types {
		want := slices.Sorted(slices.Values(schema[typ]))
		got := slices.Sorted(slices.Values(replacing[typ]))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the table says %v, the schema's createOnlyProperties are %v", typ, got, want)
		}
	}
	for _, golden := range []string{"default", "hardened", "example", "existing-trail"} {
		tpl, err := cfntemplate.Load("../../test/testdata/" + golden + ".template.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range tpl.IDs() {
			typ := tpl.Resources[id].Type
			if _, ok := replacing[typ]; !ok && typ != "AWS::CDK::Metadata" {
				t.Errorf("%s: %s is a %s, which has no row in the replacement table", golden, id, typ)
			}
		}
	}
}
