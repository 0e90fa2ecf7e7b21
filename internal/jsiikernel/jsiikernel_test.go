package jsiikernel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// upstreamFile returns a file of the jsii-runtime-go module go.mod names, from the module cache.
func upstreamFile(t *testing.T, rel string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/jsii-runtime-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/jsii-runtime-go: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const upstreamKernel = "internal/embedded/resources/lib/program.js"

// sameKernel is the check the test below makes, apart so that its control can feed it a changed copy.
func sameKernel(vendored, upstream []byte) error {
	if !bytes.Equal(vendored, upstream) {
		return fmt.Errorf("kernel/program.js (%d bytes) is not jsii-runtime-go's %s (%d bytes): after a jsii-runtime-go upgrade, copy that file over kernel/program.js", len(vendored), upstreamKernel, len(upstream))
	}
	return nil
}

func TestVendoredKernelIsJsiiRuntimeGosOwn(t *testing.T) {
	vendored, err := kernelFiles.ReadFile("kernel/program.js")
	if err != nil {
		t.Fatal(err)
	}
	upstream := upstreamFile(t, upstreamKernel)
	if err := sameKernel(vendored, upstream); err != nil {
		t.Fatal(err)
	}
	// Control: one changed byte is caught.
	changed := bytes.Clone(vendored)
	changed[len(changed)/2] ^= 1
	if sameKernel(changed, upstream) == nil {
		t.Fatal("control: a changed byte went unnoticed")
	}
	// kernel.js rests on two facts about that kernel: it speaks on fd 3, and it opens no stdio of its own.
	if !bytes.Contains(upstream, []byte("readFD:3,writeFD:3")) {
		t.Error("the kernel no longer speaks on fd 3: kernel.js's redirections must follow")
	}
	// And on the relay's Node table: Node 20 has reached its end of life, Node 22 is supported.
	relay := upstreamFile(t, "internal/embedded/resources/bin/jsii-runtime.js")
	for _, want := range []string{`new NodeRelease(20,{endOfLife:new Date("2026-04-30")})`, `new NodeRelease(22,{endOfLife:`} {
		if !bytes.Contains(relay, []byte(want)) {
			t.Errorf("the relay's table of Node releases changed (%s): revisit OLDEST_SUPPORTED_NODE in kernel.js", want)
		}
	}
}

// runKernel runs the shell command Command gives for dir, feeding it stdin, and returns its stdout and
// stderr.
func runKernel(t *testing.T, dir, stdin string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", Command("", dir))
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// A stand-in for program.js that does what the kernel does with its channel: read a request from fd 3,
// answer on fd 3; and prints as a library might.
const stubKernel = `const fs = require('fs');
console.log('printed by a library');
const buf = Buffer.alloc(1024);
const n = fs.readSync(3, buf, 0, buf.length, null);
fs.writeSync(3, 'answer to ' + buf.toString('utf8', 0, n));
`

func TestTheKernelTalksOnTheGoProcesssPipesAndPrintsToStderr(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on the PATH: make puts node_modules/.bin on it")
	}
	kernel, err := kernelFiles.ReadFile("kernel/kernel.js")
	if err != nil {
		t.Fatal(err)
	}
	write := func(kernelJS string) string {
		dir := filepath.Join(t.TempDir(), `a dir with "quotes" and 'apostrophes'`)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"kernel.js": kernelJS, "program.js": stubKernel} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	stdout, stderr, err := runKernel(t, write(string(kernel)), "a request\n")
	if err != nil {
		t.Fatalf("kernel: %v\n%s", err, stderr)
	}
	if stdout != "answer to a request\n" {
		t.Errorf("stdout carries exactly the kernel's answers; got %q", stdout)
	}
	if !strings.Contains(stderr, "printed by a library") {
		t.Errorf("what a library prints goes to stderr; stderr: %q", stderr)
	}
	// Control: without the one change kernel.js makes, the kernel cannot read its requests.
	plain := strings.Replace(string(kernel), "fd === 3 ? 4 : fd", "fd", 1)
	if plain == string(kernel) {
		t.Fatal("control: kernel.js no longer maps fd 3 to fd 4 in those words")
	}
	if stdout, _, err := runKernel(t, write(plain), "a request\n"); err == nil || stdout != "" {
		t.Errorf("control: reading fd 3 itself must fail; got %q, %v", stdout, err)
	}
}

func TestInstallReplacesAChangedFile(t *testing.T) {
	root := t.TempDir()
	dir, err := Install(root)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := kernelFiles.ReadFile("kernel/kernel.js")
	path := filepath.Join(dir, "kernel.js")
	if err := os.WriteFile(path, []byte("process.exit(0)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Install(root)
	if err != nil {
		t.Fatal(err)
	}
	if again != dir {
		t.Errorf("the same files go to the same directory: %s, then %s", dir, again)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("a changed kernel.js must be replaced; it holds %q", got)
	}
	for _, p := range []string{dir, path} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s must be the user's alone: %v %v", p, info.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(fileNames) {
		t.Errorf("no temporary file is left behind: %v", entries)
	}
}

func TestUseKeepsTheRelayWhereTheCommandCannotRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		goos string
		why  string // empty: the direct kernel is used
	}{
		{name: "default shell", env: map[string]string{}, goos: "linux"},
		{name: "bash", env: map[string]string{"SHELL": "/bin/bash"}, goos: "darwin"},
		{name: "own node", env: map[string]string{"SHELL": "/usr/bin/zsh", "JSII_NODE": "/opt/node 22/bin/node"}, goos: "linux"},
		{name: "windows", env: map[string]string{}, goos: "windows", why: "cmd.exe"},
		{name: "opted out", env: map[string]string{RelayEnv: "1"}, goos: "linux", why: RelayEnv},
		{name: "own runtime", env: map[string]string{"JSII_RUNTIME": "node my-runtime.js"}, goos: "linux", why: "already set"},
		{name: "fish", env: map[string]string{"SHELL": "/usr/bin/fish"}, goos: "linux", why: "not a POSIX shell"},
		{name: "tcsh", env: map[string]string{"SHELL": "/bin/tcsh"}, goos: "freebsd", why: "not a POSIX shell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string]string{}
			root := t.TempDir()
			ok, why := use(func(k string) string { return tc.env[k] }, func(k, v string) error { set[k] = v; return nil }, root, tc.goos)
			if tc.why != "" {
				if ok || !strings.Contains(why, tc.why) || len(set) != 0 {
					t.Errorf("want the relay because of %q; got %v %q, set %v", tc.why, ok, why, set)
				}
				return
			}
			dir := filepath.Join(root, "kmsguard", "jsii-kernel")
			if !ok || !strings.HasPrefix(set["JSII_RUNTIME"], "exec ") || !strings.Contains(set["JSII_RUNTIME"], dir) {
				t.Fatalf("want the direct kernel from %s; got %v %q, set %v", dir, ok, why, set)
			}
			if node := tc.env["JSII_NODE"]; node != "" && !strings.Contains(set["JSII_RUNTIME"], shellQuote(node)) {
				t.Errorf("JSII_NODE is honoured: %q", set["JSII_RUNTIME"])
			}
		})
	}
}
