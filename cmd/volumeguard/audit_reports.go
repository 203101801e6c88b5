package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/volumeguard/volumeguard/audit"
	"github.com/volumeguard/volumeguard/reports"
)

// reportOptions are the flags that write reports: audit's and serve's.
type reportOptions struct {
	enabled bool
	api     string
}

func (o *reportOptions) addFlags(fs *pflag.FlagSet, what string) {
	fs.BoolVar(&o.enabled, "reports", false, what+
		": one report per workload with findings, in its namespace, named volumeguard-<workload uid>; reports of workloads now clean or gone are deleted "+
		"(needs the report CRDs, and get, list, create, patch, delete on them)")
	fs.StringVar(&o.api, "report-api", string(reports.Auto),
		"with --reports: openreports (openreports.io/v1alpha1 Report), wgpolicyk8s (wgpolicyk8s.io/v1alpha2 PolicyReport), or auto: OpenReports when the cluster serves it")
}

func (o *reportOptions) choice() (reports.Choice, error) {
	c, err := reports.ParseChoice(o.api)
	if err != nil {
		return "", fmt.Errorf("--report-api: %w", err)
	}
	return c, nil
}

// writeReports reconciles the cluster's reports with an audit's report.
func writeReports(ctx context.Context, cfg *rest.Config, choice reports.Choice, r *audit.Report, namespace, selector string, sizeLimit resource.Quantity) (reports.API, reports.Result, error) {
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return reports.API{}, reports.Result{}, fmt.Errorf("making a discovery client: %w", err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return reports.API{}, reports.Result{}, fmt.Errorf("making a client for reports: %w", err)
	}
	return reports.Sync(ctx, d, client, choice, r.ReportSubjects(), r.ReportScope(namespace, selector), sizeLimit)
}

// printReportsOutcome says on stderr what --reports did; a failure does
// not change audit's exit code, which is about the cluster's workloads.
func printReportsOutcome(w io.Writer, api reports.API, res reports.Result, err error) {
	if err != nil {
		fmt.Fprintf(w, "error: writing reports: %v\n", err)
		return
	}
	fmt.Fprintf(w, "reports (%s %s): %d written, %d unchanged, %d deleted\n", api.Kind, api.APIVersion(), res.Applied, res.Unchanged, res.Deleted)
}
