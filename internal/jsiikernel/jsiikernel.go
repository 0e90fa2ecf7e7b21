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
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/jsii-runtime-go"
)

//go:embed kernel/program.js kernel/kernel.js
var kernelFiles embed.FS

// The files Use installs, in the order their digest is taken.
var fileNames = []string{"program.js", "kernel.js"}

// RelayEnv set to 1 keeps jsii's own runtime, relay included (for a comparison, or if the direct kernel
// ever misbehaves).
const RelayEnv = "KMSGUARD_JSII_RELAY"

// posixShells are the shells whose `-c` understands the command's redirections (`4<&0 3>&1`).
// jsii-runtime-go runs JSII_RUNTIME with $SHELL, /bin/sh when it is unset; csh, fish and the like keep the
// relay.
var posixShells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "ash": true, "yash": true}

// Use makes the next jsii request start the kernel directly when it can, and reports whether it did and,
// if not, why. Call it before any CDK call: the CDK packages create jsii's client while they initialise
// (no Node process runs yet), and Use closes that client so that the next request starts a new one under
// the command it sets. Whatever it reports, jsii works: the default runtime is the fallback.
func Use() (bool, string) {
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return false, fmt.Sprintf("no cache directory: %v", err)
	}
	return use(os.Getenv, os.Setenv, cacheRoot, runtime.GOOS)
}

func use(getenv func(string) string, setenv func(string, string) error, cacheRoot, goos string) (bool, string) {
	switch {
	case goos == "windows":
		return false, "Windows runs JSII_RUNTIME with cmd.exe"
	case getenv(RelayEnv) == "1":
		return false, RelayEnv + "=1"
	case getenv("JSII_RUNTIME") != "":
		return false, "JSII_RUNTIME is already set"
	}
	shell := getenv("SHELL")
	if shell != "" && !posixShells[filepath.Base(shell)] {
		return false, fmt.Sprintf("SHELL=%s is not a POSIX shell", shell)
	}
	dir, err := Install(cacheRoot)
	if err != nil {
		return false, err.Error()
	}
	if err := setenv("JSII_RUNTIME", Command(getenv("JSII_NODE"), dir)); err != nil {
		return false, err.Error()
	}
	jsii.Close()
	return true, ""
}

// Command is the shell command that runs the kernel installed in dir with node (JSII_NODE, or node from
// the PATH when empty), with the redirections kernel.js expects. The flags are those the relay gives the
// kernel's process.
func Command(node, dir string) string {
	if node == "" {
		node = "node"
	}
	return fmt.Sprintf("exec %s --preserve-symlinks %s 4<&0 0</dev/null 3>&1 1>&2", shellQuote(node), shellQuote(filepath.Join(dir, "kernel.js")))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Install writes the kernel's files into a directory of cacheRoot named by their digest, and returns it.
// A file already there is used only if it is byte for byte the embedded one; any other is replaced, through
// a temporary file and a rename, so that a concurrent synth never reads half a file.
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
	dir := filepath.Join(cacheRoot, "kmsguard", "jsii-kernel", hex.EncodeToString(h.Sum(nil))[:16])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("jsii kernel directory: %w", err)
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
