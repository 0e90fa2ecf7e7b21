package eventpattern

import (
	"strings"
	"testing"
)

func TestCompileRejectsMalformedPatterns(t *testing.T) {
	cases := []struct{ pattern, wantErr string }{
		{`[]`, "must be a JSON object"},
		{`{}`, "must not be empty"},
		{`{"source": "aws.kms"}`, "source: value must be an array"},
		{`{"source": []}`, "source: empty array"},
		{`{"source": [["a"]]}`, "nested arrays"},
		{`{"detail": {"errorCode": [{"prefx": "Access"}]}}`, `detail.errorCode[0]: unknown operator "prefx"`},
		{`{"a": [{"prefix": "x", "suffix": "y"}]}`, "exactly one operator"},
		{`{"a": [{"prefix": 1}]}`, "prefix takes a string"},
		{`{"a": [{"suffix": {"equals-ignore-case": 1}}]}`, "suffix takes a string"},
		{`{"a": [{"equals-ignore-case": ["x"]}]}`, "equals-ignore-case takes a string"},
		{`{"a": [{"wildcard": "a**b"}]}`, "consecutive"},
		{`{"a": [{"wildcard": "a\\b"}]}`, "backslash"},
		{`{"a": [{"anything-but": []}]}`, "must not be empty"},
		{`{"a": [{"anything-but": ["x", 1]}]}`, "only strings or only numbers"},
		{`{"a": [{"anything-but": [true]}]}`, "only strings or only numbers"},
		{`{"a": [{"anything-but": {"prefix": ["a", "b"]}}]}`, "single string"},
		{`{"a": [{"anything-but": {"numeric": [">", 1]}}]}`, "unknown anything-but operator"},
		{`{"a": [{"anything-but": null}]}`, "anything-but takes"},
		{`{"a": [{"numeric": [">", "1"]}]}`, "must be followed by a number"},
		{`{"a": [{"numeric": ["!=", 1]}]}`, "unknown operator"},
		{`{"a": [{"numeric": [">", 1, ">", 2]}]}`, "two lower bounds"},
		{`{"a": [{"numeric": ["=", 1, "<", 2]}]}`, "cannot be combined"},
		{`{"a": [{"numeric": [">", 5, "<", 2]}]}`, "lower bound above"},
		{`{"a": [{"numeric": [">"]}]}`, "numeric takes"},
		{`{"a": [{"exists": "true"}]}`, "exists takes true or false"},
		{`{"a": [{"cidr": "10.0.0.0"}]}`, "cidr"},
		{`{"a": [{"cidr": 10}]}`, "cidr takes a string"},
		{`{"a": {}}`, "empty object"},
		{`{"a": [1,}`, "not valid JSON"},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.pattern))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("Compile(%s) error = %v, want containing %q", c.pattern, err, c.wantErr)
		}
	}
}

// TestDecisions pins behaviour the guide does not spell out; each case says
// which source the choice follows (see the package comment).
func TestDecisions(t *testing.T) {
	cases := []struct {
		name, pattern, event string
		want                 bool
	}{
		// event-ruler inserts a numeric matcher next to the literal one.
		{"number by value", `{"a":[300]}`, `{"a":3.0e2}`, true},
		{"large numbers by literal only", `{"a":[123456789012]}`, `{"a":123456789012.0}`, false},
		{"account id literal", `{"a":[123456789012]}`, `{"a":123456789012}`, true},
		{"number is not a string", `{"a":[80]}`, `{"a":"80"}`, false},
		{"bool", `{"a":[false]}`, `{"a":false}`, true},
		{"bool is not a string", `{"a":["false"]}`, `{"a":false}`, false},
		// Leaves only: an empty array has no value, null is a value.
		{"exists false on empty array", `{"a":[{"exists":false}]}`, `{"a":[]}`, true},
		{"exists true on empty array", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		{"exists true on null", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
		{"exists true on object", `{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
		{"exists false with missing parent", `{"a":{"b":[{"exists":false}]}}`, `{"c":1}`, true},
		{"exists false across array elements", `{"a":{"b":[{"exists":false}],"c":["x"]}}`, `{"a":[{"b":1},{"c":"x"}]}`, false},
		{"exists false, no element has it", `{"a":{"b":[{"exists":false}],"c":["x"]}}`, `{"a":[{"d":1},{"c":"x"}]}`, true},
		{"anything-but needs the field", `{"a":[{"anything-but":"x"}]}`, `{"b":"y"}`, false},
		{"anything-but any type", `{"a":[{"anything-but":"x"}]}`, `{"a":5}`, true},
		{"anything-but prefix on number", `{"a":[{"anything-but":{"prefix":"x"}}]}`, `{"a":5}`, true},
		{"exists or value", `{"a":[{"exists":false},"x"]}`, `{"a":"x"}`, true},
		{"array of objects by ARN", `{"detail":{"resources":{"ARN":["arn:k"]}}}`, `{"detail":{"resources":[{"ARN":"arn:other"},{"ARN":"arn:k","type":"AWS::KMS::Key"}]}}`, true},
		{"leaf pattern against object", `{"detail":["x"]}`, `{"detail":{"x":1}}`, false},
		{"nested pattern against string", `{"detail":{"a":["x"]}}`, `{"detail":"x"}`, false},
		{"$or that is an object is a field name", `{"$or":{"a":["x"]}}`, `{"$or":{"a":"x"}}`, true},
		{"$or with operators is a field name", `{"$or":[{"prefix":"a"},{"suffix":"z"}]}`, `{"$or":"abc"}`, true},
		{"prefix fold multibyte", `{"a":[{"prefix":{"equals-ignore-case":"ÄB"}}]}`, `{"a":"äbc"}`, true},
		{"suffix fold kelvin", `{"a":[{"suffix":{"equals-ignore-case":"k"}}]}`, `{"a":"5\u212a"}`, true},
		{"cidr ipv4-mapped ipv6", `{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"::ffff:10.1.2.3"}`, true},
		{"wildcard only star", `{"a":[{"wildcard":"*"}]}`, `{"a":""}`, true},
		{"wildcard suffix overlap", `{"a":[{"wildcard":"ab*ba"}]}`, `{"a":"aba"}`, false},
		{"wildcard middle", `{"a":[{"wildcard":"*Access*Denied*"}]}`, `{"a":"Client.AccessIsDenied"}`, true},
	}
	for _, c := range cases {
		p, err := Compile([]byte(c.pattern))
		if err != nil {
			t.Errorf("%s: compile: %v", c.name, err)
			continue
		}
		got, err := p.MatchJSON([]byte(c.event))
		if err != nil || got != c.want {
			t.Errorf("%s: Match = %v (%v), want %v", c.name, got, err, c.want)
		}
	}
}

func TestMatchAnyAgreesWithMatchJSON(t *testing.T) {
	p, err := Compile([]byte(`{"detail":{"resources":{"ARN":["arn:k"]},"readOnly":[true],"n":[1.5]}}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := map[string]any{"detail": map[string]any{
		"resources": []any{map[string]any{"ARN": "arn:k"}},
		"readOnly":  true,
		"n":         1.5,
	}}
	if ok, err := p.MatchAny(ev); err != nil || !ok {
		t.Fatalf("MatchAny = %v, %v", ok, err)
	}
}
