package motoserver

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

func TestStartAnswersOnLoopbackAndStopKills(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	// moto_server -H HOST -p PORT, played by a static HTTP server.
	fakeMoto(t, `echo "fake moto $*"; exec python3 -m http.server --bind "$2" "$4"`)
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
