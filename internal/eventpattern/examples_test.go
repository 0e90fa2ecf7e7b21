package eventpattern

import (
	"encoding/json"
	"testing"
)

// TestExamplesCoverEveryAlternative: one example per leaf value, operator and $or branch, and each
// matches the pattern it came from.
func TestExamplesCoverEveryAlternative(t *testing.T) {
	var pattern map[string]any
	_ = json.Unmarshal([]byte(`{"detail-type":["AWS API Call via CloudTrail"],"detail":{
		"errorCode":[{"wildcard":"*AccessDenied*"},{"suffix":"UnauthorizedOperation"},{"prefix":"AuthorizationError"}],
		"$or":[{"eventSource":["s3.amazonaws.com"],"requestParameters":{"bucketName":["a","b"]}},
		       {"eventSource":["sns.amazonaws.com"],"requestParameters":{"topicArn":[{"prefix":"arn:aws:sns:"}]}}],
		"readOnly":[{"exists":false}],"eventName":[{"anything-but":["Decrypt"]}],"sourceIPAddress":[{"cidr":"203.0.113.0/24"}],
		"n":[{"numeric":[">",0,"<=",5]}],"name":[{"equals-ignore-case":"x"}]}}`), &pattern)
	examples, err := Examples(pattern)
	if err != nil {
		t.Fatal(err)
	}
	// 3 $or leaves (s3 with a, s3 with b, sns) + 2 more errorCode spellings = 5.
	if len(examples) != 5 {
		t.Fatalf("%d examples, want 5: %v", len(examples), examples)
	}
	seen := map[string]bool{}
	for _, e := range examples {
		d := e["detail"].(map[string]any)
		if _, has := d["readOnly"]; has {
			t.Errorf("exists:false field present in %v", e)
		}
		b, _ := json.Marshal(map[string]any{"code": d["errorCode"], "rp": d["requestParameters"]})
		seen[string(b)] = true
	}
	if len(seen) != 5 {
		t.Errorf("examples are not distinct: %v", seen)
	}
	// Control: the same examples run against the pattern without the "b" bucket: one must stop matching.
	reduced := map[string]any{}
	_ = json.Unmarshal([]byte(`{"detail-type":["AWS API Call via CloudTrail"],"detail":{
		"errorCode":[{"wildcard":"*AccessDenied*"},{"suffix":"UnauthorizedOperation"},{"prefix":"AuthorizationError"}],
		"$or":[{"eventSource":["s3.amazonaws.com"],"requestParameters":{"bucketName":["a"]}},
		       {"eventSource":["sns.amazonaws.com"],"requestParameters":{"topicArn":[{"prefix":"arn:aws:sns:"}]}}],
		"readOnly":[{"exists":false}],"eventName":[{"anything-but":["Decrypt"]}],"sourceIPAddress":[{"cidr":"203.0.113.0/24"}],
		"n":[{"numeric":[">",0,"<=",5]}],"name":[{"equals-ignore-case":"x"}]}}`), &reduced)
	raw, _ := json.Marshal(reduced)
	p, _ := Compile(raw)
	missed := 0
	for _, e := range examples {
		if ok, _ := p.MatchAny(e); !ok {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("dropping one bucket lost %d examples, want exactly 1", missed)
	}
}

// TestExamplesRefuseUnknownOperators: an operator the generator cannot satisfy is an error, not a
// silently skipped branch.
func TestExamplesRefuseUnknownOperators(t *testing.T) {
	if _, err := Examples(map[string]any{"a": []any{map[string]any{"no-such-op": "x"}}}); err == nil {
		t.Error("an unknown operator produced examples")
	}
}
