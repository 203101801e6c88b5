//go:build unix

package workload

import (
	"io/fs"
	"syscall"
)

// idOf is the device and inode of info: the same for every symbolic link
// and bind mount leading to a directory, which is what ends a loop.
func idOf(path string, info fs.FileInfo) fileID {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		// Conversions: the field types differ between systems.
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{path: realPath(path)}
}
