package mfafifo

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CheckDir refuses a directory (or any ancestor) in which another user could
// replace or rename the FIFO: every component must be owned by root or by us,
// and a group- or world-writable one must have the sticky bit (like /tmp), so
// that others can neither delete nor rename entries they do not own.
func CheckDir(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	euid := uint32(os.Geteuid())
	for p := real; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("socket directory %s: %w", p, &os.PathError{Op: "lstat", Path: p, Err: err})
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("socket directory %s: not a directory", p)
		}
		if st.Uid != 0 && st.Uid != euid {
			return fmt.Errorf("socket directory %s is owned by uid %d, not root or this user (uid %d): another user could replace the socket", p, st.Uid, euid)
		}
		if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
			return fmt.Errorf("socket directory %s is group- or world-writable without the sticky bit (mode %04o): another user could replace the socket; use a private directory such as /run/kms-mfa", p, st.Mode&0o7777)
		}
		if p == "/" || p == filepath.Dir(p) {
			return nil
		}
	}
}

// SharedDir reports whether dir is writable by others (a sticky dir such as
// /tmp), where anyone may pre-create the path and fs.protected_fifos may stop
// root's "echo > socket"; the caller warns and recommends a private directory.
func SharedDir(dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false
	}
	return st.Mode&0o022 != 0
}
