package strindex

import (
	"strings"
	"testing"
)

// An index answers exactly as a map of the same strings: for every string
// held (short, exactly eight bytes, long, over maxLen, empty, sharing a
// prefix or a length with another) and for strings that differ from one
// of them in a single byte, anywhere.
func TestIndexAnswersAsAMapDoes(t *testing.T) {
	keys := []string{"", "a", "Decrypt", "DisableK", "DisableKey", "DisableKeyRotation", "DisableKeyRotatioN",
		"kms.amazonaws.com", "iam.amazonaws.com", strings.Repeat("x", maxLen), strings.Repeat("x", maxLen+1),
		"ééé", "\x00\x00"}
	var x Index[int]
	want := map[string]int{}
	for i, k := range keys {
		x.Set(k, i)
		want[k] = i
	}
	x.Set("Decrypt", 99) // replaced, not added
	want["Decrypt"] = 99
	if x.Len() != len(want) {
		t.Errorf("Len %d, want %d", x.Len(), len(want))
	}
	probes := append([]string{"b", "DisableKez", "Disable", "\x00", "\x00\x00\x00"}, keys...)
	for _, k := range keys {
		for i := 0; i < len(k); i++ {
			b := []byte(k)
			b[i] ^= 1
			probes = append(probes, string(b))
		}
	}
	checked := 0
	for _, p := range probes {
		v, ok := x.Get(p)
		wv, wok := want[p]
		if v != wv || ok != wok {
			t.Errorf("Get(%q) = %d, %v; want %d, %v", p, v, ok, wv, wok)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d probes: the comparison proves little", checked)
	}
}

// Control: an index that compared only the first eight bytes of a long
// string (the fault the whole-string comparison prevents) is caught by the
// probes above.
func TestIndexProbesCatchAPrefixOnlyComparison(t *testing.T) {
	var x Index[int]
	x.Set("DisableKeyRotation", 1)
	prefixOnly := func(s string) bool {
		es := x.byLen[len(s)]
		for i := range es {
			if es[i].prefix == prefix(s) {
				return true
			}
		}
		return false
	}
	if _, ok := x.Get("DisableKeyRotatioN"); ok {
		t.Error("a string differing after its eighth byte was found")
	}
	if !prefixOnly("DisableKeyRotatioN") {
		t.Error("control: a prefix-only comparison would not have been fooled, so the probe is not telling")
	}
}
