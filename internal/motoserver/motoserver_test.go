package motoserver

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeMoto puts a shell script named moto_server first on PATH.
func fakeMoto(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "moto_server"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// pyMoto plays moto_server -H HOST -p PORT as werkzeug's server does: bind the port (exiting with "Address
// already in use" when it cannot), log " * Running on http://HOST:PORT" to stderr, then serve.
const pyMoto = `exec python3 -c '
import http.server, sys
try:
    s = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), http.server.SimpleHTTPRequestHandler)
except OSError as e:
    print("Address already in use", e, file=sys.stderr); sys.exit(1)
print(" * Running on http://%s:%s" % (sys.argv[1], sys.argv[2]), file=sys.stderr, flush=True)
s.serve_forever()' "$2" "$4"`

func TestStartAnswersOnLoopbackAndStopKills(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	fakeMoto(t, `echo "fake moto $*"; `+pyMoto)
	s, err := Start(Options{ReadyTimeout: 20 * time.Second, StopGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s is not on 127.0.0.1", s.Endpoint())
	}
	if !strings.Contains(s.Log(), "fake moto -H 127.0.0.1 -p ") {
		t.Errorf("log %q lacks the command line", s.Log())
	}
	pid, logPath := s.cmd.Process.Pid, s.logPath
	s.Stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("moto_server pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(logPath); !os.IsNotExist(err) {
		t.Errorf("log %s not removed: %v", logPath, err)
	}
	if resp, err := http.Get(s.Endpoint()); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after Stop", s.Endpoint())
	}
	s.Stop() // a second Stop is harmless
}

func TestStartGivesUpWithTheLog(t *testing.T) {
	fakeMoto(t, `echo "fake moto never listens"; exec sleep 60`)
	start := time.Now()
	_, err := Start(Options{ReadyTimeout: 500 * time.Millisecond, Attempts: 2})
	var nr *NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("Start: %v, want a NotReadyError", err)
	}
	if nr.Port == 0 || nr.Within != 500*time.Millisecond || !strings.Contains(nr.Log, "fake moto never listens") || !strings.Contains(nr.Err.Error(), "timed out") {
		t.Errorf("NotReadyError %+v", nr)
	}
	if want := "did not answer within 500ms; its log:\nfake moto never listens"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if time.Since(start) < time.Second {
		t.Errorf("gave up after %v: not two attempts of 500ms", time.Since(start))
	}
}

func TestStartWithoutMotoServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Start(Options{}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Start without moto_server: %v, want exec.ErrNotFound", err)
	}
}

// A port taken by another program between Start choosing it and moto_server binding it must not pass for
// a ready server: moto_server exits, the other program answers, and tests would share (and reset) another
// test binary's emulator. Start launches again on another port. Control: readiness by an HTTP answer alone
// returns the taken port's endpoint.
func TestStartDoesNotMistakeAnotherServerOnItsPortForItself(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	taken := other.Listener.Addr().(*net.TCPAddr).Port
	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return taken, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
	fakeMoto(t, pyMoto)
	s, err := Start(Options{ReadyTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Endpoint() == other.URL || picks != 2 {
		t.Fatalf("Start returned %s after %d launches; want a second launch away from the taken %s", s.Endpoint(), picks, other.URL)
	}
	if !strings.Contains(s.Log(), runningMarker(portOf(t, s.Endpoint()))) {
		t.Errorf("log %q lacks the running marker", s.Log())
	}
}

// A moto_server that exits is reported at once as having exited, with its log, not after the timeout.
func TestStartReportsAnExitAtOnce(t *testing.T) {
	fakeMoto(t, `echo "Address already in use"; exit 1`)
	start := time.Now()
	_, err := Start(Options{ReadyTimeout: 20 * time.Second, Attempts: 2})
	var nr *NotReadyError
	if !errors.As(err, &nr) || !nr.Exited || !strings.Contains(err.Error(), "exited before it answered; its log:\nAddress already in use") {
		t.Fatalf("Start: %v, want a NotReadyError for an exit, with the log", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v: waited for the timeout instead of noticing the exit", time.Since(start))
	}
}

func portOf(t *testing.T, endpoint string) int {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
