package respolicy

import (
	"testing"

	"github.com/kmsguard/kmsguard/internal/jsiitest"
)

// TestMain removes jsii's temporary directory after the tests (internal/jsiitest).
func TestMain(m *testing.M) { jsiitest.Main(m) }
