package jsiikernel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestInstallChangesOnlyWhatItsPatchesSay(t *testing.T) {
	dir, err := Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	installed, err := os.ReadFile(filepath.Join(dir, "program.js"))
	if err != nil {
		t.Fatal(err)
	}
	vendored, err := kernelFiles.ReadFile("kernel/program.js")
	if err != nil {
		t.Fatal(err)
	}
	// The installed kernel is the vendored one with each patch's text changed, and nothing else.
	want := string(vendored)
	for _, p := range patches {
		want = strings.Replace(want, p.from, p.to, 1)
		if strings.Contains(string(installed), p.from) || !strings.Contains(string(installed), p.to) {
			t.Errorf("the installed kernel must hold %.60s... in place of %.60s...", p.to, p.from)
		}
	}
	if string(installed) != want || len(patches) != 2 {
		t.Errorf("program.js must be installed with its %d patches made and nothing else changed", len(patches))
	}
	// Controls: a kernel without a patch's text, or with it twice, is refused, not half patched.
	for _, p := range patches {
		for _, program := range [][]byte{bytes.Replace(vendored, []byte(p.from), nil, 1), append(bytes.Clone(vendored), p.from...)} {
			if _, err := patchProgram(program); err == nil || !strings.Contains(err.Error(), "not once") {
				t.Errorf("control: a kernel that does not hold %.40s... once must be refused: %v", p.from, err)
			}
		}
	}
}

// A stand-in for program.js that asks for one package's digest as the patched kernel does (the tarball,
// then its name and version, from the environment; jsii's cache holds a copy by any digest when CACHED
// is 1) and answers with the digest and whether it was computed.
const digestStub = `const fs = require('fs'), crypto = require('crypto');
const { TARBALL, NAME, VERSION, CACHED } = process.env;
let computed = false;
const digest = globalThis.kmsguardDigestFile(TARBALL, [NAME, VERSION], () => {
  computed = true;
  return crypto.createHash('sha256').update(fs.readFileSync(TARBALL)).update('\0' + NAME).update('\0' + VERSION).digest();
}, (d) => Buffer.isBuffer(d) && CACHED === '1');
fs.writeSync(3, JSON.stringify({ computed, digest: digest.toString('hex') }));
`

func TestTheKernelKeepsEachBuildsPackageDigests(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on the PATH: make puts node_modules/.bin on it")
	}
	dir := kernelDir(t, kernelJS(t), digestStub)
	if err := os.Mkdir(filepath.Join(dir, "digests"), 0o700); err != nil { // as Install makes it
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "pkg.tgz")
	real := func(content string) string {
		h := sha256.New()
		h.Write([]byte(content + "\x00pkg\x001.0.0"))
		return hex.EncodeToString(h.Sum(nil))
	}
	type answer struct {
		Computed bool
		Digest   string
	}
	cached := "1"
	ask := func(key, content string) answer {
		t.Helper()
		if err := os.WriteFile(tarball, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(shell, "-c", Command("node", dir, key, false, ""))
		cmd.Env = append(os.Environ(), "TARBALL="+tarball, "NAME=pkg", "VERSION=1.0.0", "CACHED="+cached)
		out, err := cmd.Output()
		var a answer
		if err != nil || json.Unmarshal(out, &a) != nil {
			t.Fatalf("kernel: %v: %s", err, out)
		}
		return a
	}
	keyA, keyB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	memo := filepath.Join(dir, "digests", keyA+".json")
	for _, step := range []struct {
		what, key, content string
		computed           bool
	}{
		{"a build's first start computes the digest", keyA, "package one", true},
		{"its next start has it kept", keyA, "package one", false},
		{"another build computes its own", keyB, "package one", true},
		{"a package of another size is computed again", keyA, "package two!", true},
		{"and kept in turn", keyA, "package two!", false},
		{"without a key nothing is kept", "", "package one", true},
		{"without a key nothing is kept, twice", "", "package one", true},
		{"a key that is not one is no key", "../../etc/x", "package one", true},
		{"a key that is not one is no key, twice", "../../etc/x", "package one", true},
	} {
		a := ask(step.key, step.content)
		if a.Computed != step.computed || a.Digest != real(step.content) {
			t.Errorf("%s: computed %v (want %v), digest %s (want %s)", step.what, a.Computed, step.computed, a.Digest, real(step.content))
		}
	}
	if info, err := os.Stat(memo); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the kept digests are the user's alone: %v", err)
	}
	if others, _ := filepath.Glob(filepath.Join(dir, "digests", "*")); len(others) != 2 {
		t.Errorf("one file per build, and no temporary file left: %v", others)
	}
	// A damaged file is computed through and mended.
	for _, damaged := range []string{"not json", "[]", "null", `{"pkg@1.0.0": {"size": 12, "sha256": "zz"}}`} {
		if err := os.WriteFile(memo, []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		if a := ask(keyA, "package two!"); !a.Computed || a.Digest != real("package two!") {
			t.Errorf("a kept file holding %q must be computed through: %+v", damaged, a)
		}
		if a := ask(keyA, "package two!"); a.Computed {
			t.Errorf("and mended after %q", damaged)
		}
	}
	// A kept digest jsii's cache holds no copy by (pruned, or never right) is computed again and mended.
	cached = "0"
	if a := ask(keyA, "package two!"); !a.Computed || a.Digest != real("package two!") {
		t.Errorf("a digest jsii has no copy by must be computed again: %+v", a)
	}
	// What the key trusts: a package changed in place with the same size under the same key gets the kept
	// digest while jsii holds a copy by it. The key fixes the bytes (buildKey).
	cached = "1"
	if a := ask(keyA, "package tw0!"); a.Computed || a.Digest != real("package two!") {
		t.Errorf("the kept digest answers for its build's package: %+v", a)
	}
}

