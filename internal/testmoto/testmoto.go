// Package testmoto starts one moto_server on 127.0.0.1 for a test binary, so
// integration tests talk to real STS and KMS APIs (emulated) through the same
// SDK code paths as production, pointed there with AWS_ENDPOINT_URL.
package testmoto

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/motoserver"
)

// Credentials moto accepts; they are not secrets.
const (
	AccessKeyID     = "AKIAMOTOTESTLONGTERM"
	SecretAccessKey = "motoTestLongTermSecretKey0000000000000000"
	Region          = "us-east-1"
)

var (
	once    sync.Once
	server  *motoserver.Server
	errOnce error
)

// Endpoint returns the URL of the shared moto_server, starting it on first
// use (three launches at most, each waiting 30s for an answer). Without
// moto_server on PATH the test fails when CI=true (CI must run every test)
// and is skipped otherwise.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		server, errOnce = motoserver.Start(motoserver.Options{ReadyTimeout: 30 * time.Second, Attempts: 3})
	})
	if errOnce != nil {
		if errors.Is(errOnce, exec.ErrNotFound) && os.Getenv("CI") != "true" {
			t.Skipf("moto_server not on PATH (install moto[server]); integration test skipped: %v", errOnce)
		}
		t.Fatalf("moto_server is required for this integration test (pip install 'moto[server]==5.2.1'): %v", errOnce)
	}
	return server.Endpoint()
}

// Stop kills the server by its process group id; call it from TestMain.
func Stop() {
	server.Stop()
	server = nil
}

// Main is the TestMain of a package whose tests use the shared server: it
// runs the tests, stops the server (a moto_server left running would outlive
// the test binary), closes jsii (a test binary that links the CDK packages
// has its runtime unpacked in a temporary directory that only Close removes;
// see internal/jsiitest) and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	jsii.Close()
	os.Exit(code)
}

// Env is a clean environment for a tool run against moto: no shared config
// from the machine, the endpoint, a region and moto's long-term keys.
func Env(t testing.TB, endpoint string) []string {
	dir := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Config is an SDK config for the test's own setup and checks against moto. It logs each retry (to
// stderr, which go test shows for a failing package): a retried create whose first attempt moto carried
// out fails with "already exists", and the log then says why.
func Config(t testing.TB, endpoint string) aws.Config {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithClientLogMode(aws.LogRetries),
		config.WithRegion(Region),
		config.WithBaseEndpoint(endpoint),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
