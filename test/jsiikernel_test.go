package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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
	same := func(mode, direct string) {
		t.Helper()
		if others, _ := filepath.Glob(filepath.Join(direct, "*")); len(others) != len(files) {
			t.Errorf("%s: the direct kernel's synth wrote %d files, the relay's %d", mode, len(others), len(files))
		}
		for _, f := range files {
			name := filepath.Base(f)
			want, _ := os.ReadFile(f)
			got, err := os.ReadFile(filepath.Join(direct, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %s differs between the direct kernel and the relay (%v)", mode, name, err)
			}
		}
	}
	same("first start", direct)

	// The first start kept the digests of the packages the app embeds (docs/checks.md, "Package digests
	// kept per build"); the next start uses them, and writes the same.
	memos, _ := filepath.Glob(filepath.Join(dir, "cache", "kmsguard", "jsii-kernel", "*", "digests", "*.json"))
	if len(memos) != 1 {
		t.Fatalf("the app's build must keep its package digests in one file: %v", memos)
	}
	kept, err := os.ReadFile(memos[0])
	var digests map[string]struct {
		Size   int64
		Sha256 string
	}
	if err != nil || json.Unmarshal(kept, &digests) != nil || len(digests) < 5 {
		t.Fatalf("kept digests: %s (%v)", kept, err)
	}
	before, err := os.Stat(memos[0])
	if err != nil {
		t.Fatal(err)
	}
	direct, _ = run("digests kept")
	same("digests kept", direct)
	// kernel.js replaces the file (a rename) only when it computed a digest.
	if after, err := os.Stat(memos[0]); err != nil || !os.SameFile(before, after) {
		t.Errorf("the next start must use the kept digests, not compute them again (%v)", err)
	}
	// A kept digest jsii's cache holds no copy by is computed again, and mended: damaged digests cost a
	// start its time, never its result.
	damaged := map[string]any{}
	for pkg, d := range digests {
		damaged[pkg] = map[string]any{"size": d.Size, "sha256": strings.Repeat("0", 64)}
	}
	b, _ := json.Marshal(damaged)
	if err := os.WriteFile(memos[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	direct, _ = run("digests damaged")
	same("digests damaged", direct)
	// The kernel compiled from a work directory of its own, kept its compiled code, and removed the
	// directory at its exit (docs/checks.md, "The compile cache, and a work directory that comes back").
	kernelDir := filepath.Dir(filepath.Dir(memos[0]))
	if cached, _ := filepath.Glob(filepath.Join(kernelDir, "compile-cache", "*", "*")); len(cached) < 10 {
		t.Errorf("the kernel must keep its compiled code in compile-cache/: %v", cached)
	}
	if left, err := os.ReadDir(filepath.Join(kernelDir, "work")); err != nil || len(left) != 0 {
		t.Errorf("the kernels must have worked in work/ and removed their directories at exit: %v (%v)", left, err)
	}
	mended, _ := os.ReadFile(memos[0])
	var again map[string]struct {
		Size   int64
		Sha256 string
	}
	if json.Unmarshal(mended, &again) != nil || !reflect.DeepEqual(again, digests) {
		t.Errorf("damaged digests must be mended to what the first start kept:\n%s\nwant\n%s", mended, kept)
	}
}
