package docs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/testcmds"
)

// binDir holds kmsguard's binaries, built once per test process (buildOnce).
var binDir string

// buildOnce builds every command in ../cmd into binDir on its first call and returns their names.
var buildOnce = sync.OnceValues(func() ([]string, error) { return testcmds.Build("../cmd", binDir) })

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kmsguard-docs-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	// The docs tests link the CDK packages: their jsii runtime directory goes too (internal/jsiitest).
	jsii.Close()
	os.Exit(code)
}

var (
	targetRE = regexp.MustCompile(`(?m)^([a-z][a-z0-9_-]*):`)
	flagRE   = regexp.MustCompile(`(?:^|[\s\[(,|])--?([a-z][a-z0-9-]*)`)
)

// newChecker reads the Makefile's targets and builds every binary in cmd/ to read the flags its -h lists.
func newChecker(t *testing.T) *checker {
	t.Helper()
	c := &checker{repo: "..", targets: map[string]bool{}, flags: map[string]map[string]bool{}}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range targetRE.FindAllStringSubmatch(string(mk), -1) {
		c.targets[m[1]] = true
	}
	names, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		bin := filepath.Join(binDir, name)
		out, _ := exec.Command(bin, "-h").CombinedOutput() // the usage, which names every flag
		flags := map[string]bool{"h": true, "help": true}
		for _, m := range flagRE.FindAllStringSubmatch(string(out), -1) {
			flags[m[1]] = true
		}
		c.flags[name] = flags
	}
	return c
}

func docFiles(t *testing.T) []string {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md"}, files...)
}

// TestEveryDocumentedBlockWorksWhenPasted: each fenced block of README.md and docs/ passes the program
// that reads it (wrapper config parser, the app's config loader, kms-manage-key's outputs reader, bash -n
// plus real make targets, binaries and flags), or says on the line before it why it is untested.
func TestEveryDocumentedBlockWorksWhenPasted(t *testing.T) {
	c := newChecker(t)
	n, untested := 0, 0
	for _, f := range docFiles(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := blocks(strings.TrimPrefix(f, "../"), string(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			n++
			if b.untested != "" {
				untested++
			}
			for _, p := range c.check(b) {
				t.Errorf("%s:%d (```%s): %s", b.file, b.line, b.info, p)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d blocks: is the extractor broken?", n)
	}
	t.Logf("%d blocks, %d marked untested", n, untested)
}

// TestBrokenBlocksAreCaught is the control: each block below is broken the way a pasted block breaks, and
// the check must report it.
func TestBrokenBlocksAreCaught(t *testing.T) {
	c := newChecker(t)
	for _, tc := range []struct{ name, md, want string }{
		{"inline comment in the wrapper config", "```ini\n[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc   # required\n```\n", "config parser rejects"},
		{"shell syntax error", "```sh\nif true; then echo\n```\n", "bash -n"},
		{"unknown make target", "```sh\nmake synthesize\n```\n", "no such target"},
		{"flag kms-manage-key lacks", "```sh\nkms-manage-key --outputs o.json --key-alias x status\n```\n", "has no flag --key-alias"},
		{"flag of go run ./cmd/X", "```sh\ngo run ./cmd/kmsguard-summary --verbose cdk.out/KmsGuard.template.json\n```\n", "has no flag --verbose"},
		{"missing package", "```sh\ngo test ./internal/nothing\n```\n", "does not exist"},
		{"cdk -c with an unknown key", "```sh\ncdk deploy -c allowedCidr=203.0.113.0/24\n```\n", "config loader rejects"},
		{"cdk -c with a bad value", "```sh\ncdk deploy -c allowedCidrs=10.0.0.0/8\n```\n", "config loader rejects"},
		{"cdk.json with a typo", "```json\n{\"app\": \"go run ./bin\", \"context\": {\"alertEmail\": []}}\n```\n", "config loader rejects"},
		{"unknown program", "```sh\nkms-manage-keys status\n```\n", "not a program"},
		{"env file with export", "```env\nexport AWS_REGION=us-east-1\n```\n", "not KEY=value"},
		{"unmarked output block", "```\nkey: arn:aws:kms:...\n```\n", "no program reads"},
		{"marker without reason", "<!-- untested: -->\n```\nx\n```\n", "without a reason"},
		{"stale generated output", "<!-- output of: iam-kms-wrapper --print-systemd-dropin -->\n```sh\n#!/bin/sh\n```\n", "differs from what"},
	} {
		bs, err := blocks("control.md", tc.md)
		if err != nil || len(bs) != 1 {
			t.Fatalf("%s: %v %d", tc.name, err, len(bs))
		}
		got := strings.Join(c.check(bs[0]), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: want a problem containing %q, got %q", tc.name, tc.want, got)
		}
	}
	// And the controls' fixed versions pass, so the check is not simply rejecting everything.
	for _, md := range []string{
		"```ini\n[kms]\n# required\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\n```\n",
		"```sh\nmake synth && kms-manage-key --outputs o.json status\ncdk synth -c example=true -c allowedCidrs=203.0.113.0/24\n```\n",
		"<!-- untested: sample output -->\n```\nkey: arn:aws:kms:...\n```\n",
	} {
		bs, _ := blocks("control.md", md)
		if p := c.check(bs[0]); len(p) != 0 {
			t.Errorf("a correct block was rejected: %q: %v", md, p)
		}
	}
}

func TestCommandsSplitsLikeAShellReader(t *testing.T) {
	got := fmt.Sprint(commands("A=1 kms-manage-key --key-id x \\\n  status   # note\necho 1 > /run/s && sudo sh -c 'echo 1 > /x'\ncat > f <<'EOF'\nnot a command\nEOF\n"))
	want := "[[A=1 kms-manage-key --key-id x status] [echo 1] [sudo sh -c echo 1 > /x] [cat]]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestSecuritySettingsAreNeverDeployedFromTheCommandLine: no documented `cdk deploy` or `cdk diff` takes
// `-c` (a later plain deploy would drop those settings and the key policy's denies with them), and the
// README says why next to the only place `-c` is shown.
func TestSecuritySettingsAreNeverDeployedFromTheCommandLine(t *testing.T) {
	for _, f := range docFiles(t) {
		raw, _ := os.ReadFile(f)
		bs, err := blocks(f, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.info != "sh" {
				continue
			}
			for _, words := range commands(b.text) {
				if len(words) < 2 || words[0] != "cdk" || (words[1] != "deploy" && words[1] != "diff") {
					continue
				}
				for _, w := range words {
					if w == "-c" || w == "--context" || strings.HasPrefix(w, "--context=") {
						t.Errorf("%s:%d: %q passes configuration on the command line; put it in cdk.json", f, b.line, strings.Join(words, " "))
					}
				}
			}
		}
	}
	readme, _ := os.ReadFile("../README.md")
	if !strings.Contains(string(readme), "the next plain `cdk deploy`") || !strings.Contains(string(readme), "**removes the key policy's\ndeny statements**") {
		t.Error("README does not warn that -c settings vanish on the next plain cdk deploy")
	}
}
