package replay

import (
	"os"
	"testing"

	"github.com/kmsguard/kmsguard/internal/testmoto"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testmoto.Stop()
	os.Exit(code)
}
