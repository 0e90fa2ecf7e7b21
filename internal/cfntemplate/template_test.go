package cfntemplate

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

var account = Resolver{
	Pseudo: Pseudo{Partition: "aws", Region: "eu-west-1", AccountID: "111122223333", StackName: "KmsGuard"},
	Values: map[string]string{"Key": "k-id", "Key.Arn": "arn:aws:kms:eu-west-1:111122223333:key/k-id", "User.Arn": "arn:aws:iam::111122223333:user/u"},
}

// TestResolveEachIntrinsic: every intrinsic a synthesized template uses resolves to CloudFormation's value.
func TestResolveEachIntrinsic(t *testing.T) {
	tpl := &Template{
		Parameters: map[string]Parameter{"Env": {Type: "String", Default: "prod"}, "Cidrs": {Type: "CommaDelimitedList", Default: "a,b,c"}},
		Mappings:   map[string]any{"M": map[string]any{"eu-west-1": map[string]any{"Ami": "ami-1"}}},
	}
	r := account
	r.Template = tpl
	cases := []struct{ name, in, want string }{
		{"Ref of a resource", `{"Ref":"Key"}`, `"k-id"`},
		{"Fn::GetAtt list form", `{"Fn::GetAtt":["Key","Arn"]}`, `"arn:aws:kms:eu-west-1:111122223333:key/k-id"`},
		{"Fn::GetAtt string form", `{"Fn::GetAtt":"User.Arn"}`, `"arn:aws:iam::111122223333:user/u"`},
		{"pseudo parameters", `{"Fn::Join":[":",[{"Ref":"AWS::Partition"},{"Ref":"AWS::Region"},{"Ref":"AWS::AccountId"},{"Ref":"AWS::StackName"}]]}`, `"aws:eu-west-1:111122223333:KmsGuard"`},
		{"URLSuffix follows the partition", `{"Ref":"AWS::URLSuffix"}`, `"amazonaws.com"`},
		{"parameter default", `{"Ref":"Env"}`, `"prod"`},
		{"Fn::Join nested", `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::",{"Fn::Join":["-",["a","b"]]}]]}`, `"arn:aws:s3:::a-b"`},
		{"Fn::Sub with pseudo and GetAtt", `{"Fn::Sub":"${AWS::Region}/${Key.Arn}/${!Literal}"}`, `"eu-west-1/arn:aws:kms:eu-west-1:111122223333:key/k-id/${Literal}"`},
		{"Fn::Sub with variables", `{"Fn::Sub":["${A}-${Key}",{"A":{"Ref":"Env"}}]}`, `"prod-k-id"`},
		{"Fn::Select of a list", `{"Fn::Select":[1,["x","y"]]}`, `"y"`},
		{"Fn::Select of Fn::Split", `{"Fn::Select":[5,{"Fn::Split":[":",{"Fn::GetAtt":["Key","Arn"]}]}]}`, `"key/k-id"`},
		{"Fn::Select of a list parameter", `{"Fn::Select":[2,{"Ref":"Cidrs"}]}`, `"c"`},
		{"Fn::Split alone", `{"Fn::Split":["/","a/b"]}`, `["a","b"]`},
		{"Fn::FindInMap", `{"Fn::FindInMap":["M",{"Ref":"AWS::Region"},"Ami"]}`, `"ami-1"`},
		{"plain data is copied", `{"a":[1,true,"s",{"b":null}]}`, `{"a":[1,true,"s",{"b":null}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, unresolved := r.Resolve(decode(t, c.in))
			if len(unresolved) > 0 {
				t.Fatalf("unresolved %v", unresolved)
			}
			if want := decode(t, c.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Resolve(%s) = %#v, want %#v", c.in, got, want)
			}
		})
	}
}

// TestResolveListsWhatItCannotAndNeverModifiesItsInput: an unknown reference becomes a stand-in that no
// real value equals, and is named once, so a caller can say what to supply.
func TestResolveListsWhatItCannotAndNeverModifiesItsInput(t *testing.T) {
	in := decode(t, `{"a":{"Ref":"Missing"},"b":[{"Fn::GetAtt":["Other","Arn"]},{"Ref":"Missing"}],"c":{"Fn::If":["C","x","y"]},"d":{"Ref":"Key"}}`)
	before, _ := json.Marshal(in)
	out, unresolved := account.Resolve(in)
	var whats []string
	for _, u := range unresolved {
		whats = append(whats, u.What)
	}
	if want := []string{"Missing", "Other.Arn", `{"Fn::If":["C","x","y"]}`}; !reflect.DeepEqual(whats, want) {
		t.Errorf("unresolved = %q, want %q", whats, want)
	}
	m := out.(map[string]any)
	if m["a"] != UnresolvedPrefix+"Missing" || m["d"] != "k-id" {
		t.Errorf("Resolve = %v", out)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Errorf("Resolve modified its input:\n%s\n%s", before, after)
	}
	// Control: with the value supplied, nothing is left over.
	r := account
	r.Values = map[string]string{"Missing": "m", "Other.Arn": "o", "Key": "k"}
	if _, u := r.Resolve(decode(t, `{"a":{"Ref":"Missing"},"b":{"Fn::GetAtt":["Other","Arn"]}}`)); len(u) != 0 {
		t.Errorf("unresolved with values given: %v", u)
	}
}

// TestFallbackDecidesUnknownReferences: a Fallback fills what Values and pseudo parameters do not know.
func TestFallbackDecidesUnknownReferences(t *testing.T) {
	r := Resolver{Fallback: func(ref Ref) (string, bool) { return "<" + ref.String() + ">", ref.ID != "Nope" }}
	got, u := r.String(decode(t, `{"Fn::Join":["",[{"Ref":"AWS::Region"},"|",{"Fn::GetAtt":["T","Arn"]},"|",{"Ref":"Nope"}]]}`))
	if got != "<AWS::Region>|<T.Arn>|"+UnresolvedPrefix+"Nope" || len(u) != 1 || u[0].What != "Nope" {
		t.Errorf("got %q, unresolved %v", got, u)
	}
}

// TestRefsReportsEventFieldPaths: Refs names the event field a reference is compared with, skipping $or,
// pattern operators and intrinsic function names, and sees through Fn::Sub.
func TestRefsReportsEventFieldPaths(t *testing.T) {
	pattern := decode(t, `{"detail":{"$or":[{"resources":{"ARN":[{"Fn::GetAtt":["Key","Arn"]}]}},
		{"requestParameters":{"keyId":[{"prefix":{"Fn::Join":["",[{"Ref":"Key"},"x"]]}}]}}],
		"userIdentity":{"arn":[{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${User}"}]}}}`)
	got := map[string][]string{}
	Refs(pattern, func(path []string, r Ref) {
		got[r.String()] = append(got[r.String()], strings.Join(path, "."))
	})
	want := map[string][]string{
		"Key.Arn":        {"detail.resources.ARN"},
		"Key":            {"detail.requestParameters.keyId"},
		"AWS::Partition": {"detail.userIdentity.arn"},
		"AWS::AccountId": {"detail.userIdentity.arn"},
		"User":           {"detail.userIdentity.arn"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Refs = %v, want %v", got, want)
	}
}

// TestRewriteReplacesChosenIntrinsicsOnly: the emulator's template rewrite changes what it is asked to and
// copies the rest.
func TestRewriteReplacesChosenIntrinsicsOnly(t *testing.T) {
	in := decode(t, `{"a":{"Fn::GetAtt":["K","KeyId"]},"b":{"Ref":"K"},"c":[{"Fn::GetAtt":["K","Arn"]}]}`)
	out := Rewrite(in, func(n map[string]any) (any, bool) {
		if r, ok := RefOf(n); ok && r.Attr == "KeyId" {
			return map[string]any{"Ref": r.ID}, true
		}
		return nil, false
	})
	want := decode(t, `{"a":{"Ref":"K"},"b":{"Ref":"K"},"c":[{"Fn::GetAtt":["K","Arn"]}]}`)
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Rewrite = %v", out)
	}
	if in.(map[string]any)["a"].(map[string]any)["Fn::GetAtt"] == nil {
		t.Errorf("Rewrite modified its input")
	}
}

// TestLongestValues: the longest resolver builds each name, ARN and URL from the longest partition, region
// and account, and a generated name at the service's limit.
func TestLongestValues(t *testing.T) {
	tpl := &Template{Resources: map[string]Resource{
		"Bucket":                {Type: "AWS::S3::Bucket"},
		"Named":                 {Type: "AWS::S3::Bucket", Properties: map[string]any{"BucketName": "fixed-name"}},
		"Queue":                 {Type: "AWS::SQS::Queue"},
		"Topic":                 {Type: "AWS::SNS::Topic"},
		"Key":                   {Type: "AWS::KMS::Key"},
		"User":                  {Type: "AWS::IAM::User", Properties: map[string]any{"UserName": "MDBEnc", "Path": "/db/"}},
		"Group":                 {Type: "AWS::IAM::Group"},
		"Function":              {Type: "AWS::Lambda::Function"},
		strings.Repeat("L", 80): {Type: "AWS::S3::Bucket"},
	}}
	r := Longest(tpl, 40, nil)
	stack := strings.Repeat("S", 40)
	prefix := "arn:" + LongestPartition
	cases := map[string]string{
		"Bucket":      strings.ToLower(stack + "-Bucket-" + GeneratedSuffix),
		"Named.Arn":   prefix + ":s3:::fixed-name",
		"Queue":       "https://sqs." + LongestRegion + "." + LongestURLSuffix + "/" + LongestAccountID + "/" + stack + "-Queue-" + GeneratedSuffix,
		"Topic":       prefix + ":sns:" + LongestRegion + ":" + LongestAccountID + ":" + stack + "-Topic-" + GeneratedSuffix,
		"Key.Arn":     prefix + ":kms:" + LongestRegion + ":" + LongestAccountID + ":key/" + LongestKeyID,
		"User.Arn":    prefix + ":iam::" + LongestAccountID + ":user/db/MDBEnc",
		"Group.Arn":   prefix + ":iam::" + LongestAccountID + ":group/" + stack + "-Group-" + GeneratedSuffix,
		"AWS::Region": LongestRegion,
	}
	for ref, want := range cases {
		id, attr, _ := strings.Cut(ref, ".")
		if strings.HasPrefix(ref, "AWS::") {
			id, attr = ref, ""
		}
		got, ok := r.Value(Ref{ID: id, Attr: attr})
		if !ok || got != want {
			t.Errorf("%s = %q (%v), want %q", ref, got, ok, want)
		}
	}
	long, _ := r.Value(Ref{ID: strings.Repeat("L", 80)})
	if len(long) != 63 || !strings.HasSuffix(long, "-"+strings.ToLower(GeneratedSuffix)) {
		t.Errorf("a generated bucket name is %d characters (%q), want S3's limit of 63 with the random suffix kept", len(long), long)
	}
	if _, ok := r.Value(Ref{ID: "Function", Attr: "Arn"}); ok {
		t.Errorf("a type without a known longest value resolved: a size check would pass on a guess")
	}
}

// TestEverySynthesizedShapeResolvesCompletely: each golden template (one per shape and configuration the
// app synthesizes) loads, and the longest resolver resolves every reference in its resources and outputs.
func TestEverySynthesizedShapeResolvesCompletely(t *testing.T) {
	files, _ := filepath.Glob("../../test/testdata/*.template.json")
	if len(files) == 0 {
		t.Fatal("no golden templates found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tpl, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			// The fleet's central stacks have rules but no master key, its identity template only the users
			// (docs/fleet.md); every other shape has both.
			rules, keys := len(tpl.OfType("AWS::Events::Rule")), len(tpl.WithMetadata("kmsguard:role", "master-key"))
			switch base := filepath.Base(f); {
			case strings.HasPrefix(base, "fleet-") && strings.Contains(base, "-Central-"):
				keys = 1
			case strings.HasPrefix(base, "fleet-") && strings.HasSuffix(base, "-Identity.template.json"):
				rules, keys = len(tpl.OfType("AWS::IAM::User")), 1
			}
			if rules == 0 || keys != 1 {
				t.Fatalf("%s: not a kmsguard template (no rules, or no master key)", f)
			}
			r := Longest(tpl, 40, nil)
			for _, id := range tpl.IDs() {
				out, u := r.Resolve(tpl.Resources[id].Properties)
				if len(u) > 0 {
					t.Errorf("%s: unresolved %v", id, u)
				}
				if m, ok := out.(map[string]any); ok && tpl.Resources[id].Type == "AWS::CloudFormation::StackSet" {
					// A StackSet's TemplateBody is a string holding its own template, with that template's
					// intrinsics as text; it is checked as its own golden file (fleet-*.template.json).
					delete(m, "TemplateBody")
				}
				if b, _ := json.Marshal(out); strings.Contains(string(b), `"Fn::`) || strings.Contains(string(b), `"Ref"`) {
					t.Errorf("%s: intrinsic left after resolving: %.200s", id, b)
				}
			}
			for _, name := range tpl.OutputIDs() {
				if _, u, err := r.Output(tpl, name); err != nil || len(u) > 0 {
					t.Errorf("output %s: %v %v", name, err, u)
				}
			}
		})
	}
	if _, err := Parse([]byte(`{"AWSTemplateFormatVersion":"2010-09-09"}`)); err == nil {
		t.Errorf("a document without Resources parsed as a template")
	}
}
