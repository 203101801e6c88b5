// Package settings reads the .volumeguard.yaml settings file that `check`
// (and fix, audit) and `serve` share: the exceptions (paths not to report,
// per image pattern) and the default size limit. One type serves every
// command, so that a CI check and the webhook judge a pod alike.
package settings

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// FileName is the settings file check looks for in the working directory,
// then in the root of its git repository.
const FileName = ".volumeguard.yaml"

// maxFileBytes bounds what is read: a settings file is some lines; a
// ConfigMap holds at most 1 MiB.
const maxFileBytes = 1 << 20

// Settings is the decoded file. The zero value (and nil) is "no settings".
type Settings struct {
	// DefaultSizeLimit is the sizeLimit of the emptyDirs mutate adds and fix
	// suggests, unless a flag or an annotation says otherwise.
	DefaultSizeLimit *resource.Quantity `json:"defaultSizeLimit,omitempty"`
	// Ignore lists paths not to report for the images matching patterns.
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// IgnoreRule drops Paths (declared VOLUME paths, compared after
// path.Clean, exactly) from the findings of containers whose image matches
// one of Images.
type IgnoreRule struct {
	// Images are patterns on the image reference. * matches any run of
	// characters, "/" included; ? one character. A pattern is matched
	// against the image as written, its full name
	// (index.docker.io/library/postgres:16, docker.io/library/postgres:16)
	// and its repository alone (docker.io/library/postgres).
	Images []string `json:"images"`
	Paths  []string `json:"paths"`

	matchers []*regexp.Regexp
}

// Parse decodes raw strictly: an unknown or repeated key is an error naming
// it, so that a typo ("ignroe:") never silently drops an exception.
func Parse(raw []byte) (*Settings, error) {
	var s Settings
	if err := yaml.UnmarshalStrict(raw, &s); err != nil {
		return nil, fmt.Errorf("decoding settings: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Load reads and parses the settings file at p.
func Load(p string) (*Settings, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading settings %s: %w", p, err)
	}
	if len(raw) > maxFileBytes {
		return nil, fmt.Errorf("reading settings %s: over %d bytes", p, maxFileBytes)
	}
	s, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// Discover returns the settings file of dir: dir/.volumeguard.yaml, else
// the one at the root of the git repository holding dir; "" when there is
// none.
func Discover(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("looking for %s: %w", FileName, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, FileName)) && (d == abs || exists(filepath.Join(d, ".git"))) {
			return filepath.Join(d, FileName), nil
		}
		if exists(filepath.Join(d, ".git")) || filepath.Dir(d) == d {
			return "", nil // the repository's root, or the filesystem's
		}
	}
}

func (s *Settings) validate() error {
	var errs []error
	if q := s.DefaultSizeLimit; q != nil && q.Sign() <= 0 {
		errs = append(errs, fmt.Errorf("defaultSizeLimit must be positive, not %s", q))
	}
	for k := range s.Ignore {
		r := &s.Ignore[k]
		if len(r.Images) == 0 || len(r.Paths) == 0 {
			errs = append(errs, fmt.Errorf("ignore[%d]: wants images and paths", k))
		}
		for _, p := range r.Paths {
			if strings.TrimSpace(p) == "" {
				errs = append(errs, fmt.Errorf("ignore[%d]: an empty path", k))
			}
		}
		for _, pattern := range r.Images {
			m, err := compilePattern(pattern)
			if err != nil {
				errs = append(errs, fmt.Errorf("ignore[%d]: %w", k, err))
				continue
			}
			r.matchers = append(r.matchers, m)
		}
	}
	return errors.Join(errs...)
}

// IgnoredPaths returns the cleaned paths the rules ignore for image, as
// written in a pod spec.
func (s *Settings) IgnoredPaths(image string) []string {
	if s == nil || len(s.Ignore) == 0 {
		return nil
	}
	names := namesOf(image)
	var out []string
	for _, r := range s.Ignore {
		if r.matches(names) {
			for _, p := range r.Paths {
				out = append(out, path.Clean(strings.TrimSpace(p)))
			}
		}
	}
	return out
}

func (r IgnoreRule) matches(names []string) bool {
	for _, m := range r.matchers {
		for _, n := range names {
			if m.MatchString(n) {
				return true
			}
		}
	}
	return false
}

// compilePattern turns a glob (* any run, ? one character) into an
// anchored regular expression.
func compilePattern(p string) (*regexp.Regexp, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, errors.New("an empty image pattern")
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// DefaultSizeLimitOr returns the file's default size limit, or fallback
// when it sets none (or there is no file).
func (s *Settings) DefaultSizeLimitOr(fallback *resource.Quantity) *resource.Quantity {
	if s == nil || s.DefaultSizeLimit == nil {
		return fallback
	}
	return s.DefaultSizeLimit
}
