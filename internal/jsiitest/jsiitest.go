// Package jsiitest ends the test binaries that link the CDK packages.
//
// jsii's Go runtime unpacks its Node program into a new temporary directory (about 2 MB) as soon as a
// program that links a CDK package starts (the packages register their types while they initialise), and
// removes it only in jsii.Close. A test binary that never calls Close leaves that directory behind on every
// `go test`, whether or not its tests build anything: on a developer's machine they pile up in the
// temporary directory by the hundred.
package jsiitest

import (
	"os"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/jsiikernel"
)

// Main is a package's TestMain: it starts jsii's kernel as the app does (internal/jsiikernel), runs the
// tests, closes jsii (which removes its temporary directory and stops its Node process, if a test started
// one) and exits with the tests' status.
func Main(m *testing.M) {
	jsiikernel.Use()
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}
