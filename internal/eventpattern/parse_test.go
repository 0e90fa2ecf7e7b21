package eventpattern

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"a":1,"b":[true,false,null,"x\u00e9\ud83d\ude00\n"],"c":{"d":-1.5e3},"e":[]}`,
		` [ 1 , "two" , {} ] `,
		`"\\\"\/\b\f\r\t"`,
		`0`, `-0.0e+1`, `"\ud800"`,
	}
	for _, in := range inputs {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		var want any
		d := json.NewDecoder(stringReader(in))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if got := v.Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%s) = %#v, want %#v", in, got, want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `01`, `1.`, `1e`, `-`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12"`, `tru`, `{} x`, `{"a":1,}`, `nul`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestParseDepthLimit(t *testing.T) {
	deep := make([]byte, 0, 2*maxDepth+10)
	for i := 0; i < maxDepth+5; i++ {
		deep = append(deep, '[')
	}
	if _, err := Parse(deep); err == nil {
		t.Fatal("deep nesting accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}]}`, `"\ud83d\ude00"`, `[`, `{"Records":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		if json.Valid(data) {
			b, _ := v.MarshalJSON()
			if !json.Valid(b) {
				t.Fatalf("re-encoding %q gave invalid JSON %q", data, b)
			}
		} else if validUTF8(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
	})
}

func FuzzCompile(f *testing.F) {
	for _, c := range docCases {
		f.Add([]byte(c.pattern), []byte(c.event))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		_, _ = p.MatchJSON(event)
	})
}
