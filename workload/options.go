package workload

// DefaultMaxDocumentSize bounds one document as written. Manifests are
// kilobytes; the limit leaves room for `kubectl get -o yaml` Lists while
// keeping a hostile document from taking the process's memory.
const DefaultMaxDocumentSize = 8 << 20

// aliasExpansionFactor bounds a YAML document with its aliases expanded, as a
// multiple of the size limit: aliases legitimately repeat a few blocks, a
// billion-laughs document repeats them exponentially.
const aliasExpansionFactor = 4

// Option configures a Decoder.
type Option func(*options)

type options struct {
	maxDocumentSize int64
	cache           *ObjectCache
}

// WithMaxDocumentSize sets the largest document, in bytes, that is decoded.
// A value of zero or less keeps DefaultMaxDocumentSize.
func WithMaxDocumentSize(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxDocumentSize = n
		}
	}
}

// WithObjectCache reads regular files that decoded before, to the same
// content, from c instead of parsing them, and remembers the others.
// nil: no cache. The caller saves c.
func WithObjectCache(c *ObjectCache) Option {
	return func(o *options) { o.cache = c }
}

// Decoder reads objects with the given options. The package-level functions
// use a Decoder with the defaults. A Decoder holds no state between calls and
// is safe for concurrent use.
type Decoder struct {
	opts options
}

// NewDecoder returns a Decoder with the options applied over the defaults.
func NewDecoder(opts ...Option) *Decoder {
	o := options{maxDocumentSize: DefaultMaxDocumentSize}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return &Decoder{opts: o}
}

func (d *Decoder) maxDocumentSize() int64 {
	if d == nil || d.opts.maxDocumentSize <= 0 {
		return DefaultMaxDocumentSize
	}
	return d.opts.maxDocumentSize
}
