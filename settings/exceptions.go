package settings

import (
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

// PolicyOptions are the ignore options for spec: the rules of s for each
// of its images, and the volumeguard.io/ignore annotation of each map of
// annotations given (the object's, the pod template's). The webhook passes
// annotations only where the namespace allows a pod to exempt itself.
func (s *Settings) PolicyOptions(spec *corev1.PodSpec, annotations ...map[string]string) []policy.Option {
	var opts []policy.Option
	for _, a := range annotations {
		if v, ok := a[policy.IgnoreAnnotation]; ok {
			if paths := policy.ParseIgnoreAnnotation(v); len(paths) > 0 {
				opts = append(opts, policy.WithIgnoredPaths(paths...))
			}
		}
	}
	if s == nil || len(s.Ignore) == 0 {
		return opts
	}
	seen := map[string]bool{}
	for _, c := range policy.Containers(spec) {
		if seen[c.Image] {
			continue
		}
		seen[c.Image] = true
		if paths := s.IgnoredPaths(c.Image); len(paths) > 0 {
			opts = append(opts, policy.WithIgnoredImagePaths(c.Image, paths...))
		}
	}
	return opts
}

// HasIgnoreAnnotation reports whether any of annotations asks for an
// exception, so that the webhook can say it did not honour one.
func HasIgnoreAnnotation(annotations ...map[string]string) bool {
	for _, a := range annotations {
		if len(policy.ParseIgnoreAnnotation(a[policy.IgnoreAnnotation])) > 0 {
			return true
		}
	}
	return false
}

// UnusedIgnores lists, cleaned and once each, the paths the
// volumeguard.io/ignore annotations name that dropped none of ignored (the
// findings the exceptions dropped): a typo, or a path a mount covers by
// now. It says so, or an exception that never applies looks honoured.
func UnusedIgnores(ignored []policy.Finding, annotations ...map[string]string) []string {
	if !HasIgnoreAnnotation(annotations...) {
		return nil // most objects: nothing to compare
	}
	used := map[string]bool{}
	for _, f := range ignored {
		used[path.Clean(f.Path)] = true
	}
	var out []string
	for _, a := range annotations {
		for _, p := range policy.ParseIgnoreAnnotation(a[policy.IgnoreAnnotation]) {
			if p = path.Clean(p); !used[p] {
				used[p] = true // said once
				out = append(out, p)
			}
		}
	}
	return out
}

// UnusedIgnoresNote says which annotation paths ignored nothing, for
// check's and fix's notes; "" when all did.
func UnusedIgnoresNote(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = policy.QuotePath(p)
	}
	return fmt.Sprintf("%s names %s, but no image of the pod declares an uncovered VOLUME there: it ignores nothing (a typo, or a path mounted by now?)",
		policy.IgnoreAnnotation, strings.Join(quoted, ", "))
}

// namesOf lists the names image patterns are matched against: as written,
// the full reference and its repository, each also with docker.io for
// index.docker.io, so that "docker.io/library/postgres:*" matches
// "postgres:16" as a runtime would pull it.
func namesOf(image string) []string {
	names := []string{image}
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return names // not a reference: only the text can match
	}
	for _, n := range []string{ref.Name(), ref.Context().Name()} {
		names = append(names, n)
		if rest, ok := strings.CutPrefix(n, name.DefaultRegistry+"/"); ok {
			names = append(names, "docker.io/"+rest)
		}
	}
	return names
}
