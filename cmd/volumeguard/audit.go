package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/volumeguard/volumeguard/audit"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/keychain"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/pullsecrets"
)

type auditOptions struct {
	analysis      checkOptions // --output, --platform, --concurrency, --size-limit, --timeout, --lookup-timeout, registry flags: as check's
	kubeconfig    string
	context       string
	namespace     string
	allNamespaces bool
	selector      string
	pullSecrets   bool
	reports       reportOptions
}

func newAuditCommand(s streams) *cobra.Command {
	o := auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report the workloads of a running cluster that create anonymous volumes",
		Long: `audit lists the pods of a cluster (all namespaces unless -n), groups them by
workload (Deployment, StatefulSet, DaemonSet, CronJob, ... or the bare Pod),
reads the config of every image they run from its registry, and reports each
declared VOLUME that no volumeMount of the same container covers: the
anonymous volumes that fill nodes' disks and inodes outside ephemeral-storage
limits. Each finding says how many pods have it and on which nodes, and how to
fix the workload. Pods that finished (Succeeded, Failed) are skipped.

Images are read at the digest the containers run (their status's imageID)
where pods report one, with the credentials the kubelet pulls them with: the
pods' imagePullSecrets, their service accounts', then the local docker config
(--pull-secrets=false: the docker config only, no Secret is read).

The API server is found as kubectl finds it: --kubeconfig, KUBECONFIG,
~/.kube/config, in-cluster. Needs list on pods; get on replicasets and jobs
(else pods are grouped by ReplicaSet or Job); get on secrets and
serviceaccounts for pull secrets.

--reports writes one openreports.io Report (or wgpolicyk8s.io PolicyReport,
--report-api) per workload with findings, and deletes volumeguard's reports
of workloads that are now clean or gone (not with -l, nor when pods could not
be listed). Without the CRDs it says so; the findings and exit code are the
same either way.

Exit codes: 0 no finding, 1 findings, 2 something could not be evaluated (an
image that cannot be read, pods that cannot be listed, the --timeout expiring:
the report is still written) or bad usage; 130 interrupted (SIGINT), 143
terminated (SIGTERM), without a report.`,
		Example: `  volumeguard audit
  volumeguard audit -n team-a -l app=zookeeper
  volumeguard audit -o json --platform linux/amd64 > audit.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.analysis.validate()
			errs := []error{err}
			reportAPI, err := o.reports.choice()
			errs = append(errs, err)
			if _, err := labels.Parse(o.selector); err != nil {
				errs = append(errs, fmt.Errorf("--selector: %w", err))
			}
			if o.namespace != "" && o.allNamespaces && cmd.Flags().Changed("all-namespaces") {
				errs = append(errs, fmt.Errorf("--namespace and --all-namespaces exclude each other"))
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			// One cache of volumeguard's own credentials, for the images
			// read without pull secrets and after them.
			own := keychain.Own()
			analyzer, err := o.analysis.analyzer(cfg, imageinspect.WithKeychain(own))
			if err != nil {
				return err
			}
			restConfig, namespace, err := o.restConfig()
			if err != nil {
				return err
			}
			client, err := kubernetes.NewForConfig(restConfig)
			if err != nil {
				return fmt.Errorf("making a client for %s: %w", restConfig.Host, err)
			}
			opts := audit.Options{Namespace: namespace, Selector: o.selector, Concurrency: o.analysis.concurrency, Settings: cfg.settings}
			if o.pullSecrets {
				opts.Keychains = audit.PullSecrets(client, pullsecrets.WithFallback(own))
			}
			line := newStatusLine(s.err)
			opts.Progress = line.progress("checking pod specs")
			ctx := cmd.Context()
			if d := o.analysis.timeout; d > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeoutCause(ctx, d, &report.TimeoutError{Timeout: d})
				defer cancel()
			}
			r := audit.Run(ctx, client, analyzer, opts)
			line.clear()
			if cmd.Context().Err() != nil {
				// Interrupted: no report, the exit code says why.
				return context.Cause(cmd.Context())
			}
			for _, note := range r.Notes {
				fmt.Fprintln(s.err, "note:", note)
			}
			if note := cfg.contentNote(); note != "" && len(r.Findings) > 0 && o.analysis.output == "text" {
				fmt.Fprintln(s.err, "note:", note)
			}
			out := audit.NewTextWriter(s.out, cfg.sizeLimit)
			if o.analysis.output == "json" {
				out = audit.NewJSONWriter(s.out)
			}
			if err := r.Write(out); err != nil {
				return fmt.Errorf("writing report: %w", err)
			}
			if o.reports.enabled {
				api, res, err := writeReports(cmd.Context(), restConfig, reportAPI, r, namespace, o.selector, cfg.sizeLimit)
				printReportsOutcome(s.err, api, res, err)
			}
			if code := r.ExitCode(); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	o.analysis.addFlags(fs)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&o.context, "context", "", "kubeconfig context to use (default: the current context)")
	fs.StringVarP(&o.namespace, "namespace", "n", "", "audit only this namespace")
	fs.BoolVarP(&o.allNamespaces, "all-namespaces", "A", true, "audit every namespace (unless -n); false: the kubeconfig context's namespace")
	fs.StringVarP(&o.selector, "selector", "l", "", "audit only pods matching this label selector (app=zk,tier!=cache)")
	fs.BoolVar(&o.pullSecrets, "pull-secrets", true,
		"read images with the imagePullSecrets of pods and of their service accounts (get on secrets and serviceaccounts) before the local docker config; false: no Secret is read")
	o.reports.addFlags(fs, "write the findings as policy reports")
	return cmd
}

// restConfig finds the API server as kubectl does (--kubeconfig, KUBECONFIG,
// ~/.kube/config, in-cluster; --context) and the namespace to audit: -n,
// all, or the context's with --all-namespaces=false.
func (o *auditOptions) restConfig() (*rest.Config, string, error) {
	cfg, loader, err := restConfig(o.kubeconfig, o.context)
	if err != nil {
		return nil, "", err
	}
	// A GET per ReplicaSet and Job at client-go's default 5 per second would
	// take minutes on a large cluster; kubectl allows 50.
	cfg.QPS, cfg.Burst = 50, 100
	namespace := o.namespace
	if namespace == "" && !o.allNamespaces {
		if namespace, _, err = loader.Namespace(); err != nil {
			return nil, "", fmt.Errorf("reading the kubeconfig context's namespace: %w", err)
		}
	}
	return cfg, namespace, nil
}
