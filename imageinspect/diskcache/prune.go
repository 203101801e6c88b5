package diskcache

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func (c *Cache) pruneDue() bool {
	fi, err := os.Stat(filepath.Join(c.dir, pruneStamp))
	return err != nil || c.now().Sub(fi.ModTime()) > pruneEvery
}

// Prune removes the oldest entries (by modification time) until the cache
// holds at most three quarters of its maximum size, so that it is not
// pruned again at once, and leftover temporary files of runs that died
// mid-write. Entries another run removes meanwhile are no error.
func (c *Cache) Prune() error {
	type entry struct {
		path string
		size int64
		mod  time.Time
	}
	var entries []entry
	var total int64
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == pruneStamp {
			return nil // gone meanwhile, or unreadable: not ours to judge
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			if c.now().Sub(fi.ModTime()) > pruneEvery {
				_ = os.Remove(p)
			}
			return nil
		}
		entries = append(entries, entry{p, fi.Size(), fi.ModTime()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return fmt.Errorf("pruning cache %s: %w", c.dir, err)
	}
	if total > c.maxBytes {
		sort.Slice(entries, func(a, b int) bool { return entries[a].mod.Before(entries[b].mod) })
		for _, e := range entries {
			if total <= c.maxBytes/4*3 {
				break
			}
			if err := os.Remove(e.path); err == nil || os.IsNotExist(err) {
				total -= e.size
			}
		}
	}
	if err := writeAtomic(filepath.Join(c.dir, pruneStamp), nil); err != nil {
		return fmt.Errorf("pruning cache %s: %w", c.dir, err)
	}
	return nil
}
