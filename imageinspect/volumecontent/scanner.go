package volumecontent

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sync/singleflight"

	"github.com/volumeguard/volumeguard/internal/lru"
)

// Scanner answers what images ship under paths, reading their layers'
// tar headers. It keeps each layer's table of contents by digest, so a
// layer shared by many images is read once. It is safe for concurrent use.
type Scanner struct {
	opts options
	// cache keeps layer tables by digest: layers are immutable, so they
	// never expire.
	cache lru.Cache[*layerIndex]
	group singleflight.Group // concurrent reads of one layer share one stream
}

// NewScanner returns a Scanner with an empty cache.
func NewScanner(opts ...Option) *Scanner {
	o := makeOptions(opts...)
	return &Scanner{opts: o, cache: lru.New[*layerIndex](o.cacheEntries, o.cacheBytes, nil)}
}

// Stats says what one Scan cost.
type Stats struct {
	LayersRead   int   // layers streamed by this scan
	LayersCached int   // layer tables taken from the cache or a concurrent scan
	BytesRead    int64 // compressed bytes streamed
	TarBytes     int64 // uncompressed tar bytes streamed
}

// CacheUsage returns the number of layer tables kept and their estimated
// bytes.
func (s *Scanner) CacheUsage() (layers int, bytes int64) { return s.cache.Usage() }

// Scan answers, for each path in paths, what the image made of layers
// ships there. layers are in manifest order, base first, as a manifest
// and v1.Image.Layers list them; Scan reads them from the top down and
// stops as soon as every path is decided. Paths are absolute ("/data");
// a relative one is taken from the root, as containerd does. The answers
// come in the order of paths. Nothing fails outright: a path the layers
// could not decide (budget, ctx, unreadable or hostile layer) is Unknown,
// with the reason. opts apply to this scan alone (WithScanBudget).
func (s *Scanner) Scan(ctx context.Context, layers []Layer, paths []string, opts ...ScanOption) ([]Content, Stats) {
	budget := s.opts.byteBudget
	for _, opt := range opts {
		opt(&budget)
	}
	m := &meter{maxBytes: budget, maxTarBytes: s.opts.maxTarBytes}
	out := make([]Content, len(paths))
	type job struct {
		i          int
		path       string // where the walk looks now
		links      int
		linkTarget string // the asked path is itself a link to this
	}
	var pending []job
	for i, p := range paths {
		pending = append(pending, job{i: i, path: strings.TrimPrefix(path.Clean("/"+p), "/")})
	}
	for len(pending) > 0 {
		merges := make([]*pathMerge, len(pending))
		for k, j := range pending {
			merges[k] = newPathMerge(j.path, s.opts.maxEntries)
		}
		s.walk(ctx, layers, merges, m)
		var next []job
		for k, j := range pending {
			mg := merges[k]
			if mg.linkAt != "" && mg.err == nil {
				if j.links == 0 && mg.linkAt == j.path {
					j.linkTarget = mg.linkTarget
				}
				dest, err := follow(mg.path, mg.linkAt, mg.linkTarget)
				if j.links++; err == nil && j.links > maxLinks {
					err = fmt.Errorf("%w: more than %d on the way", errUnresolvable, maxLinks)
				}
				if err == nil {
					j.path = dest
					next = append(next, j)
					continue
				}
				mg.err = err
			}
			c := mg.result()
			c.Path, c.LinkTarget = path.Clean("/"+paths[j.i]), j.linkTarget
			if c.ResolvedPath = "/" + j.path; c.ResolvedPath == c.Path {
				c.ResolvedPath = ""
			}
			out[j.i] = c
		}
		pending = next
	}
	return out, Stats{
		LayersRead: int(m.layersRead.Load()), LayersCached: int(m.layersCached.Load()),
		BytesRead: m.compressed.Load(), TarBytes: m.tar.Load(),
	}
}

// walk applies the layers, top down, to each merge until all are done or a
// layer cannot be read; then those still open are Unknown.
func (s *Scanner) walk(ctx context.Context, layers []Layer, merges []*pathMerge, m *meter) {
	for li := len(layers) - 1; li >= 0; li-- {
		var open []*pathMerge
		var scope []string
		for _, mg := range merges {
			if !mg.done {
				open = append(open, mg)
				scope = append(scope, mg.path)
			}
		}
		if len(open) == 0 {
			return
		}
		x, err := s.index(ctx, layers[li], scope, m)
		if err != nil {
			err = fmt.Errorf("reading layer %d of %d (%s): %w", li+1, len(layers), layers[li].Digest(), err)
			for _, mg := range open {
				mg.fail(err)
			}
			return
		}
		for _, mg := range open {
			mg.apply(x)
		}
	}
}

// follow returns where a path leads when linkAt, the path itself or one of
// its parents, is a symbolic link to target: resolved inside the root, as
// containerd resolves a volume path in the rootfs ("/.." is "/").
//
// linkAt's parents are directories (the walk stopped at the first link),
// so ".." at the start of target is exact. A ".." after a name of the
// target would need that name resolved first; it is refused rather than
// cleaned away, which could be wrong when the name is itself a link.
func follow(p, linkAt, target string) (string, error) {
	if target == "" {
		return "", fmt.Errorf("%w: %q is an empty link", errUnresolvable, "/"+linkAt)
	}
	dir := parent(linkAt)
	if strings.HasPrefix(target, "/") {
		dir = ""
	}
	named := false
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == "" || part == ".":
		case part == "..":
			if named {
				return "", fmt.Errorf("%w: %q -> %q climbs back after a name", errUnresolvable, "/"+linkAt, target)
			}
			dir = parent(dir)
		default:
			named = true
			dir = path.Join(dir, part)
		}
	}
	return strings.TrimPrefix(path.Join("/"+dir, p[len(linkAt):]), "/"), nil
}
