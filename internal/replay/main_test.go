package replay

import (
	"testing"

	"github.com/kmsguard/kmsguard/internal/testmoto"
)

func TestMain(m *testing.M) {
	testmoto.Main(m)
}
