package eventpattern

import (
	"fmt"
	"testing"
)

// layoutEvents builds events whose objects use fixed key slices, as a
// projecting decoder builds them: the top level with top, "detail" with
// detail, and "detail.items" elements with item. Each event sets some
// members and leaves the others absent, the way a decoder fills a layout.
func layoutEvents(top, detail, item []string) []Value {
	obj := func(keys []string, set map[string]Value) Value {
		vals := make([]Value, len(keys))
		for i, k := range keys {
			vals[i] = set[k]
		}
		return ObjectValue(keys, vals)
	}
	var out []Value
	names := []string{"DisableKey", "EnableKey", "Decrypt"}
	for i := 0; i < 24; i++ {
		d := map[string]Value{"eventName": StringValue(names[i%3])}
		if i%2 == 0 {
			d["errorCode"] = StringValue("AccessDenied")
		}
		if i%4 < 2 {
			d["items"] = ArrayValue(obj(item, map[string]Value{"arn": StringValue(fmt.Sprintf("arn:%d", i%3))}))
		}
		if i%5 == 0 {
			d["userName"] = NullValue()
		}
		ev := map[string]Value{"source": StringValue("aws.kms"), "detail": obj(detail, d)}
		if i%6 == 0 {
			ev["source"] = StringValue("aws.iam")
		}
		out = append(out, obj(top, ev))
	}
	// Objects not built with the layout (a full decoder's, duplicate key
	// last) must be matched by name.
	out = append(out, ObjectValue([]string{"source", "detail"}, []Value{StringValue("aws.kms"),
		ObjectValue([]string{"eventName", "eventName"}, []Value{StringValue("Decrypt"), StringValue("DisableKey")})}))
	return out
}

var layoutPatterns = []string{
	`{"source": ["aws.kms"], "detail": {"eventName": ["DisableKey", "EnableKey", "a", "b", "c", "d"]}}`,
	`{"detail": {"errorCode": [{"exists": false}], "eventName": ["DisableKey"]}}`,
	`{"detail": {"items": {"arn": ["arn:1"]}}}`,
	`{"detail": {"items": {"arn": [{"exists": false}]}}}`,
	`{"detail": {"userName": [null], "notInLayout": [{"exists": false}]}}`,
	`{"detail": {"notInLayout": [{"exists": true}]}}`,
	`{"$or": [{"source": ["aws.iam"]}, {"detail": {"errorCode": ["AccessDenied"]}}]}`,
	`{"detail": {"$or": [{"eventName": [{"prefix": "En"}]}, {"items": {"arn": ["arn:2"]}}]}}`,
}

func TestPatternWithLayoutMatchesAsThePatternDoes(t *testing.T) {
	top, detail, item := []string{"source", "detail"}, []string{"eventName", "errorCode", "items", "userName"}, []string{"arn"}
	layout := func(path []string) []string {
		switch fmt.Sprint(path) {
		case "[]":
			return top
		case "[detail]":
			return detail
		case "[detail items]":
			return item
		}
		return nil
	}
	events := layoutEvents(top, detail, item)
	for _, src := range layoutPatterns {
		p, err := Compile([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		bound := p.WithLayout(layout)
		matched := 0
		for i := range events {
			want := p.Match(events[i])
			if want {
				matched++
			}
			if got := bound.MatchRef(&events[i]); got != want {
				t.Errorf("%s, event %d: bound %v, unbound %v", src, i, got, want)
			}
		}
		if matched == 0 && src != layoutPatterns[5] {
			t.Errorf("%s matches no event: the comparison proves nothing", src)
		}
	}

	// Control: bound while "eventName" was missing from the layout, the
	// pattern finds it by index as absent and stops matching.
	detail[0] = "renamed"
	p, _ := Compile([]byte(layoutPatterns[1]))
	wrong := p.WithLayout(layout)
	detail[0] = "eventName"
	differs := false
	for i := range events {
		differs = differs || wrong.MatchRef(&events[i]) != p.Match(events[i])
	}
	if !differs {
		t.Error("a pattern bound to a wrong layout matched as the pattern does: the comparison is blind")
	}
}

// A long list of exact strings is one lookup (leafSet.index); the list's
// other matchers, numbers and operators, still apply, and a number is not
// the string of its digits.
func TestLongExactListMatchesEveryValueItHolds(t *testing.T) {
	p, err := Compile([]byte(`{"a": ["s1", "s2", "s3", "s4", "s5", "s6", 5, null, {"prefix": "pre"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := func(v Value) Value { return ObjectValue([]string{"a"}, []Value{v}) }
	cases := []struct {
		v    Value
		want bool
	}{
		{StringValue("s1"), true}, {StringValue("s6"), true}, {StringValue("s7"), false},
		{NumberValue("5"), true}, {NumberValue("5.0"), true}, {StringValue("5"), false},
		{NullValue(), true}, {StringValue("prefixed"), true}, {StringValue("S1"), false},
		{ArrayValue(StringValue("x"), StringValue("s3")), true}, {Value{}, false},
	}
	for _, c := range cases {
		if got := p.Match(ev(c.v)); got != c.want {
			t.Errorf("%v: matched %v, want %v", c.v, got, c.want)
		}
	}
}
