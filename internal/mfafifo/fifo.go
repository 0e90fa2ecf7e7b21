package mfafifo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// MaxMode is the most permissive mode allowed: owner read/write, group write
// (so an operator group can feed codes), nothing for others.
const MaxMode = 0o620

// pollSlice bounds each poll so cancellation is noticed promptly without a
// goroutine blocked in open(2) or read(2).
const pollSlice = 200 * time.Millisecond

// afterMkfifo is a test hook that runs between mkfifo and open, where an
// attacker would try to swap the path.
var afterMkfifo = func(string) {}

// Options sets the FIFO's permission bits (at most MaxMode) and group (-1
// keeps the process's group).
type Options struct {
	Mode uint32
	Gid  int
}

// FIFO is a named pipe this process created. It remembers the device and
// inode it created so it never reads from, or deletes, anything else.
type FIFO struct {
	path     string
	dev, ino uint64
	fd       int
	buf      lineBuffer
}

// Create makes a new FIFO at path with O_EXCL semantics (mkfifo fails on any
// existing entry, symlinks included), verifies with lstat that it is ours,
// opens it without following symlinks and checks the open file is the same
// inode, then sets mode and group through the descriptor.
func Create(path string, opt Options) (*FIFO, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("socket path %q must be absolute", path)
	}
	path = filepath.Clean(path)
	if opt.Mode&^MaxMode != 0 {
		return nil, fmt.Errorf("socket mode %04o is more permissive than %04o", opt.Mode, MaxMode)
	}
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("socket path %s already exists: refusing to use a path this process did not create (if it is left over from a crashed wrapper, check it and remove it)", path)
		}
		return nil, fmt.Errorf("creating socket %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, fmt.Errorf("checking new socket %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Uid != uint32(os.Geteuid()) {
		return nil, fmt.Errorf("socket path %s was replaced right after creation; not touching it", path)
	}
	f := &FIFO{path: path, dev: st.Dev, ino: st.Ino, fd: -1}
	afterMkfifo(path)
	if err := f.open(); err != nil {
		_ = f.remove()
		return nil, err
	}
	if err := f.setPerm(opt); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// Path is the FIFO's location, for messages telling the operator where to write.
func (f *FIFO) Path() string { return f.path }

func (f *FIFO) setPerm(opt Options) error {
	if opt.Gid >= 0 {
		if err := unix.Fchown(f.fd, -1, opt.Gid); err != nil {
			return fmt.Errorf("setting group %d on socket %s: %w", opt.Gid, f.path, err)
		}
	}
	if err := unix.Fchmod(f.fd, opt.Mode); err != nil {
		return fmt.Errorf("setting mode on socket %s: %w", f.path, err)
	}
	return nil
}

// open opens the read end non-blocking, so no goroutine ever hangs in open(2)
// waiting for a writer, and refuses anything but the inode we created.
func (f *FIFO) open() error {
	fd, err := unix.Open(f.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening socket %s: %w", f.path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("checking socket %s: %w", f.path, err)
	}
	if st.Dev != f.dev || st.Ino != f.ino || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return fmt.Errorf("socket path %s was replaced by another file; refusing to read it", f.path)
	}
	f.fd = fd
	return nil
}

// ReadAttempt returns the next attempt: one line written to the FIFO (as
// "echo CODE > socket" writes), or what a writer left without a newline when
// it closed. Invalid input returns an error wrapping ErrInvalidCode; ctx
// cancellation or deadline returns ctx.Err().
func (f *FIFO) ReadAttempt(ctx context.Context) (string, error) {
	chunk := make([]byte, 512)
	for {
		if attempt, overflow, ok := f.buf.next(); ok {
			return parseAttempt(attempt, overflow)
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		// A poll that times out is followed by a read too: a writer that
		// opened while the descriptor was being replaced (below) leaves no
		// hang-up on the new one, and only a read tells that it has gone
		// (EOF) rather than still writing (EAGAIN).
		if err := f.poll(ctx); err != nil {
			return "", err
		}
		eof, err := f.read(chunk)
		if err != nil {
			return "", err
		}
		if !eof {
			continue
		}
		// After the last writer leaves, poll would report POLLHUP forever on
		// this descriptor; a fresh one waits cleanly for the next writer. The
		// fresh one is opened before the old one is closed: a writer that
		// opens the FIFO in between always has a reader, so its write can
		// never fail with a broken pipe, and what it writes waits in the FIFO
		// for the new descriptor.
		old := f.fd
		if err := f.open(); err != nil {
			return "", err
		}
		unix.Close(old)
		if attempt, ok := f.buf.eof(); ok {
			return parseAttempt(attempt, false)
		}
	}
}

// poll waits until the descriptor is readable or hung up, or for at most
// pollSlice (or ctx's deadline), so that cancellation is noticed promptly.
func (f *FIFO) poll(ctx context.Context) error {
	wait := pollSlice
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(dl), 0))
	}
	fds := []unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(wait.Milliseconds()))
	if errors.Is(err, unix.EINTR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("waiting on socket %s: %w", f.path, err)
	}
	if n > 0 && fds[0].Revents&unix.POLLNVAL != 0 {
		return fmt.Errorf("waiting on socket %s: descriptor invalid", f.path)
	}
	return nil
}

// read reads one chunk into the line buffer; eof is true once every writer
// has closed and the pipe is empty.
func (f *FIFO) read(chunk []byte) (eof bool, err error) {
	for {
		n, err := unix.Read(f.fd, chunk)
		switch {
		case n > 0:
			f.buf.write(chunk[:n])
			return false, nil
		case errors.Is(err, unix.EAGAIN):
			return false, nil
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return false, fmt.Errorf("reading socket %s: %w", f.path, err)
		default:
			return true, nil
		}
	}
}

// Close closes the descriptor and removes the path if it is still the FIFO
// this process created. It is safe to call more than once.
func (f *FIFO) Close() error {
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
	return f.remove()
}

func (f *FIFO) remove() error {
	var st unix.Stat_t
	if err := unix.Lstat(f.path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("checking socket %s before removal: %w", f.path, err)
	}
	if st.Dev != f.dev || st.Ino != f.ino {
		return fmt.Errorf("socket path %s now holds another file; left in place", f.path)
	}
	if err := unix.Unlink(f.path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing socket %s: %w", f.path, err)
	}
	return nil
}
