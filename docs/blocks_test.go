// Package docs holds the pasted-blocks test: every fenced block in README.md and docs/ goes through the
// program that reads it in real use, or is marked `<!-- untested: reason -->` on the line before its fence.
package docs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kmsguard/kmsguard/internal/athena"
	"github.com/kmsguard/kmsguard/internal/managekey"
	"github.com/kmsguard/kmsguard/internal/projectconfig"
	"github.com/kmsguard/kmsguard/internal/wrapper"
	"github.com/kmsguard/kmsguard/stacks"
)

// block is one fenced block of a Markdown file.
type block struct {
	file     string
	line     int    // line of the opening fence
	info     string // the fence's info string (sh, ini, json, ...)
	text     string
	untested string // reason given by <!-- untested: reason -->
	output   string // name given by <!-- output of: name -->
}

var (
	fenceRE    = regexp.MustCompile("^( *)(```+)\\s*([A-Za-z0-9_-]*)\\s*$")
	untestedRE = regexp.MustCompile(`^\s*<!--\s*untested:\s*(.*?)\s*-->\s*$`)
	outputRE   = regexp.MustCompile(`^\s*<!--\s*output of:\s*(.*?)\s*-->\s*$`)
)

// blocks extracts the fenced blocks of a Markdown text, with the marker on the last non-blank line before
// each fence.
func blocks(file, md string) ([]block, error) {
	var out []block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := block{file: file, line: i + 1, info: m[3]}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if u := untestedRE.FindStringSubmatch(lines[j]); u != nil {
				b.untested = u[1]
				if b.untested == "" {
					b.untested = "-" // a marker without a reason is reported by check
				}
			}
			if o := outputRE.FindStringSubmatch(lines[j]); o != nil {
				b.output = o[1]
			}
			break
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) == m[2] {
				closed = true
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], m[1]))
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: fence never closed", file, b.line)
		}
		b.text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out, nil
}

// checker knows the programs a block may name: the Makefile's targets and each kmsguard binary's flags.
type checker struct {
	repo    string
	targets map[string]bool
	flags   map[string]map[string]bool // binary -> flag names without dashes
}

// check returns what is wrong with a block, or nil when it passes (or is marked untested with a reason).
func (c *checker) check(b block) []string {
	if b.untested == "-" {
		return []string{"<!-- untested: --> without a reason"}
	}
	if b.untested != "" {
		return nil
	}
	if b.output != "" {
		return c.checkOutput(b)
	}
	switch b.info {
	case "ini":
		if _, err := wrapper.ParseConfig([]byte(b.text)); err != nil {
			return []string{"iam-kms-wrapper's config parser rejects it: " + err.Error()}
		}
		return nil
	case "json":
		return c.checkJSON(b.text)
	case "env":
		return checkEnvFile(b.text)
	case "sh", "bash", "shell":
		return c.checkShell(b.text)
	}
	return []string{fmt.Sprintf("no program reads a %q block: give it a type this test runs (sh, ini, json, env) or mark it <!-- untested: reason -->", b.info)}
}

// checkJSON runs cdk.json snippets through the app's config loader and outputs files through
// kms-manage-key's reader.
func (c *checker) checkJSON(text string) []string {
	var doc map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return []string{"not valid JSON: " + err.Error()}
	}
	if ctx, ok := doc["context"].(map[string]any); ok {
		if _, err := stacks.ParseConfig(ctx); err != nil {
			return []string{"the app's config loader rejects its context: " + err.Error()}
		}
		return nil
	}
	f, err := os.CreateTemp("", "outputs-*.json")
	if err != nil {
		return []string{err.Error()}
	}
	defer os.Remove(f.Name())
	f.WriteString(text)
	f.Close()
	so, err := managekey.ReadOutputs(f.Name(), "")
	if err != nil {
		return []string{"kms-manage-key cannot read it as an outputs file: " + err.Error()}
	}
	if so.KeyArn == "" || so.KeyID == "" || managekey.DeriveMFASerial(so.AdminUserArn) == "" {
		return []string{"an outputs file without KeyArn, KeyId and AdminUserArn (or a JSON block of unknown kind)"}
	}
	return nil
}

var envLineRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=[^"'\s]*$`)

// checkEnvFile applies the rules docs/operator-tools.md gives for the systemd EnvironmentFile: KEY=value
// lines, no quotes, no "export", comments on their own lines.
func checkEnvFile(text string) []string {
	var bad []string
	for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !envLineRE.MatchString(l) {
			bad = append(bad, fmt.Sprintf("line %d %q is not KEY=value without quotes or export", i+1, l))
		}
	}
	return bad
}

// known are the programs a shell block may run besides kmsguard's own.
var known = map[string]bool{
	"make": true, "go": true, "cdk": true, "aws": true, "npm": true, "git": true, "systemctl": true,
	"journalctl": true, "echo": true, "sudo": true, "sh": true, "install": true, "export": true, "chown": true,
	"chmod": true, "getent": true, "groupadd": true, "usermod": true, "set": true, "cat": true, "mariadb": true,
	"mysql": true, "cp": true, "mkdir": true, "[": true, "test": true, "systemd-analyze": true, "grep": true,
	"jq": true, "oathtool": true, "cd": true, "ls": true, "gh": true, "exit": true,
}

// ours are kmsguard's binaries, by the name a user types.
var ours = []string{"iam-kms-wrapper", "kms-manage-key", "kmsguard-replay", "kmsguard-summary", "kmsguard-make"}

