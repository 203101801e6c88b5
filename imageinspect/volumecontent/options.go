package volumecontent

const (
	mib = 1 << 20

	// The images that ship content under their VOLUME paths are large
	// applications (sonarqube, neo4j, nexus3: 250-600 MiB compressed); 1 GiB
	// reads them whole, cold, while a multi-GiB image (CUDA, ML stacks) is
	// answered Unknown instead of holding a scan for minutes.
	defaultByteBudget = 1024 * mib

	// Real layers expand 2-5 times; 16 GiB of tar per image is room for
	// zero-filled files and still stops a gzip bomb (up to 1:1000) from
	// burning CPU for an hour when there is no deadline.
	defaultMaxTarBytes = 16 * 1024 * mib

	// A layer's whole table of contents costs ~100 bytes an entry: 8 MiB
	// keeps a base layer of 80,000 files whole, so it answers any path for
	// any image. A larger layer keeps only what concerns the paths asked.
	defaultMaxIndexBytes = 8 * mib

	// Tables of some hundred layers: the base layers a cluster's images
	// share. Both bounds hold; the bytes bind first.
	defaultCacheEntries = 2000
	defaultCacheBytes   = 128 * mib

	// Volume paths hold some thousands of entries at most (sonarqube's
	// extensions); a path with more is answered Unknown rather than
	// growing the merge without bound.
	defaultMaxEntries = 250_000

	// Linux follows 40 symbolic links in one path lookup.
	maxLinks = 40
)

// Option configures a Scanner.
type Option func(*options)

type options struct {
	byteBudget    int64
	maxTarBytes   int64
	maxIndexBytes int64
	cacheEntries  int
	cacheBytes    int64
	maxEntries    int
}

func makeOptions(opts ...Option) options {
	o := options{
		byteBudget:    defaultByteBudget,
		maxTarBytes:   defaultMaxTarBytes,
		maxIndexBytes: defaultMaxIndexBytes,
		cacheEntries:  defaultCacheEntries,
		cacheBytes:    defaultCacheBytes,
		maxEntries:    defaultMaxEntries,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithByteBudget sets the compressed bytes one Scan may read from its
// layers (default 1 GiB). Layers answered from the cache cost nothing.
// When it runs out, the paths not yet decided are Unknown.
func WithByteBudget(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.byteBudget = n
		}
	}
}

// WithMaxTarBytes sets the uncompressed tar bytes one Scan may read
// (default 16 GiB), against compression bombs.
func WithMaxTarBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxTarBytes = n
		}
	}
}

// WithMaxLayerIndexBytes sets the memory a layer's table of contents may
// take (default 8 MiB). A layer over it keeps only what concerns the paths
// asked, and is read again when other paths are asked of it.
func WithMaxLayerIndexBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxIndexBytes = n
		}
	}
}

// WithCacheSize bounds the cache of layer tables by entries (layers) and
// estimated bytes (defaults 2000 and 128 MiB). A layer table larger than
// the whole cache is not kept.
func WithCacheSize(entries int, bytes int64) Option {
	return func(o *options) {
		if entries > 0 {
			o.cacheEntries = entries
		}
		if bytes > 0 {
			o.cacheBytes = bytes
		}
	}
}

// WithMaxEntries sets how many entries beneath one path are followed
// through the layers (default 250,000); a path with more is Unknown.
func WithMaxEntries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxEntries = n
		}
	}
}

// ScanOption configures one Scan.
type ScanOption func(budget *int64)

// WithScanBudget sets the compressed bytes this Scan may read, instead of
// the Scanner's WithByteBudget; n < 1 keeps the Scanner's. A caller with
// images of different sizes (a per-image flag) sets it per scan while the
// cache of layer tables stays shared.
func WithScanBudget(n int64) ScanOption {
	return func(budget *int64) {
		if n > 0 {
			*budget = n
		}
	}
}
