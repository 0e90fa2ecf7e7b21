package jsiitest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestBinaryThatLinksTheCDKClosesJsii: every package whose test binary links a CDK package has a
// TestMain that closes jsii (Main here, testmoto.Main, or jsii.Close itself), so that no `go test` leaves
// jsii's runtime directory behind. A new test package that forgets it fails here, not on a developer's disk.
func TestEveryTestBinaryThatLinksTheCDKClosesJsii(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f",
		`{{if .ForTest}}{{.Dir}}{{"\t"}}{{join .Deps " "}}{{end}}`, "github.com/kmsguard/kmsguard/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		dir, deps, ok := strings.Cut(line, "\t")
		if ok && strings.Contains(deps, "github.com/aws/aws-cdk-go/") {
			dirs[dir] = true
		}
	}
	// The suite's own CDK packages: if none were found, the listing above is broken, not the packages.
	if len(dirs) < 5 {
		t.Fatalf("found %d test packages linking the CDK; the go list query no longer finds them", len(dirs))
	}
	for dir := range dirs {
		closes, err := closesJsii(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !closes {
			t.Errorf("%s: its tests link the CDK packages but no TestMain closes jsii; add `func TestMain(m *testing.M) { jsiitest.Main(m) }`", dir)
		}
	}
}

// TestTheCheckFindsATestMainThatDoesNotClose is the control of the test above: a TestMain that only runs
// the tests is reported, one that calls Main is not, and neither is one that closes jsii itself.
func TestTheCheckFindsATestMainThatDoesNotClose(t *testing.T) {
	for src, want := range map[string]bool{
		"package p\nimport (\"os\"; \"testing\")\nfunc TestMain(m *testing.M) { os.Exit(m.Run()) }\n":                                   false,
		"package p\nimport \"testing\"\nfunc TestOther(t *testing.T) {}\n":                                                              false,
		"package p\nimport (\"testing\"; \"x/jsiitest\")\nfunc TestMain(m *testing.M) { jsiitest.Main(m) }\n":                           true,
		"package p\nimport (\"os\"; \"testing\"; \"x/jsii\")\nfunc TestMain(m *testing.M) { c := m.Run(); jsii.Close(); os.Exit(c) }\n": true,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := closesJsii(dir)
		if err != nil || got != want {
			t.Errorf("closesJsii(%q) = %v, %v; want %v", src, got, err, want)
		}
	}
}

// closesJsii reports whether a TestMain among dir's test files calls Main, testmoto.Main or jsii.Close.
func closesJsii(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return false, err
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			return false, err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "TestMain" || fn.Body == nil {
				continue
			}
			found := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok {
					switch x.Name + "." + sel.Sel.Name {
					case "jsiitest.Main", "testmoto.Main", "jsii.Close":
						found = true
					}
				}
				return !found
			})
			if found {
				return true, nil
			}
		}
	}
	return false, nil
}
