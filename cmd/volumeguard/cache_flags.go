package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/diskcache"
	"github.com/volumeguard/volumeguard/workload"
)

// cacheOptions are the flags of the persistent image cache that the
// one-shot commands (check, fix, audit, inspect) share; serve keeps its
// cache in memory.
type cacheOptions struct {
	dir     string
	tagTTL  time.Duration
	noCache bool
	offline bool
}

// defaultCacheDir is $XDG_CACHE_HOME/volumeguard/images (~/.cache/... on
// Linux, ~/Library/Caches/... on macOS), or none when the system has no
// cache directory (no HOME).
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "volumeguard", "images")
}

func (o *cacheOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.dir, "cache-dir", defaultCacheDir(),
		"directory of the persistent cache: image manifests and configs by digest, what tags resolved to, definite content scans, and (check) decoded manifest files by content; empty: no cache")
	fs.DurationVar(&o.tagTTL, "tag-ttl", diskcache.DefaultTagTTL,
		"how long a cached tag is trusted without asking its registry (digests never expire); 0: always ask")
	fs.BoolVar(&o.noCache, "no-cache", false, "neither read nor write the persistent image cache")
	fs.BoolVar(&o.offline, "offline", false,
		"send no registry request: answer from the cache alone, however old its tags; an image it lacks is an error (exit 2)")
}

// validate reports the cache flags' problems.
func (o *cacheOptions) validate() error {
	var errs []error
	if o.tagTTL < 0 {
		errs = append(errs, fmt.Errorf("--tag-ttl must not be negative, not %s", o.tagTTL))
	}
	if o.offline && (o.noCache || o.dir == "") {
		errs = append(errs, errors.New("--offline needs the cache: drop --no-cache, or set --cache-dir"))
	}
	return errors.Join(errs...)
}

// objectCache opens the cache of decoded manifests in the cache
// directory, or returns nil without a cache. Its entries belong to this
// build of volumeguard: its version and its executable's size and time, so
// that a rebuilt development binary never reads what another decoded.
func (o *cacheOptions) objectCache() *workload.ObjectCache {
	if o.noCache || o.dir == "" {
		return nil
	}
	build := version
	if exe, err := os.Executable(); err == nil {
		if info, err := os.Stat(exe); err == nil {
			build = fmt.Sprintf("%s %d %d", version, info.Size(), info.ModTime().UnixNano())
		}
	}
	return workload.OpenObjectCache(filepath.Join(o.dir, workload.ObjectCacheFile), build)
}

// inspectorOptions opens the cache. A cache that cannot be opened (a
// read-only home in a CI container) costs a note and registry requests,
// not the run, unless the run is offline.
func (o *cacheOptions) inspectorOptions(stderr io.Writer) ([]imageinspect.Option, error) {
	if o.noCache || o.dir == "" {
		return nil, nil
	}
	c, err := diskcache.Open(o.dir, diskcache.WithTagTTL(o.tagTTL))
	if err != nil {
		if o.offline {
			return nil, err
		}
		fmt.Fprintf(stderr, "note: not caching images: %v\n", err)
		return nil, nil
	}
	opts := []imageinspect.Option{imageinspect.WithPersistentCache(c)}
	if o.offline {
		opts = append(opts, imageinspect.WithOffline())
	}
	return opts, nil
}
