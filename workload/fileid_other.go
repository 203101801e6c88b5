//go:build !unix

package workload

import "io/fs"

// idOf is the real path of info, the same for every symbolic link leading
// to a directory, which is what ends a loop.
func idOf(path string, _ fs.FileInfo) fileID {
	return fileID{path: realPath(path)}
}