func TestBuildKeyNamesEveryModuleByItsChecksum(t *testing.T) {
	build := func(edit func(*debug.BuildInfo)) string {
		bi := &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "github.com/aws/aws-cdk-go/awscdk/v2", Version: "v2.276.0", Sum: "h1:cdk="},
			{Path: "github.com/aws/jsii-runtime-go", Version: "v1.142.0", Sum: "h1:jsii="},
		}}
		if edit != nil {
			edit(bi)
		}
		return buildKey(bi, true)
	}
	base := build(nil)
	if len(base) != 64 || base != build(nil) {
		t.Fatalf("a build's key is a digest, the same every time: %q", base)
	}
	for _, tc := range []struct {
		what string
		edit func(*debug.BuildInfo)
		same bool // the key stays base
		none bool // there is no key
	}{
		{"another checksum", func(bi *debug.BuildInfo) { bi.Deps[0].Sum = "h1:other=" }, false, false},
		{"another version", func(bi *debug.BuildInfo) { bi.Deps[1].Version = "v1.143.0" }, false, false},
		{"one more module", func(bi *debug.BuildInfo) {
			bi.Deps = append(bi.Deps, &debug.Module{Path: "example.com/m", Version: "v1.0.0", Sum: "h1:m="})
		}, false, false},
		{"a replacement with its checksum", func(bi *debug.BuildInfo) {
			bi.Deps[0].Replace = &debug.Module{Path: "example.com/fork", Version: "v2.276.0", Sum: "h1:fork="}
		}, false, false},
		{"a module without a checksum", func(bi *debug.BuildInfo) { bi.Deps[1].Sum = "" }, false, true},
		{"a directory replacement", func(bi *debug.BuildInfo) { bi.Deps[0].Replace = &debug.Module{Path: "../awscdk"} }, false, true},
		{"no modules", func(bi *debug.BuildInfo) { bi.Deps = nil }, false, true},
		{"the main module's version (control)", func(bi *debug.BuildInfo) { bi.Main.Version = "v9.9.9" }, true, false},
	} {
		key := build(tc.edit)
		if tc.none != (key == "") || tc.same != (key == base) {
			t.Errorf("%s: key %q (base %q)", tc.what, key, base)
		}
	}
	if buildKey(nil, false) != "" {
		t.Error("without build information there is no key")
	}
	// The app, built from its modules, has one: TestTheDirectKernelSynthesizesWhatTheRelayDoes (test/).
}

// embedsJsiiPackage reports whether a file of the main module would hand jsii a package of its own: a
// tarball, or a call of jsii-runtime-go's runtime.Load.
func embedsJsiiPackage(name string, content []byte) bool {
	if strings.HasSuffix(name, ".tgz") {
		return true
	}
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && bytes.Contains(content, []byte(`"github.com/aws/jsii-runtime-go/runtime"`)) &&
		regexp.MustCompile(`\.Load\(`).Match(content)
}

// The build key names the modules kmsguard depends on, not kmsguard itself, whose version a local build
// does not fix: so kmsguard must embed no jsii package of its own, or a kept digest could answer for a
// changed one (docs/checks.md, "Package digests kept per build").
func TestTheMainModuleEmbedsNoJsiiPackage(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".go") && !strings.HasSuffix(d.Name(), ".tgz") {
			return nil
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if embedsJsiiPackage(d.Name(), content) {
			t.Errorf("%s hands jsii a package of kmsguard's own: add the main module to buildKey first", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Controls: a tarball, and the call every jsii package's Go binding makes, are caught.
	load := []byte("import _jsii_ \"github.com/aws/jsii-runtime-go/runtime\"\nfunc Initialize() { _jsii_.Load(\"p\", \"1.0.0\", tarball) }\n")
	if !embedsJsiiPackage("p-1.0.0.tgz", nil) || !embedsJsiiPackage("jsii.go", load) {
		t.Error("control: a jsii package went unnoticed")
	}
}
