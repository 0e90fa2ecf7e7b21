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

	"github.com/kmsguard/kmsguard/internal/testcmds"
)

// notYetConforming are commands whose -h does not follow the convention yet; each is reported, not hidden.
var notYetConforming = map[string]string{}

// TestEveryCommandFollowsOneHelpConvention: for every binary in cmd/, -h and --help print the usage on
// stdout and exit 0, and an unknown flag exits 2 with the problem and the usage on stderr.
func TestEveryCommandFollowsOneHelpConvention(t *testing.T) {
	dir := t.TempDir()
	names, err := testcmds.Build(".", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("found %d commands in cmd/", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(dir, name)
			if why, ok := notYetConforming[name]; ok {
				t.Skipf("%s does not follow the convention yet: %s", name, why)
			}
			for _, help := range []string{"-h", "--help"} {
				code, stdout, stderr := run(t, bin, help)
				if code != 0 || !strings.HasPrefix(stdout, "usage: "+name) || stderr != "" {
					t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout only", name, help, code, stdout, stderr)
				}
			}
			code, stdout, stderr := run(t, bin, "--no-such-flag")
			if code != 2 || !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "usage: "+name) || stdout != "" {
				t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2, the problem and the usage on stderr", name, code, stdout, stderr)
			}
		})
	}
}

// run runs a command with an empty PATH: no command needs another program to print its usage or refuse
// a flag, and in particular none may start jsii's Node process on the way (a jsii call while a package
// initialises would, in every program importing that package; with no node on PATH it fails instead).
// The command gets a temporary directory of its own, which must be empty when it exits: a program that
// links the CDK packages has jsii's runtime unpacked there as it starts (about 2 MB), and leaves it behind
// unless it closes jsii, on every run.
func run(t *testing.T, bin string, args ...string) (int, string, string) {
	tmp := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "PATH="+os.DevNull, "TMPDIR="+tmp)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("%s %s left %v in its temporary directory (%v); close jsii before exiting", filepath.Base(bin), strings.Join(args, " "), names, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}
