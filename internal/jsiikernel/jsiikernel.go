// Package jsiikernel starts jsii's kernel (the Node program that carries out every CDK call of a Go app)
// without the relay process jsii's Go runtime puts in front of it.
//
// By default jsii-runtime-go runs @jsii/runtime's jsii-runtime.js, which starts a second Node process for
// the kernel and copies every request and response between the Go process and that child. The relay costs
// a Node start at every synth and doubles the cost of each of the hundreds of requests a synth makes
// (docs/checks.md, "The jsii kernel without its relay"). jsii-runtime-go lets a program name its own
// runtime command (JSII_RUNTIME); Use points it at kernel/kernel.js, which runs kernel/program.js (the
// kernel jsii-runtime-go embeds, unchanged: TestVendoredKernelIsJsiiRuntimeGosOwn) in the one Node process.
// Templates are byte for byte the same either way (TestTheDirectKernelSynthesizesWhatTheRelayDoes in
// test/).
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
	restore := setenv(map[string]string{"JSII_RUNTIME": Command(node, dir, shellSet, userShell), "SHELL": shell})
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
// false), so that what the kernel starts does not inherit what Use set for jsii-runtime-go.
func Command(node, dir string, shellSet bool, userShell string) string {
	env := "unset JSII_RUNTIME SHELL; "
	if shellSet {
		env = "unset JSII_RUNTIME; SHELL=" + shellQuote(userShell) + "; export SHELL; "
	}
	return env + fmt.Sprintf("exec %s --preserve-symlinks %s 4<&0 0</dev/null 3>&1 1>&2", shellQuote(node), shellQuote(filepath.Join(dir, "kernel.js")))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Install writes the kernel's files into a directory of cacheRoot named by their digest, and returns it.
// A file already there is used only if it is byte for byte the embedded one; any other is replaced, through
// a temporary file and a rename, so that a concurrent synth never reads half a file. The directory and the
// two below cacheRoot must be the user's own and writable by nobody else (a cache root shared with others
// could otherwise let them swap a file between the check and Node's read).
func Install(cacheRoot string) (string, error) {
	h := sha256.New()
	contents := make([][]byte, len(fileNames))
	for i, name := range fileNames {
		b, err := kernelFiles.ReadFile("kernel/" + name)
		if err != nil {
			return "", err
		}
		contents[i] = b
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	ours := filepath.Join(cacheRoot, "kmsguard")
	parent := filepath.Join(ours, "jsii-kernel")
	dir := filepath.Join(parent, hex.EncodeToString(h.Sum(nil))[:16])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("jsii kernel directory: %w", err)
	}
	for _, d := range []string{ours, parent, dir} {
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
