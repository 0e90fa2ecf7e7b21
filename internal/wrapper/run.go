package wrapper

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kmsguard/kmsguard/internal/awsclient"
	"github.com/kmsguard/kmsguard/internal/mfafifo"
)

// Execer replaces the current process; production uses syscall.Exec, tests a
// fake, so no test ever replaces the test process.
type Execer interface {
	Exec(path string, argv, env []string) error
}

// Deps are the wrapper's contacts with the outside world.
type Deps struct {
	STS         awsclient.SessionTokenGetter
	Exec        Execer
	LookPath    func(file string) (string, error)
	LookupGroup func(name string) (int, error)
	Environ     []string
	Log         *log.Logger
}

// Exit codes, so systemd's journal and scripts can tell failures apart.
const (
	ExitFailure    = 1
	ExitUsage      = 2
	ExitExecFailed = 126
	ExitNoCommand  = 127
)

// ExitError carries the exit code that Main should return for an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// stsTimeout bounds the GetSessionToken call, retries included.
const stsTimeout = time.Minute

// Run checks the command, waits for a valid MFA code on a fresh FIFO, gets a
// session, and execs argv with it. The FIFO is gone before exec, since exec
// skips deferred calls. Run only returns on failure.
func Run(ctx context.Context, cfg Config, argv []string, d Deps) error {
	if len(argv) == 0 {
		return &ExitError{ExitUsage, errors.New("no command to run: iam-kms-wrapper --config=FILE /usr/sbin/mysqld [ARGS...]")}
	}
	path, err := d.LookPath(argv[0])
	if err != nil {
		return &ExitError{ExitNoCommand, fmt.Errorf("command %q cannot be run: %w", argv[0], err)}
	}
	opt := mfafifo.Options{Mode: 0o600, Gid: -1}
	if cfg.SocketGroup != "" {
		if opt.Gid, err = lookupGid(cfg.SocketGroup, d.LookupGroup); err != nil {
			return &ExitError{ExitUsage, err}
		}
		opt.Mode = mfafifo.MaxMode
	}
	sess, err := obtainSession(ctx, cfg, opt, d)
	if err != nil {
		return err
	}
	d.Log.Printf("starting %s with MFA session credentials valid until %s", path, sess.Expiration.UTC().Format(time.RFC3339))
	if err := d.Exec.Exec(path, argv, BuildEnv(d.Environ, sess, cfg.Region)); err != nil {
		return &ExitError{ExitExecFailed, fmt.Errorf("exec %s: %w", path, err)}
	}
	return &ExitError{ExitExecFailed, fmt.Errorf("exec %s returned without error", path)}
}

func lookupGid(group string, lookup func(string) (int, error)) (int, error) {
	if n, err := strconv.Atoi(group); err == nil {
		return n, nil
	}
	gid, err := lookup(group)
	if err != nil {
		return 0, fmt.Errorf("socket_group %q: %w", group, err)
	}
	return gid, nil
}

// obtainSession owns the FIFO for its whole life: created here, removed here
// on every return path, including timeout and cancellation by a signal.
func obtainSession(ctx context.Context, cfg Config, opt mfafifo.Options, d Deps) (awsclient.Session, error) {
	f, err := mfafifo.Create(cfg.Socket, opt)
	if err != nil {
		return awsclient.Session{}, err
	}
	defer func() {
		if err := f.Close(); err != nil {
			d.Log.Printf("warning: %v", err)
		}
	}()
	if mfafifo.SharedDir(filepath.Dir(cfg.Socket)) {
		d.Log.Printf("warning: %s is in a directory shared with other users; anyone there can block the wrapper by pre-creating the path, and fs.protected_fifos may stop writers other than the owner; use /run/kms-mfa/socket", cfg.Socket)
	}
	waitCtx, cancel := context.WithTimeout(ctx, cfg.WaitTimeout)
	defer cancel()
	for try := 1; try <= cfg.MaxTries; try++ {
		d.Log.Printf("waiting for MFA code (try %d of %d, %s left): echo CODE > %s", try, cfg.MaxTries, remaining(waitCtx), f.Path())
		code, err := f.ReadAttempt(waitCtx)
		switch {
		case errors.Is(err, mfafifo.ErrInvalidCode):
			d.Log.Printf("try %d of %d rejected: %v", try, cfg.MaxTries, err)
			continue
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return awsclient.Session{}, fmt.Errorf("timed out after %s waiting for an MFA code on %s", cfg.WaitTimeout, f.Path())
		case errors.Is(err, context.Canceled) || ctx.Err() != nil:
			return awsclient.Session{}, fmt.Errorf("stopped by signal while waiting for an MFA code: %w", context.Cause(ctx))
		case err != nil:
			return awsclient.Session{}, err
		}
		sess, err := getSession(ctx, d.STS, cfg, code)
		if err == nil {
			return sess, nil
		}
		if awsclient.Classify(err) != awsclient.KindWrongMFA {
			return awsclient.Session{}, fmt.Errorf("getting session credentials: %s", awsclient.Explain(err, code))
		}
		d.Log.Printf("try %d of %d: %s", try, cfg.MaxTries, awsclient.Explain(err, code))
	}
	return awsclient.Session{}, fmt.Errorf("no accepted MFA code after %d tries", cfg.MaxTries)
}

func getSession(ctx context.Context, c awsclient.SessionTokenGetter, cfg Config, code string) (awsclient.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, stsTimeout)
	defer cancel()
	return awsclient.GetSession(ctx, c, cfg.MFASerial, code, int32(cfg.SessionDuration/time.Second))
}

func remaining(ctx context.Context) time.Duration {
	dl, _ := ctx.Deadline()
	return time.Until(dl).Round(time.Second)
}