// checkShell checks a shell block for syntax (bash -n), then each simple command: a known program, make
// targets that exist, kmsguard commands with flags they accept, Go package paths that exist, and cdk `-c`
// settings the app's config loader accepts.
func (c *checker) checkShell(text string) []string {
	var bad []string
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		bad = append(bad, "bash -n: "+strings.TrimSpace(string(out)))
	}
	for _, words := range commands(text) {
		bad = append(bad, c.checkCommand(words)...)
	}
	return bad
}

func (c *checker) checkCommand(words []string) []string {
	for len(words) > 0 && (strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") || words[0] == "sudo") {
		words = words[1:] // VAR=value prefixes, sudo
	}
	if len(words) == 0 {
		return nil
	}
	name := words[0]
	args := words[1:]
	switch {
	case slices.Contains(ours, filepath.Base(name)):
		return c.checkFlags(filepath.Base(name), args)
	case name == "go":
		return c.checkGo(args)
	case name == "make":
		var bad []string
		for _, a := range args {
			if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && !c.targets[a] {
				bad = append(bad, fmt.Sprintf("make %s: no such target in the Makefile", a))
			}
		}
		return bad
	case name == "cdk":
		return checkCdkContext(args)
	case name == "export" || name == "set" || name == "cd":
		return nil
	case !known[name]:
		return []string{fmt.Sprintf("%q is not a program this test knows (add it to known if it is real)", name)}
	}
	return nil
}

// checkGo checks `go run|build|install|test` package paths, and the flags of `go run ./cmd/X`.
func (c *checker) checkGo(args []string) []string {
	if len(args) == 0 {
		return []string{"go without a subcommand"}
	}
	var bad []string
	for i, a := range args[1:] {
		pkg := a
		if strings.HasPrefix(pkg, "github.com/kmsguard/kmsguard/") {
			pkg = "./" + strings.TrimPrefix(strings.SplitN(pkg, "@", 2)[0], "github.com/kmsguard/kmsguard/")
		}
		if !strings.HasPrefix(pkg, "./") {
			continue
		}
		dir := filepath.Join(c.repo, strings.TrimSuffix(strings.TrimSuffix(pkg, "..."), "/"))
		if _, err := os.Stat(dir); err != nil {
			bad = append(bad, fmt.Sprintf("go %s: package %s does not exist", args[0], a))
			continue
		}
		if args[0] == "run" && strings.HasPrefix(pkg, "./cmd/") {
			return append(bad, c.checkFlags(filepath.Base(pkg), args[i+2:])...)
		}
	}
	return bad
}

// checkFlags checks that every --flag given to a kmsguard binary is one its -h output lists.
func (c *checker) checkFlags(bin string, args []string) []string {
	known, ok := c.flags[bin]
	if !ok {
		return []string{bin + ": not a binary in cmd/"}
	}
	var bad []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !known[name] {
			bad = append(bad, fmt.Sprintf("%s has no flag %s (its -h lists: %s)", bin, a, strings.Join(sortedKeys(known), ", ")))
		}
	}
	return bad
}

// checkCdkContext runs every `-c key=value` through the app's config loader, on top of the committed
// cdk.json's context, as the CDK CLI of a fresh clone would.
func checkCdkContext(args []string) []string {
	ctx, err := projectconfig.Context("..")
	if err != nil {
		return []string{err.Error()}
	}
	given := 0
	for i := 0; i < len(args); i++ {
		if args[i] != "-c" && args[i] != "--context" {
			continue
		}
		if i+1 == len(args) {
			return []string{"-c without key=value"}
		}
		k, v, _ := strings.Cut(args[i+1], "=")
		ctx[k] = v
		given++
	}
	if given == 0 {
		return nil
	}
	if _, err := stacks.ParseConfig(ctx); err != nil {
		return []string{"cdk -c: the app's config loader rejects it: " + err.Error()}
	}
	return nil
}

// checkOutput compares a block with what the named program prints today.
func (c *checker) checkOutput(b block) []string {
	gen, ok := generators[b.output]
	if !ok {
		return []string{fmt.Sprintf("<!-- output of: %s --> names no known generator", b.output)}
	}
	want, err := gen()
	if err != nil {
		return []string{err.Error()}
	}
	if b.text != want {
		return []string{fmt.Sprintf("differs from what %s prints today; replace it with:\n%s", b.output, want)}
	}
	if b.info == "sh" {
		return c.checkShell(b.text)
	}
	return nil
}

// generators produce the documented output of a command from the real code.
var generators = map[string]func() (string, error){
	"iam-kms-wrapper --print-systemd-dropin": func() (string, error) {
		cfg, err := wrapper.ParseConfig([]byte("[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nkms_mfa_socket = /run/kms-mfa/socket\nsocket_group = kmsmfa\n"))
		if err != nil {
			return "", err
		}
		var b strings.Builder
		err = wrapper.PrintDropin(&b, wrapper.DropinParams{Wrapper: "/usr/local/bin/iam-kms-wrapper", ConfigPath: wrapper.DefaultConfigPath, Config: cfg})
		return b.String(), err
	},
	// The table of docs/replay.md's organization-trail example.
	"kmsguard-replay --emit athena --org o-a1b2c3d4e5 --accounts 111122223333,444455556666 --regions eu-west-1 --from 2025-05-01 s3://org-trail-bucket (the table)": func() (string, error) {
		t := athena.Table{Name: athena.DefaultTableName, Bucket: "org-trail-bucket", OrgID: "o-a1b2c3d4e5",
			Accounts: []string{"111122223333", "444455556666"}, Regions: []string{"eu-west-1"}, From: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)}
		return t.DDL(), t.Validate()
	},
}

func sortedKeys(m map[string]bool) []string {
	var k []string
	for s := range m {
		k = append(k, "--"+s)
	}
	slices.Sort(k)
	return k
}
