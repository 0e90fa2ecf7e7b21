package eventpattern

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON kinds. Absent is the zero Kind: a Value that is not there at all,
// which is what exists:false matches.
const (
	Absent Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Value is a decoded JSON value. It exists so that events can be matched
// without maps or interface boxing: the replay of a million CloudTrail
// records decodes each record once into Values and never re-marshals.
// Numbers keep their literal text, because EventBridge's exact matching is
// defined on it. A Value is immutable once built.
type Value struct {
	kind  Kind
	str   string   // String contents, Number literal, Bool "true"/"false"
	items []Value  // Array elements, or Object member values
	keys  []string // Object member keys, parallel to items
}

// StringValue returns a JSON string.
func StringValue(s string) Value { return Value{kind: String, str: s} }

// NumberValue returns a JSON number from its literal text; the caller
// guarantees the text is a valid JSON number.
func NumberValue(literal string) Value { return Value{kind: Number, str: literal} }

// BoolValue returns a JSON boolean.
func BoolValue(b bool) Value {
	if b {
		return Value{kind: Bool, str: "true"}
	}
	return Value{kind: Bool, str: "false"}
}

// NullValue returns JSON null.
func NullValue() Value { return Value{kind: Null} }

// ArrayValue returns a JSON array of the given elements.
func ArrayValue(elems ...Value) Value { return Value{kind: Array, items: elems} }

// ObjectValue returns a JSON object; keys and vals are parallel and are not copied.
func ObjectValue(keys []string, vals []Value) Value {
	if len(keys) != len(vals) {
		panic("eventpattern: ObjectValue with mismatched keys and values")
	}
	return Value{kind: Object, keys: keys, items: vals}
}

// Kind reports the JSON type, Absent for the zero Value.
func (v Value) Kind() Kind { return v.kind }

// Str returns the contents of a String, the literal of a Number, or
// "true"/"false" for a Bool; "" otherwise.
func (v Value) Str() string { return v.str }

// Len returns the number of elements of an Array or members of an Object.
func (v Value) Len() int { return len(v.items) }

// Index returns element i of an Array (or the value of member i of an Object).
func (v Value) Index(i int) Value { return v.items[i] }

// Key returns the key of member i of an Object.
func (v Value) Key(i int) string { return v.keys[i] }

// Get returns the member named key of an Object. With duplicate keys the
// last one wins, as in encoding/json.
func (v Value) Get(key string) (Value, bool) {
	if m := v.Member(key); m != nil {
		return *m, true
	}
	return Value{}, false
}

// Member returns the member named key of an Object, as Get does, but by
// reference into v (nil when there is none), so that a matcher reading a
// record path by path copies no Value. The caller must not change it.
func (v *Value) Member(key string) *Value {
	if v.kind != Object {
		return nil
	}
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return &v.items[i]
		}
	}
	return nil
}

// HasLayout reports whether v is an object whose keys are the slice keys
// itself (built with ObjectValue(keys, ...)), not merely equal to it.
func (v *Value) HasLayout(keys []string) bool {
	return v.kind == Object && len(keys) > 0 && len(v.keys) == len(keys) && &v.keys[0] == &keys[0]
}

// MemberAt is Member for a caller that knows where key sits in objects laid
// out as layout (at, from LayoutIndex; Pattern.WithLayout): an object built
// with that very key slice has the member read at its index, or known absent
// (at < 0), without a search; any other object is searched by name.
func (v *Value) MemberAt(key string, layout []string, at int) *Value {
	if !v.HasLayout(layout) {
		return v.Member(key)
	}
	if at < 0 {
		return nil
	}
	return &v.items[at]
}

// LayoutIndex is the index of key in layout, the last one as Get reads
// duplicate keys, or -1 when layout has no such key.
func LayoutIndex(layout []string, key string) int {
	at := -1
	for i, k := range layout {
		if k == key {
			at = i
		}
	}
	return at
}

// Path follows keys through nested objects; it returns the zero Value when a
// step is missing or not an object.
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		var ok bool
		if v, ok = v.Get(k); !ok {
			return Value{}
		}
	}
	return v
}

// Float parses a Number; ok is false for other kinds or out-of-range numbers.
func (v Value) Float() (float64, bool) {
	if v.kind != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.str, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Interface converts the Value to the form encoding/json decodes into
// (map[string]any, []any, string, json.Number, bool, nil).
func (v Value) Interface() any {
	switch v.kind {
	case Null, Absent:
		return nil
	case Bool:
		return v.str == "true"
	case Number:
		return json.Number(v.str)
	case String:
		return v.str
	case Array:
		out := make([]any, len(v.items))
		for i, e := range v.items {
			out[i] = e.Interface()
		}
		return out
	default:
		out := make(map[string]any, len(v.items))
		for i, e := range v.items {
			out[v.keys[i]] = e.Interface()
		}
		return out
	}
}

// MarshalJSON encodes the Value (object keys in their original order).
func (v Value) MarshalJSON() ([]byte, error) { return v.appendJSON(nil), nil }

func (v Value) appendJSON(b []byte) []byte {
	switch v.kind {
	case Null, Absent:
		return append(b, "null"...)
	case Bool, Number:
		return append(b, v.str...)
	case String:
		return appendQuoted(b, v.str)
	case Array:
		b = append(b, '[')
		for i, e := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	default:
		b = append(b, '{')
		for i, e := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, v.keys[i])
			b = append(b, ':')
			b = e.appendJSON(b)
		}
		return append(b, '}')
	}
}

// ValueOf converts a value decoded by encoding/json (or built by hand from
// the same types) to a Value. Map keys are sorted so the result is
// deterministic.
func ValueOf(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return NullValue(), nil
	case Value:
		return t, nil
	case bool:
		return BoolValue(t), nil
	case string:
		return StringValue(t), nil
	case json.Number:
		return NumberValue(t.String()), nil
	case float64:
		return NumberValue(strconv.FormatFloat(t, 'g', -1, 64)), nil
	case float32:
		return NumberValue(strconv.FormatFloat(float64(t), 'g', -1, 32)), nil
	case int:
		return NumberValue(strconv.Itoa(t)), nil
	case int64:
		return NumberValue(strconv.FormatInt(t, 10)), nil
	case []any:
		out := make([]Value, len(t))
		for i, e := range t {
			v, err := ValueOf(e)
			if err != nil {
				return Value{}, err
			}
			out[i] = v
		}
		return ArrayValue(out...), nil
	case []string:
		out := make([]Value, len(t))
		for i, e := range t {
			out[i] = StringValue(e)
		}
		return ArrayValue(out...), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]Value, len(keys))
		for i, k := range keys {
			v, err := ValueOf(t[k])
			if err != nil {
				return Value{}, err
			}
			vals[i] = v
		}
		return ObjectValue(keys, vals), nil
	default:
		return Value{}, fmt.Errorf("eventpattern: unsupported type %T", x)
	}
}

// appendQuoted writes s as a JSON string; invalid UTF-8 becomes U+FFFD as
// in encoding/json.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s { // ranging replaces invalid bytes with U+FFFD
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
