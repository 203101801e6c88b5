package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/settings"
	"github.com/volumeguard/volumeguard/workload"
)

// maxConcurrency bounds --concurrency: more parallel lookups than this only
// get a CI job rate-limited by registries, and each costs a goroutine and
// a connection.
const maxConcurrency = 256

// maxHostConcurrency bounds the requests in flight to one registry host.
const maxHostConcurrency = 32

type checkOptions struct {
	registry      registryOptions
	output        string
	platform      string
	concurrency   int
	sizeLimit     string
	timeout       time.Duration
	lookupTimeout time.Duration
	scanContent   bool
	contentBudget string
	cache         cacheOptions
	config        settingsOptions
	sizeLimitFlag *pflag.Flag // to know whether --size-limit beats the file's

	// CI formats (-o sarif, github, gitlab): check only, not audit.
	ciFormats bool
	ci        ciOutputOptions
}

func newCheckCommand(s streams) *cobra.Command {
	o := checkOptions{ciFormats: true}
	cmd := &cobra.Command{
		Use:   "check [PATH...|-]",
		Short: "Check manifests for image VOLUMEs that no volumeMount covers",
		Long: `check reads Kubernetes manifests (YAML or JSON, multi-document, List kinds;
directories recursively, following symbolic links; - for stdin), reads the
config of every image they name from its registry, and reports each declared
VOLUME that no volumeMount of the same container covers. The text report is
written object by object as they are checked, in input order.

In directories only *.yaml, *.yml and *.json regular files are read (in any
case), and each must hold Kubernetes objects; hidden files and directories
and kustomization files are skipped, and so are named pipes, sockets and
devices, with a note on stderr. A path named as an argument is read whatever
it is: a named pipe, /dev/fd/N.

Exceptions: the annotation volumeguard.io/ignore: "/logs,/cache" on a Pod,
a workload or a pod template drops those paths; .volumeguard.yaml (or
--config) lists paths to ignore per image pattern and the default size limit
(docs/exceptions.md). Images are cached in --cache-dir: a re-run within
--tag-ttl sends no registry request, and --offline sends none at all; so are
decoded manifests, by content: a re-run parses only the files that changed.

Exit codes:
  0    no finding (also when no document holds a pod spec: a note says so)
  1    findings
  2    something could not be evaluated: an image that cannot be read, a bad
       file, an input (stdin, a file or a directory named as an argument)
       that holds no Kubernetes object at all, such as the empty stdin of a
       failed "kustomize build |" without pipefail, or the --timeout
       expiring; or bad usage. The reason is in the report, or on stderr.
  130  interrupted (SIGINT), 143 terminated (SIGTERM): the report is left
       unfinished. A second signal kills the process at once.`,
		Example: `  volumeguard check deploy/
  kustomize build overlays/prod | volumeguard check -
  volumeguard check -o json --platform linux/amd64 k8s/
  volumeguard check -o sarif deploy/ > volumeguard.sarif   # also -o github, -o gitlab (docs/ci.md)
  volumeguard check -o github --output-file sarif=volumeguard.sarif deploy/   # both, from one run`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.validate()
			if err != nil {
				return err
			}
			analyzer, err := o.analyzer(cfg)
			if err != nil {
				return err
			}
			opts := check.Options{Paths: args, Stdin: s.in, Concurrency: o.concurrency, Timeout: o.timeout, Settings: cfg.settings}
			objects := o.cache.objectCache()
			if objects != nil {
				opts.DecoderOptions = append(opts.DecoderOptions, workload.WithObjectCache(objects))
			}
			line := newStatusLine(s.err)
			opts.Progress = line.progress("checking pod specs")
			out := line.clearingWriter(s.out)
			report, closeReport, err := o.checkWriter(out, cfg.sizeLimit, os.Getenv)
			if err != nil {
				return err
			}
			summary, err := check.Run(cmd.Context(), analyzer, opts, report)
			err = errors.Join(err, closeReport(err == nil && cmd.Context().Err() == nil))
			line.clear()
			if cmd.Context().Err() != nil {
				return context.Cause(cmd.Context())
			}
			if objects != nil {
				if err := objects.Save(); err != nil {
					fmt.Fprintln(s.err, "note: not caching decoded manifests:", err)
				}
			}
			for _, note := range summary.Notes {
				fmt.Fprintln(s.err, "note:", note)
			}
			if note := cfg.contentNote(); note != "" && summary.Findings > 0 && o.output == "text" {
				fmt.Fprintln(s.err, "note:", note)
			}
			if err != nil {
				return fmt.Errorf("writing report: %w", err)
			}
			if code := summary.ExitCode(); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	o.addFlags(fs)
	// check's fixes honour the annotation, as fix does; audit's do not.
	fs.Lookup("size-limit").Usage = "sizeLimit shown in the suggested emptyDir fix, a positive quantity, unless the pod or pod template's volumeguard.io/size-limit annotation sets another; unset, the settings file's defaultSizeLimit replaces the default"
	// CI output formats (check_output.go).
	o.ci.addFlags(fs)
	return cmd
}

// addFlags adds the flags that check and audit share: output, platform,
// concurrency, size limit, timeouts and the registry flags.
func (o *checkOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "text", "output format: "+orList(o.formats()))
	fs.StringVar(&o.platform, "platform", "", "evaluate pods that pin no platform as OS/ARCH[/VARIANT] (default: every linux platform of an image)")
	fs.IntVar(&o.concurrency, "concurrency", 16, fmt.Sprintf("pod specs analysed, and image lookups, in parallel (1 to %d; at most %d to one registry)", maxConcurrency, maxHostConcurrency))
	fs.StringVar(&o.sizeLimit, "size-limit", "1Gi", "sizeLimit shown in the suggested emptyDir fix, a positive quantity; unset, the settings file's defaultSizeLimit replaces the default")
	o.sizeLimitFlag = fs.Lookup("size-limit")
	// Ten minutes is far beyond a healthy run (seconds) and well inside CI
	// job limits, so a hung registry fails the step with a report.
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute,
		"bound the whole run; when it expires, what was not read or analysed is an error (exit 2) and the report is still written; 0: no limit")
	// A minute covers a slow registry's retries; a registry that never
	// answers costs one minute per image, not the whole --timeout.
	fs.DurationVar(&o.lookupTimeout, "lookup-timeout", time.Minute,
		"bound one image lookup (its manifests and configs, retries included), and one scan of its layers (--scan-content); 0: no limit")
	fs.BoolVar(&o.scanContent, "scan-content", true,
		"read what each image ships under its uncovered VOLUME paths from its layers' tar headers (streamed, not stored), so that findings say it (\"content\") and fixes do not hide it; false: configs only")
	// 1 GiB reads the large applications that ship content under their
	// VOLUMEs (sonarqube, neo4j, nexus3) whole; a multi-GiB image is
	// answered "unknown" rather than holding the run.
	fs.StringVar(&o.contentBudget, "content-budget", "1Gi",
		"compressed layer bytes read per image by --scan-content (a quantity: 1073741824, 512Mi, 1Gi); past it, content is \"unknown\"")
	o.registry.addFlags(fs)
	o.cache.addFlags(fs)
	o.config.discover = true
	o.config.addFlags(fs)
}

