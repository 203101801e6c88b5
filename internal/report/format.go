package report

import (
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// FormatOption configures the CI formats (SARIF, GitHub, GitLab).
type FormatOption func(*formatOptions)

type formatOptions struct {
	sizeLimit resource.Quantity
	root      string // absolute; "" leaves paths as they are
	version   string
	summary   io.Writer
}

func newFormatOptions(opts []FormatOption) formatOptions {
	// 1Gi is check's and the webhook's default sizeLimit, so the fix a
	// format shows is the one they would apply.
	o := formatOptions{sizeLimit: resource.MustParse("1Gi"), version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithSizeLimit is the sizeLimit of the emptyDirs the fixes suggest.
func WithSizeLimit(q resource.Quantity) FormatOption {
	return func(o *formatOptions) { o.sizeLimit = q }
}

// WithRoot makes file paths relative to root (an absolute directory), as
// code scanning and merge-request widgets expect paths relative to the
// repository. Files outside root keep their absolute path.
func WithRoot(root string) FormatOption {
	return func(o *formatOptions) { o.root = root }
}

// WithToolVersion is the version of volumeguard that SARIF names.
func WithToolVersion(v string) FormatOption {
	return func(o *formatOptions) { o.version = v }
}

// WithStepSummary is where the GitHub format appends its Markdown summary
// (the file $GITHUB_STEP_SUMMARY names).
func WithStepSummary(w io.Writer) FormatOption {
	return func(o *formatOptions) { o.summary = w }
}

// relative is file relative to the root, with forward slashes; "" for
// stdin and rows without a file.
func (o formatOptions) relative(file string) string {
	if file == "" || file == "-" {
		return ""
	}
	if o.root == "" {
		return filepath.ToSlash(file)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(o.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// uri is the relative path as a URI reference: percent-encoded, and an
// absolute path as a file URI.
func uri(rel string) string {
	if strings.HasPrefix(rel, "/") {
		return (&url.URL{Scheme: "file", Path: rel}).String()
	}
	return (&url.URL{Path: rel}).String()
}

// FindRoot is the root of the git work tree that holds dir (the nearest
// directory with a .git entry: a directory, or a file in worktrees and
// submodules), or dir itself when there is none.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return abs, nil
		}
	}
}
