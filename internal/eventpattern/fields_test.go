package eventpattern

import (
	"encoding/json"
	"slices"
	"testing"
)

// fieldPatterns reach every construct Fields and Requires follow: nested
// fields, $or at the top and below, exists both ways, exact strings beside
// operators, arrays of objects, numbers and null.
var fieldPatterns = []string{
	`{"detail-type":["AWS API Call via CloudTrail"],"detail":{
		"errorCode":[{"wildcard":"*AccessDenied*"},{"suffix":"UnauthorizedOperation"}],
		"$or":[{"eventSource":["s3.amazonaws.com"],"requestParameters":{"bucketName":["a","b"]}},
		       {"eventSource":["sns.amazonaws.com"],"requestParameters":{"topicArn":[{"prefix":"arn:aws:sns:"}]}}],
		"readOnly":[{"exists":false}],"eventName":[{"anything-but":["Decrypt"]}]}}`,
	`{"detail":{"errorCode":[{"exists":false}],"eventName":["DisableKey","ScheduleKeyDeletion"],
		"resources":{"ARN":["arn:aws:kms:eu-west-1:111122223333:key/k"]}}}`,
	`{"$or":[{"source":["aws.kms"],"detail":{"eventName":["A"]}},{"source":["aws.sts"],"detail":{"eventName":["B","C"]}}]}`,
	`{"detail":{"n":[{"numeric":[">",1]}],"z":[null],"x":[{"exists":true}],"y":["s",{"exists":false}]}}`,
}

