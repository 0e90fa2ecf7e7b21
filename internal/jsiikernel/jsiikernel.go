// Package jsiikernel starts jsii's kernel (the Node program that carries out every CDK call of a Go app)
// without the relay process jsii's Go runtime puts in front of it.
//
// By default jsii-runtime-go runs @jsii/runtime's jsii-runtime.js, which starts a second Node process for
// the kernel and copies every request and response between the Go process and that child. The relay costs
// a Node start at every synth and doubles the cost of each of the hundreds of requests a synth makes
// (docs/checks.md, "The jsii kernel without its relay"). jsii-runtime-go lets a program name its own
// runtime command (JSII_RUNTIME); Use points it at kernel/kernel.js, which runs kernel/program.js (the
// kernel jsii-runtime-go embeds: TestVendoredKernelIsJsiiRuntimeGosOwn) in the one Node process.
// Templates are byte for byte the same either way (TestTheDirectKernelSynthesizesWhatTheRelayDoes in
// test/).
//
// Install changes two places in program.js (patches): the digest of each package jsii-runtime-go hands the
// kernel, which kernel.js then keeps per build of the program instead of hashing 62 MB of packages at every
// start, and an assertion that formatted its message before checking. kernel.js also gives the kernel a
// work directory that comes back from one start to the next, so that Node's compile cache applies
// (docs/checks.md, "Package digests kept per build" and "The compile cache, and a work directory that
// comes back").
package jsiikernel

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/aws/jsii-runtime-go"
	jsiiruntime "github.com/aws/jsii-runtime-go/runtime"
)

//go:embed kernel/program.js kernel/runtime-index-worker.js kernel/kernel.js
var kernelFiles embed.FS

// The files Install writes, in the order their digest is taken: jsii-runtime-go's lib/ directory (without
// its source maps) and kernel.js.
var fileNames = []string{"program.js", "runtime-index-worker.js", "kernel.js"}

// RelayEnv set to 1 keeps jsii's own runtime, relay included (for a comparison, or if the direct kernel
// ever misbehaves).
const RelayEnv = "KMSGUARD_JSII_RELAY"

// shell is the shell jsii-runtime-go runs the command with: Use makes it /bin/sh whatever the user's SHELL,
// since a shell invoked as sh reads no startup file when it runs a command (bash reads BASH_ENV, zsh
// ~/.zshenv, and what those print would reach the Go process as a response).
const shell = "/bin/sh"

// Use makes jsii start its kernel directly when it can, and reports whether it did and, if not, why. Call
// it before any CDK call. The CDK packages create jsii's client while they initialise, without starting
// Node; Use closes that client and creates the next one at once, with JSII_RUNTIME set to Command and SHELL
// to /bin/sh, which jsii-runtime-go reads when it creates a client, and then puts both variables back, so
// that the processes the program starts later (and their own jsii) inherit the user's environment; the
// command gives the kernel the user's too. Use acts once per process, since closing a client that has
// started would end the objects it holds; a client started after jsii.Close uses jsii's own runtime.
// Whatever it reports, jsii works: jsii's own runtime is the fallback.
func Use() (bool, string) {
	useOnce.Do(func() { used, usedWhy = use() })
	return used, usedWhy
}

var (
	useOnce sync.Once
	used    bool
	usedWhy string
)

func use() (bool, string) {
	if why := refusal(os.Getenv, runtime.GOOS); why != "" {
		return false, why
	}
	node := os.Getenv("JSII_NODE")
	if node == "" {
		node = "node"
	}
	if _, err := exec.LookPath(node); err != nil {
		return false, err.Error() // jsii's own runtime says the same, as it always has
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return false, fmt.Sprintf("no cache directory: %v", err)
	}
	dir, err := Install(cacheRoot)
	if err != nil {
		return false, err.Error()
	}
	userShell, shellSet := os.LookupEnv("SHELL")
	bi, ok := debug.ReadBuildInfo()
	restore := setenv(map[string]string{"JSII_RUNTIME": Command(node, dir, buildKey(bi, ok), shellSet, userShell), "SHELL": shell})
	defer restore()
	jsii.Close()
	jsiiruntime.IsAnonymousProxy(nil) // creates the client, reading the two variables
	return true, ""
}

// refusal says why the direct kernel cannot be used here, or "" if it can.
func refusal(getenv func(string) string, goos string) string {
	switch {
	case goos == "windows":
		return "Windows runs JSII_RUNTIME with cmd.exe"
	case getenv(RelayEnv) == "1":
		return RelayEnv + "=1"
	case getenv("JSII_RUNTIME") != "":
		return "JSII_RUNTIME is already set"
	}
	if info, err := os.Stat(shell); err != nil || info.IsDir() {
		return "no " + shell
	}
	return ""
}

// setenv sets the variables and returns what puts them back as they were.
func setenv(vars map[string]string) func() {
	type prior struct {
		value string
		set   bool
	}
	before := map[string]prior{}
	for k, v := range vars {
		old, set := os.LookupEnv(k)
		before[k] = prior{old, set}
		os.Setenv(k, v)
	}
	return func() {
		for k, p := range before {
			if p.set {
				os.Setenv(k, p.value)
			} else {
				os.Unsetenv(k)
			}
		}
	}
}

