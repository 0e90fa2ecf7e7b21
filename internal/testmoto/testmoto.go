// Package testmoto starts one moto_server on 127.0.0.1 for a test binary, so
// integration tests talk to real STS and KMS APIs (emulated) through the same
// SDK code paths as production, pointed there with AWS_ENDPOINT_URL.
package testmoto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Credentials moto accepts; they are not secrets.
const (
	AccessKeyID     = "AKIAMOTOTESTLONGTERM"
	SecretAccessKey = "motoTestLongTermSecretKey0000000000000000"
	Region          = "us-east-1"
)

var (
	once    sync.Once
	server  *exec.Cmd
	url     string
	logPath string
	errOnce error
)

// Endpoint returns the URL of the shared moto_server, starting it on first
// use. Without moto_server on PATH the test fails when CI=true (CI must run
// every test) and is skipped otherwise.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() { url, errOnce = start() })
	if errOnce != nil {
		if errors.Is(errOnce, exec.ErrNotFound) && os.Getenv("CI") != "true" {
			t.Skipf("moto_server not on PATH (install moto[server]); integration test skipped: %v", errOnce)
		}
		t.Fatalf("moto_server is required for this integration test (pip install 'moto[server]==5.2.1'): %v", errOnce)
	}
	return url
}

// Stop kills the server by its process group id; call it from TestMain.
func Stop() {
	if server != nil && server.Process != nil {
		syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
		server.Wait()
		server = nil
	}
	if logPath != "" {
		os.Remove(logPath)
	}
}

func start() (string, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", err
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		u, err := launch(bin, port)
		if err == nil {
			return u, nil
		}
		lastErr = err
		Stop()
	}
	return "", lastErr
}

func launch(bin string, port int) (string, error) {
	logf, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return "", err
	}
	logPath = logf.Name()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", fmt.Errorf("starting moto_server: %w", err)
	}
	logf.Close()
	server = cmd
	u := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return u, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	return "", fmt.Errorf("moto_server on port %d did not answer within 30s; its log:\n%s", port, out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

// Config is an SDK config for the test's own setup and checks against moto.
func Config(t testing.TB, endpoint string) aws.Config {
	cfg, err := config.LoadDefaultConfig(context.Background(),
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