type checkConfig struct {
	analyzerOptions []analysis.Option
	sizeLimit       resource.Quantity
	settings        *settings.Settings // nil: no settings file
	contentBudget   int64              // 0: content is not scanned
}

// contentNote says, for the report's notes, that content was scanned and
// within which budget; "" when it was not.
func (c checkConfig) contentNote() string {
	if c.contentBudget == 0 {
		return ""
	}
	return fmt.Sprintf("what images ship under uncovered VOLUME paths was read from their layers (--scan-content), at most %s per image (--content-budget); past it, content is \"unknown\"",
		resource.NewQuantity(c.contentBudget, resource.BinarySI))
}

// validate checks the flags check and audit share and reports all problems
// at once, in the order of the flags.
func (o *checkOptions) validate() (checkConfig, error) {
	var cfg checkConfig
	var errs []error
	if formats := o.formats(); !slices.Contains(formats, o.output) {
		errs = append(errs, fmt.Errorf("--output must be %s, not %q", orList(formats), o.output))
	}
	if o.platform != "" {
		p, err := imageinspect.ParsePlatform(o.platform)
		if err != nil {
			errs = append(errs, fmt.Errorf("--platform: %w", err))
		}
		cfg.analyzerOptions = append(cfg.analyzerOptions, analysis.WithDefaultPlatform(p))
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("--concurrency must be between 1 and %d, not %d", maxConcurrency, o.concurrency))
	}
	cfg.analyzerOptions = append(cfg.analyzerOptions, analysis.WithConcurrency(o.concurrency))
	limit, err := resource.ParseQuantity(o.sizeLimit)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("--size-limit %q: %w", o.sizeLimit, err))
	case limit.Sign() <= 0:
		// The settings file's defaultSizeLimit is refused alike: no
		// emptyDir is valid with it.
		errs = append(errs, fmt.Errorf("--size-limit must be a positive quantity such as 512Mi or 2Gi, not %q", o.sizeLimit))
	}
	cfg.sizeLimit = limit
	if o.timeout < 0 {
		errs = append(errs, fmt.Errorf("--timeout must not be negative, not %s", o.timeout))
	}
	if o.lookupTimeout < 0 {
		errs = append(errs, fmt.Errorf("--lookup-timeout must not be negative, not %s", o.lookupTimeout))
	}
	if err := o.cache.validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := o.ci.outputFiles(o.formats()); err != nil {
		errs = append(errs, err) // checkWriter parses them again, to open them
	}
	if cfg.settings, err = o.config.load(); err != nil {
		errs = append(errs, err)
	}
	if q := cfg.settings.DefaultSizeLimitOr(nil); q != nil && (o.sizeLimitFlag == nil || !o.sizeLimitFlag.Changed) {
		cfg.sizeLimit = *q // flags override the file
	}
	if o.scanContent {
		budget, err := resource.ParseQuantity(o.contentBudget)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--content-budget %q: %w", o.contentBudget, err))
		case budget.Value() <= 0:
			errs = append(errs, fmt.Errorf("--content-budget must be more than 0, not %q", o.contentBudget))
		default:
			cfg.contentBudget = budget.Value()
		}
	}
	return cfg, errors.Join(errs...)
}

