//go:build linux

package jsiikernel

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A stand-in for program.js that makes its work directory as jsii's kernel does, answers with it and the
// compile cache Node uses, and then waits for its requests to end.
const workStub = `const fs = require('fs'), os = require('os'), path = require('path');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jsii-kernel-'));
fs.writeSync(3, JSON.stringify({ work, cache: require('module').getCompileCacheDir?.() ?? null }) + '\n');
fs.readSync(3, Buffer.alloc(1));
`

// kernel is a running kernel process started as jsii-runtime-go starts it.
type kernel struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	Work  string
	Cache *string
}

func startKernel(t *testing.T, dir string) *kernel {
	t.Helper()
	cmd := exec.Command(shell, "-c", Command("node", dir, "", false, ""))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NODE_COMPILE_CACHE=") && !strings.HasPrefix(kv, "NODE_DISABLE_COMPILE_CACHE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &kernel{cmd: cmd, stdin: stdin}
	t.Cleanup(k.stop)
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, k) != nil {
		t.Fatalf("kernel answered %q: %v", line, err)
	}
	return k
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}

func (k *kernel) stop() {
	k.stdin.Close()
	k.cmd.Wait()
}

func TestEachKernelHoldsAWorkDirectoryThatComesBack(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on the PATH: make puts node_modules/.bin on it")
	}
	write := func(kernelJS string) string {
		return writeKernel(t, filepath.Join(t.TempDir(), "kernel"), kernelJS, workStub)
	}
	dir := write(kernelJS(t))
	info, err := os.Stat("/proc/self/ns/net") // the kernels' network namespace is this process's
	if err != nil {
		t.Fatal(err)
	}
	namespace := info.Sys().(*syscall.Stat_t).Ino
	slot := func(n int) string { return filepath.Join(dir, "work", fmt.Sprintf("%d-%d", namespace, n)) }
	a, b := startKernel(t, dir), startKernel(t, dir)
	if a.Work != slot(0) || b.Work != slot(1) {
		t.Errorf("two kernels at once must hold work directories of their own: %s and %s", a.Work, b.Work)
	}
	if a.Cache == nil || !strings.HasPrefix(*a.Cache, filepath.Join(dir, "compile-cache")+string(filepath.Separator)) {
		t.Errorf("a kernel with a work directory that comes back uses the compile cache in compile-cache/: %v", deref(a.Cache))
	}
	// A killed kernel's directory is free again at once, and emptied for the next one; the others are
	// left alone.
	a.cmd.Process.Kill()
	a.cmd.Wait()
	for _, n := range []int{0, 1} {
		if err := os.WriteFile(filepath.Join(slot(n), "left behind"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := startKernel(t, dir)
	if left, _ := os.ReadDir(slot(0)); c.Work != slot(0) || len(left) != 0 {
		t.Errorf("a killed kernel's work directory must go to the next kernel, emptied: %s, holding %v", c.Work, left)
	}
	if _, err := os.Stat(filepath.Join(slot(1), "left behind")); err != nil {
		t.Errorf("taking a work directory must leave the one another kernel holds alone: %v", err)
	}
	b.stop()
	c.stop()
	// With every directory held, a kernel works as before: a new temporary directory, no compile cache.
	var held []net.Listener
	for n := range 8 {
		pathDigest := sha256.Sum256([]byte(dir))
		l, err := net.Listen("unix", fmt.Sprintf("@kmsguard-jsii-%d-%s-%d", os.Getuid(), hex.EncodeToString(pathDigest[:])[:16], n))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	d := startKernel(t, dir)
	if !strings.HasPrefix(filepath.Base(d.Work), "jsii-kernel-") || filepath.Dir(d.Work) != filepath.Clean(os.TempDir()) || d.Cache != nil {
		t.Errorf("with no work directory free, the kernel must use a temporary one and no cache: %s, %s", d.Work, deref(d.Cache))
	}
	d.stop()
	os.Remove(d.Work)
	held[5].Close()
	if e := startKernel(t, dir); e.Work != slot(5) {
		t.Errorf("control: the directory released must be taken: %s", e.Work)
	}
	for _, l := range held {
		l.Close()
	}
	// Control: kernels that do not share the lock's name both take the first directory.
	unlocked := strings.Replace(kernelJS(t), "kmsguard-jsii-${process.getuid()}", "kmsguard-jsii-${process.pid}", 1)
	if unlocked == kernelJS(t) {
		t.Fatal("control: kernel.js no longer names its lock so")
	}
	dir = write(unlocked)
	if f, g := startKernel(t, dir), startKernel(t, dir); f.Work != g.Work {
		t.Errorf("control: without the lock two kernels must collide; got %s and %s", f.Work, g.Work)
	}
}
