package stacks

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryKey keeps the README's configuration table and the parser in step: a key the
// README does not explain is a key nobody will set right.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(raw)
	start := strings.Index(section, "## Configuration")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	section = section[start:]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	if !reflect.DeepEqual(documented, ConfigKeys()) {
		t.Fatalf("README configuration table lists %v, the parser knows %v (same order)", documented, ConfigKeys())
	}
	defaults := DefaultConfig()
	for key, want := range map[string]string{"stackName": defaults.StackName, "adminUserName": defaults.AdminUserName,
		"serverUserName": defaults.ServerUserName, "keyAlias": defaults.KeyAlias, "trailName": defaults.TrailName,
		"objectLockMode": defaults.ObjectLockMode} {
		if !strings.Contains(section, "| `"+key+"` | `"+want+"` |") {
			t.Errorf("README default of %s is not `%s`", key, want)
		}
	}
}
