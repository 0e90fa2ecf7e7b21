// Package cmd holds the one test every kmsguard command shares: the command-line convention README.md
// promises (docs/operator-tools.md for the operator tools).
package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// notYetConforming are commands whose -h does not follow the convention yet; each is reported, not hidden.
var notYetConforming = map[string]string{}

// TestEveryCommandFollowsOneHelpConvention: for every binary in cmd/, -h and --help print the usage on
// stdout and exit 0, and an unknown flag exits 2 with the problem and the usage on stderr.
func TestEveryCommandFollowsOneHelpConvention(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		n++
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(dir, name)
			if out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			if why, ok := notYetConforming[name]; ok {
				t.Skipf("%s does not follow the convention yet: %s", name, why)
			}
			for _, help := range []string{"-h", "--help"} {
				code, stdout, stderr := run(bin, help)
				if code != 0 || !strings.HasPrefix(stdout, "usage: "+name) || stderr != "" {
					t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout only", name, help, code, stdout, stderr)
				}
			}
			code, stdout, stderr := run(bin, "--no-such-flag")
			if code != 2 || !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "usage: "+name) || stdout != "" {
				t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2, the problem and the usage on stderr", name, code, stdout, stderr)
			}
		})
	}
	if n < 5 {
		t.Fatalf("found %d commands in cmd/", n)
	}
}

func run(bin string, args ...string) (int, string, string) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}
