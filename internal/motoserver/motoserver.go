// Package motoserver runs moto_server (an AWS emulator) for a process: on 127.0.0.1 and a free port, its
// output in a temporary log file, ready once it answers HTTP, stopped by pid (its process group). It serves
// internal/testmoto (integration tests) and scripts/demo/emulator (make demo, TestEmulatorDeploy).
package motoserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options tune Start; the zero value is valid.
type Options struct {
	// ReadyTimeout is how long one launch waits for moto_server to answer (default 30s).
	ReadyTimeout time.Duration
	// Attempts is how many launches, each on a new free port, Start makes before it gives up (default 3).
	// A launch fails when moto_server does not answer in time, or when it exits first: most often because
	// another program took the free port between Start choosing it and moto_server binding it.
	Attempts int
	// StopGrace makes Stop send SIGTERM and wait this long before SIGKILL; zero kills at once.
	StopGrace time.Duration
	// LogPattern names the temporary log file, as for os.CreateTemp (default "moto-*.log").
	LogPattern string
}

// Server is a running moto_server.
type Server struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has exited (a goroutine waits for it from launch on)
	url     string
	logPath string
	grace   time.Duration
}

// NotReadyError is returned by Start when moto_server started but was not ready: it did not answer in
// time, or it exited first.
type NotReadyError struct {
	Port   int
	Within time.Duration
	Exited bool   // moto_server exited before it was ready (most often: the port was taken)
	Err    error  // "timed out", joined with the last failed check; or errExited
	Log    string // moto_server's log
}

func (e *NotReadyError) Error() string {
	if e.Exited {
		return fmt.Sprintf("moto_server on port %d exited before it answered; its log:\n%s", e.Port, e.Log)
	}
	return fmt.Sprintf("moto_server on port %d did not answer within %v; its log:\n%s", e.Port, e.Within, e.Log)
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// Start launches moto_server from PATH and returns once it answers. Without moto_server on PATH the error
// is exec.LookPath's (errors.Is exec.ErrNotFound). A launch that fails is stopped and, while Attempts
// allow, retried on another port; the last launch's error is returned. Call Stop.
func Start(opts Options) (*Server, error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.LogPattern == "" {
		opts.LogPattern = "moto-*.log"
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range opts.Attempts {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		s, err := launch(bin, port, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launch(bin string, port int, opts Options) (*Server, error) {
	logf, err := os.CreateTemp("", opts.LogPattern)
	if err != nil {
		return nil, err
	}
	s := &Server{url: "http://127.0.0.1:" + strconv.Itoa(port), logPath: logf.Name(), grace: opts.StopGrace}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.Stop()
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	logf.Close()
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(port, opts.ReadyTimeout); err != nil {
		nr := &NotReadyError{Port: port, Within: opts.ReadyTimeout, Exited: errors.Is(err, errExited), Err: err, Log: s.Log()}
		s.Stop()
		return nil, nr
	}
	return s, nil
}

// Endpoint is the server's URL, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return s.url }

// Log returns moto_server's output so far (for failure messages); empty after Stop.
func (s *Server) Log() string {
	if s == nil {
		return ""
	}
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Stop kills moto_server by its process group id (SIGTERM first when Options.StopGrace is set), waits for
// it and removes its log. It may be called more than once, and on a nil Server.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	if s.cmd != nil && s.cmd.Process != nil {
		pgid := -s.cmd.Process.Pid
		if s.grace > 0 {
			syscall.Kill(pgid, syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(s.grace):
			}
		}
		// SIGKILL the group even when moto_server itself has exited: a child of it may not have.
		syscall.Kill(pgid, syscall.SIGKILL)
		<-s.exited
		s.cmd = nil
	}
	if s.logPath != "" {
		os.Remove(s.logPath)
	}
}

// runningMarker is what moto_server (werkzeug's development server) writes to its log once it has bound
// its port: " * Running on http://127.0.0.1:PORT". An HTTP answer alone does not show that: when another
// program took the port first, moto_server exits ("Address already in use") and that program answers.
// Tests that then shared another test binary's moto_server would reset each other's state.
func runningMarker(port int) string { return "Running on http://127.0.0.1:" + strconv.Itoa(port) }

// waitReady waits until this launch's moto_server has logged that it bound port and answers HTTP on it.
// It fails at once if the process exits.
func (s *Server) waitReady(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	marker := runningMarker(port)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errExited
		default:
		}
		if strings.Contains(s.Log(), marker) {
			resp, err := http.Get(s.url + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				return nil
			}
			last = err
		} else {
			last = fmt.Errorf("no %q in its log yet", marker)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(errors.New("timed out"), last)
}

// errExited is waitReady's error when moto_server exits before it is ready.
var errExited = errors.New("moto_server exited before it was ready")

// pickPort chooses the port of a launch; a variable so a test can hand out a port already taken.
var pickPort = freePort

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
