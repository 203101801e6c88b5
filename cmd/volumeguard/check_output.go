package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/internal/report"
)

// ciOutputOptions are check's flags for the CI formats (sarif, github,
// gitlab): where their paths are relative to.
type ciOutputOptions struct {
	pathRoot string
}

func (o *ciOutputOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.pathRoot, "path-root", "",
		"make file paths in -o sarif, github and gitlab relative to this directory (default: the root of the git work tree holding the current directory, else the current directory)")
}

// formats are the values of -o: the CI formats point at files, so only
// check writes them.
func (o *checkOptions) formats() []string {
	if o.ciFormats {
		return []string{"text", "json", "sarif", "github", "gitlab"}
	}
	return []string{"text", "json"}
}

// orList is "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// checkWriter is the writer of check's -o, and a function to call once the
// report is written (it closes the GitHub step summary).
func (o *checkOptions) checkWriter(out io.Writer, sizeLimit resource.Quantity, env func(string) string) (check.Writer, func() error, error) {
	done := func() error { return nil }
	switch o.output {
	case "json":
		return check.NewJSONWriter(out), done, nil
	case "text":
		return check.NewTextWriter(out, sizeLimit), done, nil
	}
	root := o.ci.pathRoot
	if root == "" {
		root = "."
		if wd, err := os.Getwd(); err == nil {
			root = wd
		}
		found, err := report.FindRoot(root)
		if err != nil {
			return nil, nil, fmt.Errorf("finding the git work tree root: %w", err)
		}
		root = found
	} else if abs, err := absDir(root); err != nil {
		return nil, nil, fmt.Errorf("--path-root: %w", err)
	} else {
		root = abs
	}
	opts := []report.FormatOption{report.WithRoot(root), report.WithSizeLimit(sizeLimit), report.WithToolVersion(version)}
	switch o.output {
	case "sarif":
		return report.NewSARIFWriter[check.Finding, check.Problem](out, opts...), done, nil
	case "gitlab":
		return report.NewGitLabWriter[check.Finding, check.Problem](out, opts...), done, nil
	}
	// GitHub shows few annotations per step; the summary lists them all.
	if path := env("GITHUB_STEP_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("opening GITHUB_STEP_SUMMARY: %w", err)
		}
		opts = append(opts, report.WithStepSummary(f))
		done = f.Close
	}
	return report.NewGitHubWriter[check.Finding, check.Problem](out, opts...), done, nil
}

func absDir(dir string) (string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return "", errors.New(dir + " is not a directory")
	}
	return filepath.Abs(dir)
}
