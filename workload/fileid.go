package workload

import "path/filepath"

// fileID identifies a file or directory whatever path leads to it: its
// device and inode where the system has them, else its real path.
type fileID struct {
	dev, ino uint64
	path     string
}

// realPath is path with every symbolic link resolved, or path cleaned when
// it cannot be resolved.
func realPath(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if p, err := filepath.Abs(path); err == nil {
		return p
	}
	return filepath.Clean(path)
}
