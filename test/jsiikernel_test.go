package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/jsiikernel"
)

// The app starts jsii's kernel without its relay process (internal/jsiikernel; docs/checks.md, "The jsii
// kernel without its relay"). What it writes must not depend on that.
func TestTheDirectKernelSynthesizesWhatTheRelayDoes(t *testing.T) {
	t.Parallel() // the app runs as processes of its own
	bin, err := appBinary()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := json.Marshal(fleetConfigs["fleet"])
	// JSII_NODE is the node both runtimes start. This one notes what it was asked to run: the relay's
	// jsii-runtime.js, or kernel.js.
	dir := t.TempDir()
	logged := filepath.Join(dir, "node.log")
	wrapper := filepath.Join(dir, "node")
	script := "#!/bin/sh\necho \"$@\" >> '" + logged + "'\nexec '" + node + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	// This test process started its own kernel directly (TestMain); the processes it starts inherit the
	// environment it was given, not the command.
	if v, set := os.LookupEnv("JSII_RUNTIME"); set {
		t.Fatalf("JSII_RUNTIME=%q leaked into the test process's environment", v)
	}
	// A shell that would print at start-up, or is not installed, must not matter: the command runs in
	// /bin/sh, which reads no startup file.
	bashEnv := filepath.Join(dir, "bash_env")
	if err := os.WriteFile(bashEnv, []byte("echo hello from BASH_ENV\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(mode string, env ...string) (string, string) {
		t.Helper()
		os.Remove(logged)
		outdir := filepath.Join(dir, mode)
		cmd := exec.Command(bin)
		// XDG_CACHE_HOME: the kernel's files go to a cache of this test's own, as on a fresh machine.
		cmd.Env = append(os.Environ(), append(env, "JSII_NODE="+wrapper, "SHELL=/bin/zsh-not-installed", "BASH_ENV="+bashEnv,
			"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+outdir)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		started, _ := os.ReadFile(logged)
		return outdir, string(started)
	}
	direct, startedDirect := run("direct")
	relay, startedRelay := run("relay", jsiikernel.RelayEnv+"=1")
	if !strings.Contains(startedDirect, "kernel.js") || strings.Contains(startedDirect, "jsii-runtime.js") {
		t.Errorf("the app must start kernel.js, not the relay; node was started with: %q", startedDirect)
	}
	// Control: the relay run did start the relay, so the check above can tell them apart.
	if !strings.Contains(startedRelay, "jsii-runtime.js") {
		t.Errorf("control: %s=1 must start the relay; node was started with: %q", jsiikernel.RelayEnv, startedRelay)
	}
	files, err := filepath.Glob(filepath.Join(relay, "*"))
	if err != nil || len(files) < 4 {
		t.Fatalf("the relay's synth wrote %v (%v)", files, err)
	}
	if others, _ := filepath.Glob(filepath.Join(direct, "*")); len(others) != len(files) {
		t.Errorf("the direct kernel's synth wrote %d files, the relay's %d", len(others), len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(direct, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs between the direct kernel and the relay (%v)", name, err)
		}
	}
}
