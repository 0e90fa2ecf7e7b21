//go:build unix

package jsiikernel

import (
	"os"
	"syscall"
)

// ownedByMe reports whether the file belongs to the user the program runs as.
func ownedByMe(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
