package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/internal/report"
)

// ciOutputOptions are check's flags for the CI formats (sarif, github,
// gitlab): where their paths are relative to, and the files that also get
// the report.
type ciOutputOptions struct {
	pathRoot string
	files    []string // FORMAT=PATH
}

func (o *ciOutputOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.pathRoot, "path-root", "",
		"make file paths in -o sarif, github and gitlab relative to this directory (default: the root of the git work tree holding the current directory, else the current directory)")
	fs.StringArrayVar(&o.files, "output-file", nil,
		"also write the report as FORMAT to PATH, from the same run (FORMAT=PATH, repeatable; e.g. sarif=volumeguard.sarif): any -o format but github, whose annotations the runner reads from stdout; PATH is replaced once the report is complete (a device or named pipe is written to)")
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

// checkWriter is the writer of check's -o and of every --output-file, and
// a function to call once the run is over: it closes the GitHub step
// summary, and puts each --output-file in place when the report is
// complete.
func (o *checkOptions) checkWriter(out io.Writer, sizeLimit resource.Quantity, env func(string) string) (check.Writer, func(complete bool) error, error) {
	files, err := o.ci.outputFiles(o.formats())
	if err != nil {
		return nil, nil, err
	}
	w := &reportWriters{sizeLimit: sizeLimit, pathRoot: o.ci.pathRoot}
	if err := w.open(o.output, out, files, env); err != nil {
		_ = w.close(false)
		return nil, nil, err
	}
	return report.Tee(w.writers...), w.close, nil
}

// reportWriters are the writers of one run's report.
type reportWriters struct {
	sizeLimit resource.Quantity
	pathRoot  string // --path-root
	root      string // where CI formats' paths are relative to, once known
	writers   []check.Writer
	closers   []func(complete bool) error
}

// open makes the writer of -o to out, with the GitHub step summary when
// GITHUB_STEP_SUMMARY names a file, and one writer per --output-file.
func (w *reportWriters) open(output string, out io.Writer, files []outputFile, env func(string) string) error {
	var summary io.Writer // nil, not a nil *os.File: add tests it
	if path := env("GITHUB_STEP_SUMMARY"); path != "" && output == "github" {
		// GitHub shows few annotations per step; the summary lists them all.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("opening GITHUB_STEP_SUMMARY: %w", err)
		}
		w.closers = append(w.closers, func(bool) error { return f.Close() })
		summary = f
	}
	if err := w.add(output, out, summary); err != nil {
		return err
	}
	for _, f := range files {
		if isFileOf(out, f.path) {
			return fmt.Errorf("--output-file %s=%s: stdout goes there already, with -o's report", f.format, f.path)
		}
		rf, err := createReportFile(f.path)
		if err != nil {
			return err
		}
		w.closers = append(w.closers, rf.close)
		if err := w.add(f.format, rf, nil); err != nil {
			return err
		}
		// A file that cannot be written (a full disk) fails the run
		// without cutting -o's report short.
		w.writers[len(w.writers)-1] = report.Deferred(w.writers[len(w.writers)-1])
	}
	return nil
}

// add makes the writer of format to out; summary, when set, gets the
// GitHub step summary.
func (w *reportWriters) add(format string, out io.Writer, summary io.Writer) error {
	switch format {
	case "json":
		w.writers = append(w.writers, check.NewJSONWriter(out))
		return nil
	case "text":
		w.writers = append(w.writers, check.NewTextWriter(out, w.sizeLimit))
		return nil
	}
	root, err := w.ciRoot()
	if err != nil {
		return err
	}
	opts := []report.FormatOption{report.WithRoot(root), report.WithSizeLimit(w.sizeLimit), report.WithToolVersion(version)}
	switch format {
	case "sarif":
		w.writers = append(w.writers, report.NewSARIFWriter[check.Finding, check.Problem](out, opts...))
	case "gitlab":
		w.writers = append(w.writers, report.NewGitLabWriter[check.Finding, check.Problem](out, opts...))
	default:
		if summary != nil {
			opts = append(opts, report.WithStepSummary(summary))
		}
		w.writers = append(w.writers, report.NewGitHubWriter[check.Finding, check.Problem](out, opts...))
	}
	return nil
}

// ciRoot is --path-root, else the root of the git work tree holding the
// current directory, else the current directory.
func (w *reportWriters) ciRoot() (string, error) {
	if w.root != "" {
		return w.root, nil
	}
	if w.pathRoot != "" {
		abs, err := absDir(w.pathRoot)
		if err != nil {
			return "", fmt.Errorf("--path-root: %w", err)
		}
		w.root = abs
		return abs, nil
	}
	root := "."
	if wd, err := os.Getwd(); err == nil {
		root = wd
	}
	found, err := report.FindRoot(root)
	if err != nil {
		return "", fmt.Errorf("finding the git work tree root: %w", err)
	}
	w.root = found
	return found, nil
}

func (w *reportWriters) close(complete bool) error {
	var errs []error
	for _, c := range w.closers {
		errs = append(errs, c(complete))
	}
	w.closers = nil
	return errors.Join(errs...)
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

// outputFile is one --output-file.
type outputFile struct{ format, path string }

// outputFiles parses --output-file, reporting every problem at once.
func (o *ciOutputOptions) outputFiles(formats []string) ([]outputFile, error) {
	var files []outputFile
	var errs []error
	seen := map[string]bool{}
	for _, spec := range o.files {
		format, path, ok := strings.Cut(spec, "=")
		switch {
		case !ok || path == "":
			errs = append(errs, fmt.Errorf("--output-file %q: want FORMAT=PATH, e.g. sarif=volumeguard.sarif", spec))
		case format == "github":
			errs = append(errs, fmt.Errorf("--output-file %q: the runner reads annotations from the step's output: use -o github", spec))
		case !slices.Contains(formats, format):
			errs = append(errs, fmt.Errorf("--output-file %q: FORMAT must be %s", spec, orList(slices.DeleteFunc(slices.Clone(formats), func(f string) bool { return f == "github" }))))
		case path == "-":
			errs = append(errs, fmt.Errorf("--output-file %q: stdout is -o's", spec))
		case seen[fileKey(path)]:
			errs = append(errs, fmt.Errorf("--output-file %q: %s is named twice", spec, path))
		default:
			seen[fileKey(path)] = true
			files = append(files, outputFile{format, path})
		}
	}
	return files, errors.Join(errs...)
}
