package policy

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// IgnoreAnnotation names the paths a Pod, a workload or a pod template
// asks not to be reported: "/logs,/cache".
const IgnoreAnnotation = "volumeguard.io/ignore"

// ignoreSet is what WithIgnoredPaths and WithIgnoredImagePaths declared,
// paths cleaned.
type ignoreSet struct {
	all     map[string]bool            // every container
	byImage map[string]map[string]bool // image as written in the spec -> paths
}

func (s ignoreSet) empty() bool { return len(s.all) == 0 && len(s.byImage) == 0 }

// covers reports whether declared, a VOLUME path of image, is ignored. The
// rule is the coverage rule's: equal after path.Clean. An ignored /var/lib
// does not ignore /var/lib/mysql, as a mount on /var/lib does not cover it:
// an exception names exactly what it accepts.
func (s ignoreSet) covers(image, declared string) bool {
	p := path.Clean(declared)
	return s.all[p] || s.byImage[image][p]
}

func addPaths(m map[string]bool, paths []string) map[string]bool {
	for _, p := range paths {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if m == nil {
			m = map[string]bool{}
		}
		m[path.Clean(p)] = true
	}
	return m
}

// WithIgnoredPaths drops the findings of these declared VOLUME paths, for
// every container (the volumeguard.io/ignore annotation). Repeatable.
func WithIgnoredPaths(paths ...string) Option {
	return func(o *options) { o.ignore.all = addPaths(o.ignore.all, paths) }
}

// WithIgnoredImagePaths drops the findings of these paths for the
// containers running image, as written in the pod spec (a settings file's
// rule for an image pattern, resolved by the caller). Repeatable.
func WithIgnoredImagePaths(image string, paths ...string) Option {
	return func(o *options) {
		m := addPaths(o.ignore.byImage[image], paths)
		if m == nil {
			return
		}
		if o.ignore.byImage == nil {
			o.ignore.byImage = map[string]map[string]bool{}
		}
		o.ignore.byImage[image] = m
	}
}

// ParseIgnoreAnnotation reads IgnoreAnnotation's value: comma-separated
// paths, blanks skipped.
func ParseIgnoreAnnotation(value string) []string {
	var out []string
	for _, p := range strings.Split(value, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// IgnoredFindings returns the findings the ignore options (WithIgnoredPaths,
// WithIgnoredImagePaths) dropped from Findings, so that callers can count
// and show them: an exception should be visible, not silent.
func IgnoredFindings(spec *corev1.PodSpec, images map[string]ImageFacts, opts ...Option) []Finding {
	o := makeOptions(opts)
	if o.ignore.empty() {
		return nil
	}
	o.onlyIgnored = true
	out, _ := findingsWith(spec, images, -1, o)
	return out
}
