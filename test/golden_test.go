package test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden templates in test/testdata (make golden)")

// goldenConfigs are the representative configurations whose templates are committed, so that every change
// to what gets deployed shows up as a reviewed diff (and `make diff` can run cdk diff against them).
var goldenConfigs = []string{"default", "example", "hardened", "existing-trail", "existing-trail-no-logs"}

func TestGoldenTemplates(t *testing.T) {
	for _, name := range goldenConfigs {
		s := synth(t, name)
		path := filepath.Join("testdata", name+".template.json")
		if *update {
			if err := os.WriteFile(path, s.Bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (create it with: make golden)", err)
		}
		if !bytes.Equal(s.Bytes, want) {
			t.Errorf("%s: the synthesized template differs from %s.\nReview with: make diff (or diff it against cdk.out), "+
				"then accept with: make golden", name, path)
		}
	}
}

// TestSynthIsDeterministic synthesizes the same configuration again, in a fresh app and directory, and
// compares bytes: snapshots and `cdk diff` are only meaningful if the same config always gives the same file.
func TestSynthIsDeterministic(t *testing.T) {
	for _, name := range []string{"hardened", "default"} {
		first := synth(t, name)
		again, err := synthesize(name, configs[name], t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes, again.Bytes) {
			t.Errorf("%s: two synths of the same config differ", name)
		}
	}
}