// analyzer reads images through the registry flags, each lookup bounded by
// --lookup-timeout.
// oneRun is longer than any run of a one-shot command.
const oneRun = 24 * time.Hour

func (o *checkOptions) analyzer(cfg checkConfig, extra ...imageinspect.Option) (*analysis.Analyzer, error) {
	cached, err := o.cache.inspectorOptions(os.Stderr)
	if err != nil {
		return nil, err
	}
	extra = append(cached, extra...)
	// A one-shot run remembers an image that could not be read for the rest
	// of the run: 40 pod specs naming an image on a registry that hangs cost
	// one lookup, not 40.
	// --concurrency is what a run asks of a registry, however many of the
	// lookups go to one host: most CI runs name images of one registry, and
	// the webhook's default of 8 per host would halve the lookups in flight.
	// Up to maxHostConcurrency: more would look like a flood to a registry.
	inspectorOpts := []imageinspect.Option{imageinspect.WithFailureTTL(oneRun),
		imageinspect.WithHostConcurrency(min(o.concurrency, maxHostConcurrency))}
	if cfg.contentBudget > 0 {
		inspectorOpts = append(inspectorOpts, imageinspect.WithContentBudget(cfg.contentBudget))
	}
	inspector, err := o.registry.inspector(append(inspectorOpts, extra...)...)
	if err != nil {
		return nil, err
	}
	opts := append([]analysis.Option{analysis.WithLookupTimeout(o.lookupTimeout)}, cfg.analyzerOptions...)
	if cfg.contentBudget > 0 {
		// Many pod specs name the same images: each is scanned once per run.
		opts = append(opts, analysis.WithContentScanner(analysis.RememberScans(inspector)))
	}
	return analysis.New(inspector, opts...), nil
}