// fieldEvents returns, for a pattern, its examples (which match) and each
// example with every leaf replaced in turn by another kind of value, which
// mostly do not.
func fieldEvents(t *testing.T, src string) []Value {
	t.Helper()
	var pattern map[string]any
	if err := json.Unmarshal([]byte(src), &pattern); err != nil {
		t.Fatal(err)
	}
	examples, err := Examples(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var out []Value
	for _, e := range examples {
		v, err := ValueOf(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
		for _, other := range []Value{NullValue(), StringValue("other"), NumberValue("7"), ObjectValue(nil, nil), ArrayValue(v), {}} {
			out = append(out, replaceLeaves(v, other)...)
		}
	}
	return out
}

// replaceLeaves returns copies of v, each with one scalar replaced by with
// (an Absent with removes the member).
func replaceLeaves(v Value, with Value) []Value {
	switch v.kind {
	case Object:
		var out []Value
		for i := range v.items {
			for _, r := range replaceLeaves(v.items[i], with) {
				keys, items := slices.Clone(v.keys), slices.Clone(v.items)
				items[i] = r
				if r.kind == Absent {
					keys, items = slices.Delete(keys, i, i+1), slices.Delete(items, i, i+1)
				}
				out = append(out, ObjectValue(keys, items))
			}
		}
		return out
	case Array:
		return nil
	default:
		return []Value{with}
	}
}

// prune keeps of v only the members on the paths of fs, as the promise of
// Fields describes it.
func prune(v Value, fs []FieldPath) Value {
	type node struct {
		leaf bool
		kids map[string]*node
	}
	root := &node{kids: map[string]*node{}}
	for _, f := range fs {
		n := root
		for _, k := range f.Keys {
			if n.kids[k] == nil {
				n.kids[k] = &node{kids: map[string]*node{}}
			}
			n = n.kids[k]
		}
		n.leaf = n.leaf || f.Leaf
	}
	var walk func(v Value, n *node) Value
	walk = func(v Value, n *node) Value {
		switch v.kind {
		case Object:
			var keys []string
			var items []Value
			for i, k := range v.keys {
				if c := n.kids[k]; c != nil {
					keys, items = append(keys, k), append(items, walk(v.items[i], c))
				}
			}
			return ObjectValue(keys, items)
		case Array:
			items := make([]Value, len(v.items))
			for i, e := range v.items {
				items[i] = walk(e, n)
			}
			return ArrayValue(items...)
		default:
			return v
		}
	}
	return walk(v, root)
}

// TestMatchingReadsOnlyTheFieldsListed: an event pruned to the pattern's
// Fields matches exactly as the whole event, on events that match and on
// events that do not.
func TestMatchingReadsOnlyTheFieldsListed(t *testing.T) {
	for _, src := range fieldPatterns {
		p, err := Compile([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		fs := p.Fields()
		matched, missed, blind := 0, 0, 0
		for _, ev := range fieldEvents(t, src) {
			want := p.Match(ev)
			if want {
				matched++
			} else {
				missed++
			}
			if got := p.Match(prune(ev, fs)); got != want {
				t.Errorf("%s\nevent %s: pruned to the fields it matches %v, whole %v", src, mustJSON(ev), got, want)
			}
			// Control: without one of its leaf paths, the pruned event
			// must sometimes match differently.
			for _, f := range fs {
				without := slices.DeleteFunc(slices.Clone(fs), func(g FieldPath) bool { return slices.Equal(g.Keys, f.Keys) })
				if f.Leaf && p.Match(prune(ev, without)) != want {
					blind++
				}
			}
		}
		if matched == 0 || missed == 0 || blind == 0 {
			t.Errorf("%s: %d matching and %d other events, %d told apart without a field: the events do not exercise the pattern", src, matched, missed, blind)
		}
	}
}

// valueAt follows keys as Requires defines the value at a path; ok is false
// when an array is on the way or at the end.
func valueAt(v Value, keys []string) (Value, bool) {
	for _, k := range keys {
		switch v.kind {
		case Object:
			v, _ = v.Get(k)
		case Array:
			return Value{}, false
		default:
			return Value{}, true
		}
	}
	return v, v.kind != Array
}

// meets reports whether v satisfies r.
func meets(v Value, r Requirement) bool {
	leaf := v.kind != Absent && v.kind != Object
	switch r.Kind {
	case OneOf:
		return v.kind == String && slices.Contains(r.Strings, v.str)
	case Present:
		return leaf
	case Missing:
		return !leaf
	}
	return true
}

// TestRequiresHoldsForEveryMatchingEvent: whatever Requires says of a path,
// every matching event whose path has no array meets it, and each pattern
// sets requirements of every kind it can.
func TestRequiresHoldsForEveryMatchingEvent(t *testing.T) {
	kinds := map[RequirementKind]int{}
	for _, src := range fieldPatterns {
		p, err := Compile([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		events := fieldEvents(t, src)
		for _, f := range p.Fields() {
			req := p.Requires(f.Keys...)
			kinds[req.Kind]++
			// Control: the opposite requirement must fail some matching event.
			opposite := map[RequirementKind]Requirement{OneOf: {Kind: Missing}, Present: {Kind: Missing}, Missing: {Kind: Present}}[req.Kind]
			caught := false
			for _, ev := range events {
				v, ok := valueAt(ev, f.Keys)
				if !ok || !p.Match(ev) {
					continue
				}
				if !meets(v, req) {
					t.Errorf("%s\npath %v requires %+v, but the matching event %s has %s there", src, f.Keys, req, mustJSON(ev), mustJSON(v))
				}
				if !meets(v, opposite) {
					caught = true
				}
			}
			if req.Kind != NoRequirement && !caught {
				t.Errorf("%s: path %v: the opposite of %+v was never contradicted", src, f.Keys, req)
			}
		}
	}
	for _, k := range []RequirementKind{OneOf, Present, Missing, NoRequirement} {
		if kinds[k] == 0 {
			t.Errorf("no path of the test patterns has requirement kind %d", k)
		}
	}
	// The union of an $or: either source, and eventName from either branch.
	p, _ := Compile([]byte(fieldPatterns[2]))
	if r := p.Requires("detail", "eventName"); r.Kind != OneOf || !slices.Equal(r.Strings, []string{"A", "B", "C"}) {
		t.Errorf("$or union of eventName = %+v, want one of A, B, C", r)
	}
}

func mustJSON(v Value) string {
	b, _ := v.MarshalJSON()
	return string(b)
}
