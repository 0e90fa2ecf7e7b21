// Package testcmds builds kmsguard's commands for the tests that run them as a user would (the command-line
// convention in cmd/, the pasted blocks of docs/).
package testcmds

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles every command under cmdDir (one directory each) into outDir, in one go build, and returns
// their names in directory order. One invocation lets the go tool share and parallelise the work; -pgo=off
// leaves out the replay's profile-guided optimisation, which no test depends on and which, on a machine with
// an empty build cache, recompiles every package the replay imports, the standard library included
// (docs/checks.md, "Test time").
func Build(cmdDir, outDir string) ([]string, error) {
	entries, err := os.ReadDir(cmdDir)
	if err != nil {
		return nil, err
	}
	var names []string
	args := []string{"build", "-pgo=off", "-o", outDir + string(filepath.Separator)}
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
			p := filepath.Join(cmdDir, e.Name())
			if !filepath.IsAbs(p) && !strings.HasPrefix(p, ".") {
				p = "." + string(filepath.Separator) + p // a package path, not a module path
			}
			args = append(args, p)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no commands in %s", cmdDir)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return names, nil
}
