package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/check"
	"github.com/volumeguard/volumeguard/imageinspect"
)

type checkOptions struct {
	registry    registryOptions
	output      string
	platform    string
	concurrency int
	sizeLimit   string
}

func newCheckCommand(s streams) *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [PATH...|-]",
		Short: "Check manifests for image VOLUMEs that no volumeMount covers",
		Long: `check reads Kubernetes manifests (YAML or JSON, multi-document, List kinds;
directories recursively; - for stdin), reads the config of every image they
name from its registry, and reports each declared VOLUME that no volumeMount of
the same container covers.

Exit codes: 0 no finding, 1 findings, 2 something could not be evaluated (an
image that cannot be read, a bad file) or bad usage.`,
		Example: `  volumeguard check deploy/
  kustomize build overlays/prod | volumeguard check -
  volumeguard check -o json --platform linux/amd64 k8s/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.validate()
			if err != nil {
				return err
			}
			analyzer := analysis.New(o.registry.inspector(), cfg.analyzerOptions...)
			opts := check.Options{Paths: args, Stdin: s.in, Concurrency: o.concurrency}
			if f, ok := s.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opts.Progress = progress(s)
			}
			report := check.Run(cmd.Context(), analyzer, opts)
			if opts.Progress != nil {
				fmt.Fprint(s.err, "\r\033[K")
			}
			if o.output == "json" {
				err = check.WriteJSON(s.out, report)
			} else {
				err = check.WriteText(s.out, report, cfg.sizeLimit)
			}
			if err != nil {
				return fmt.Errorf("writing report: %w", err)
			}
			if code := report.ExitCode(); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	o.addFlags(fs)
	return cmd
}

// addFlags adds the flags that check and audit share: output, platform,
// concurrency, size limit and the registry flags.
func (o *checkOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	fs.StringVar(&o.platform, "platform", "", "evaluate pods that pin no platform as OS/ARCH[/VARIANT] (default: every linux platform of an image)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "pod specs analysed, and image lookups, in parallel")
	fs.StringVar(&o.sizeLimit, "size-limit", "1Gi", "sizeLimit shown in the suggested emptyDir fix")
	o.registry.addFlags(fs)
}

type checkConfig struct {
	analyzerOptions []analysis.Option
	sizeLimit       resource.Quantity
}

func (o *checkOptions) validate() (checkConfig, error) {
	var cfg checkConfig
	if o.output != "text" && o.output != "json" {
		return cfg, fmt.Errorf("--output must be text or json, not %q", o.output)
	}
	if o.concurrency < 1 {
		return cfg, fmt.Errorf("--concurrency must be at least 1, not %d", o.concurrency)
	}
	limit, err := resource.ParseQuantity(o.sizeLimit)
	if err != nil {
		return cfg, fmt.Errorf("--size-limit %q: %w", o.sizeLimit, err)
	}
	cfg.sizeLimit = limit
	cfg.analyzerOptions = append(cfg.analyzerOptions, analysis.WithConcurrency(o.concurrency))
	if o.platform != "" {
		p, err := imageinspect.ParsePlatform(o.platform)
		if err != nil {
			return cfg, fmt.Errorf("--platform: %w", err)
		}
		cfg.analyzerOptions = append(cfg.analyzerOptions, analysis.WithDefaultPlatform(p))
	}
	return cfg, nil
}

// progress redraws one status line on a terminal's stderr.
func progress(s streams) func(done, total int) {
	var mu sync.Mutex
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(s.err, "\rchecking pod specs: %d/%d", done, total)
	}
}
