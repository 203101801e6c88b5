package imageinspect

// The images that ship content under their VOLUME paths are large
// applications (sonarqube, neo4j, nexus3: 250-600 MiB compressed); 1 GiB
// reads them whole, cold, while a multi-GiB image (CUDA, ML stacks) is
// answered Unknown instead of holding a scan for minutes.
const defaultContentBudget = 1 << 30

// WithContentBudget sets the compressed layer bytes one ScanContent may
// read (default 1 GiB); layers the cache answers cost nothing. Past it, the
// paths not yet decided are Unknown.
func WithContentBudget(n int64) Option {
	return positive("WithContentBudget", n, func(o *options) *int64 { return &o.contentBudget })
}