// Command is the shell command that runs the kernel installed in dir with node, with the redirections
// kernel.js expects, and the flag the relay gives the kernel's process. It first gives the kernel the
// environment the user gave the program: without JSII_RUNTIME, and with their SHELL (unset if shellSet is
// false), so that what the kernel starts does not inherit what Use set for jsii-runtime-go. key, the
// program's buildKey, is kernel.js's argument; without one kernel.js keeps no package digest.
func Command(node, dir, key string, shellSet bool, userShell string) string {
	env := "unset JSII_RUNTIME SHELL; "
	if shellSet {
		env = "unset JSII_RUNTIME; SHELL=" + shellQuote(userShell) + "; export SHELL; "
	}
	arg := ""
	if key != "" {
		arg = " " + shellQuote(key)
	}
	return env + fmt.Sprintf("exec %s --preserve-symlinks %s%s 4<&0 0</dev/null 3>&1 1>&2", shellQuote(node), shellQuote(filepath.Join(dir, "kernel.js")), arg)
}

// buildKey names every module the program was built from (bi, if ok) by path, version and go.sum checksum
// (a replacement's when it is replaced), or is "" when one has no checksum (a directory replacement, a
// vendored build) or there is no build information. The jsii packages a program embeds, and so their
// digests, come from those modules' files, which their checksums fix: one key, one set of packages.
func buildKey(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil || len(bi.Deps) == 0 {
		return ""
	}
	h := sha256.New()
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		if m.Sum == "" {
			return ""
		}
		fmt.Fprintf(h, "%s %s %s %s\n", d.Path, m.Path, m.Version, m.Sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// patches are the two changes Install makes to program.js, each to a text it must hold exactly once
// (docs/checks.md, "The jsii kernel without its relay").
var patches = []struct{ from, to string }{
	// The digest of a package's tarball, by which jsii finds the package's extracted copy in its package
	// cache, is asked of kernel.js's kmsguardDigestFile. It computes it as before (the third argument),
	// unless it kept it for this build and jsii's cache holds a complete copy by that digest (the fourth).
	{digestCall, digestHook},
	// An assertion built its message, a util.inspect of the type it checks, before checking: at every
	// value the kernel reads, some 20 ms a synth. The message is now built only when the check fails.
	{
		"function computeSerializationType(e,p){if((0,B.default)(null!=e,`Kernel error: expected type information, got ${(0,K.inspect)(e)}`),",
		"function computeSerializationType(e,p){if(null!=e||(0,B.default)(!1,`Kernel error: expected type information, got ${(0,K.inspect)(e)}`),",
	},
}

// digestCall is where jsii's extractViaCache takes the digest of the tarball e of the package f (name and
// version) and opens the cache entry y.entry by it.
const (
	digestCall = `_=(0,V.digestFile)(e,...f),F=y.entry(...f,_.toString("hex"));`
	digestHook = `_=globalThis.kmsguardDigestFile(e,f,()=>(0,V.digestFile)(e,...f),p=>y.entry(...f,p.toString("hex")).isComplete),F=y.entry(...f,_.toString("hex"));`
)

// patchProgram returns program.js with the patches made, or an error if it does not hold the text of
// one of them exactly once (a jsii-runtime-go upgrade changed it; Use then keeps jsii's own runtime).
func patchProgram(program []byte) ([]byte, error) {
	for _, p := range patches {
		if n := bytes.Count(program, []byte(p.from)); n != 1 {
			return nil, fmt.Errorf("program.js holds %.60s... %d times, not once: revisit internal/jsiikernel's patches", p.from, n)
		}
		program = bytes.Replace(program, []byte(p.from), []byte(p.to), 1)
	}
	return program, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Install writes the kernel's files (program.js with its patches) into a directory of cacheRoot named
// by their digest, with the digests/ directory kernel.js keeps package digests in, and returns it. A file
// already there is used only if it is byte for byte the one Install would write; any other is replaced,
// through a temporary file and a rename, so that a concurrent synth never reads half a file. The
// directories and the two below cacheRoot must be the user's own and writable by nobody else (a cache root
// shared with others could otherwise let them swap a file between the check and Node's read, or plant a
// digest).
func Install(cacheRoot string) (string, error) {
	h := sha256.New()
	contents := make([][]byte, len(fileNames))
	for i, name := range fileNames {
		b, err := kernelFiles.ReadFile("kernel/" + name)
		if err != nil {
			return "", err
		}
		if name == "program.js" {
			if b, err = patchProgram(b); err != nil {
				return "", err
			}
		}
		contents[i] = b
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	ours := filepath.Join(cacheRoot, "kmsguard")
	parent := filepath.Join(ours, "jsii-kernel")
	dir := filepath.Join(parent, hex.EncodeToString(h.Sum(nil))[:16])
	digests := filepath.Join(dir, "digests")
	if err := os.MkdirAll(digests, 0o700); err != nil {
		return "", fmt.Errorf("jsii kernel directory: %w", err)
	}
	for _, d := range []string{ours, parent, dir, digests} {
		info, err := os.Lstat(d)
		if err != nil {
			return "", fmt.Errorf("jsii kernel directory: %w", err)
		}
		if !info.IsDir() || info.Mode().Perm()&0o022 != 0 || !ownedByMe(info) {
			return "", fmt.Errorf("jsii kernel directory %s is not a directory of the user's own that only they can write (%v)", d, info.Mode())
		}
	}
	for i, name := range fileNames {
		path := filepath.Join(dir, name)
		if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, contents[i]) {
			continue
		}
		if err := writeAtomically(path, contents[i]); err != nil {
			return "", fmt.Errorf("jsii kernel file: %w", err)
		}
	}
	return dir, nil
}

func writeAtomically(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
