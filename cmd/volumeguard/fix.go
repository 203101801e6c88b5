package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/volumeguard/volumeguard/manifestfix"
)

type fixOptions struct {
	// check holds the flags fix shares with check, and their validation.
	check checkOptions
	write bool
	diff  bool
}

func newFixCommand(s streams) *cobra.Command {
	o := fixOptions{}
	cmd := &cobra.Command{
		Use:   "fix [PATH...|-]",
		Short: "Cover image VOLUMEs in manifests with emptyDirs, keeping comments and formatting",
		Long: `fix reads Kubernetes manifests as check does, and covers every image VOLUME
that no volumeMount of its container covers with the webhook's mode mutate
fix: an emptyDir with a sizeLimit (--size-limit, or the pod or pod template's
volumeguard.io/size-limit annotation) and a volumeMount in that container,
with the same volume names. Pods and the pod templates of workloads
(Deployment, StatefulSet, CronJob, ..., any kind with spec.template.spec)
are fixed.

Files are edited in place of the nodes, not written again: comments, key
order, quoting, spacing, line endings, anchors, flow style and every
untouched document stay byte for byte; new lines follow the file's
indentation, JSON gets JSON. Fixing the output again changes nothing.

By default the fixed manifests are printed on stdout, every file whole,
separated by "---"; --write replaces the files (atomically: a temporary file
renamed over each, through symbolic links, keeping their permissions) and
--diff prints a unified diff (both: the files are replaced and the diff
printed). What fix did and left is on stderr.

Output of helm template (documents with "# Source: chart/templates/x.yaml")
is not edited: the fix belongs in the template, so fix prints the YAML to
add there. So it does for a document it cannot edit safely (a pod spec
shared through a YAML anchor, a merge key). A document that cannot be read
is left as it is and reported; the others are still fixed. Findings no
mount can cover (a relative VOLUME, ephemeral containers) are reported.

With --scan-content (the default), a path the image ships files under, or
whose content could not be read, is left as it is, with a note, and fix
exits 1: an emptyDir starts empty and would hide them. Mount a volume
holding them there, or let the webhook copy them
(volumeguard.io/populated-volumes=copy).

Exit codes:
  0  every finding a mount can cover is covered (or there was none), in the
     output: the code is the same with --diff, --write or neither
  1  some are left to a person: the YAML to add is printed, or a note says
     why a path was left as it is
  2  something could not be read, evaluated or written, or bad usage
  130, 143  interrupted (SIGINT), terminated (SIGTERM)`,
		Example: `  volumeguard fix deploy.yaml > deploy.fixed.yaml
  volumeguard fix --write k8s/
  volumeguard fix --diff k8s/
  kustomize build overlays/prod | volumeguard fix -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.check.validate()
			if err != nil {
				return err
			}
			if o.write && slices.Contains(args, "-") {
				return fmt.Errorf("--write cannot replace stdin: name files, or drop --write to print the fixed manifests")
			}
			analyzer, err := o.check.analyzer(cfg)
			if err != nil {
				return err
			}
			res, err := manifestfix.Run(cmd.Context(), analyzer, manifestfix.Options{
				Paths: args, Stdin: s.in, SizeLimit: cfg.sizeLimit,
				Concurrency: o.check.concurrency, Timeout: o.check.timeout, Settings: cfg.settings,
			})
			if cmd.Context().Err() != nil {
				return context.Cause(cmd.Context())
			}
			if err != nil {
				return err
			}
			for _, note := range res.Notes {
				fmt.Fprintln(s.err, "note:", note)
			}
			if o.write {
				for _, f := range res.Files {
					if !f.Changed() {
						continue
					}
					if err := manifestfix.WriteFile(f.Name, f.Original, f.Fixed); err != nil {
						// An error of the report, so that its summary
						// and the exit code count it.
						res.Errors = append(res.Errors, manifestfix.Problem{File: f.Name, Message: err.Error()})
					}
				}
			}
			code := res.ExitCode()
			switch {
			case o.diff:
				err = manifestfix.WriteDiff(s.out, res.Files)
			case !o.write:
				err = manifestfix.WriteFixed(s.out, res.Files)
			}
			if err != nil {
				return fmt.Errorf("writing the output: %w", err)
			}
			if err := manifestfix.WriteReport(s.err, res); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.write, "write", "w", false, "replace the files with their fixed content (not stdin)")
	fs.BoolVar(&o.diff, "diff", false, "print a unified diff of the changes instead of the fixed manifests")
	// The flags check has, but its output format: fix prints manifests.
	shared := pflag.NewFlagSet("shared", pflag.ContinueOnError)
	o.check.addFlags(shared)
	shared.VisitAll(func(f *pflag.Flag) {
		if f.Name == "output" {
			return
		}
		if f.Name == "size-limit" {
			f.Usage = "sizeLimit of the emptyDirs added, unless the pod or pod template's volumeguard.io/size-limit annotation sets another; unset, the settings file's defaultSizeLimit replaces the default"
		}
		fs.AddFlag(f)
	})
	return cmd
}
