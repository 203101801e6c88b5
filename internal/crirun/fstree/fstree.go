// Package fstree lists a directory tree with what a copy must preserve:
// type, permission bits, owner, size and link target. The runtime tests list
// a host directory (an anonymous volume) and the same path inside a container
// with it, so both sides are described by one function.
package fstree

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Entry types.
const (
	Dir     = "dir"
	File    = "file"
	Symlink = "symlink"
	Other   = "other" // devices, pipes, sockets: named, never compared further
)

// Entry is one file system object, relative to the listed root ("." is the root itself).
type Entry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   string `json:"mode"` // octal permission bits with setuid, setgid and sticky: "0750", "1777"
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Size   int64  `json:"size,omitempty"`   // regular files only: a directory's size depends on the file system
	Target string `json:"target,omitempty"` // symlinks only
}

// List walks root without following symlinks and returns every entry,
// the root first, in lexical order.
func List(root string) ([]Entry, error) {
	var entries []Entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return fmt.Errorf("relating %s to %s: %w", path, root, err)
		}
		e, err := describe(path, info)
		if err != nil {
			return err
		}
		e.Path = rel
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	return entries, nil
}

func describe(path string, info fs.FileInfo) (Entry, error) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Entry{}, fmt.Errorf("reading the owner of %s: no stat_t", path)
	}
	e := Entry{Mode: fmt.Sprintf("%04o", st.Mode&0o7777), UID: st.Uid, GID: st.Gid}
	switch {
	case info.IsDir():
		e.Type = Dir
	case info.Mode().IsRegular():
		e.Type, e.Size = File, info.Size()
	case info.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return Entry{}, fmt.Errorf("reading link %s: %w", path, err)
		}
		e.Type, e.Target = Symlink, target
	default:
		e.Type = Other
	}
	return e, nil
}
