package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/volumeguard/volumeguard/reports"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/rest"

	"github.com/volumeguard/volumeguard/audit"
	"github.com/volumeguard/volumeguard/continuousaudit"
	"github.com/volumeguard/volumeguard/webhook"
)

// minAuditInterval keeps a typo ("10s" for "10m") from scanning the
// cluster's pods and writing reports back to back.
const minAuditInterval = time.Minute

// continuousAuditOptions are serve's flags of the background audit.
type continuousAuditOptions struct {
	interval       time.Duration
	reports        reportOptions
	events         bool
	leaseNamespace string
	leaseName      string
	concurrency    int
}

// newContinuousAuditOptions holds the flags' defaults, so that options
// built without flags (tests) validate like the command's.
func newContinuousAuditOptions() continuousAuditOptions {
	namespace := os.Getenv("POD_NAMESPACE") // the downward API sets it in the manifests
	if namespace == "" {
		namespace = "volumeguard"
	}
	return continuousAuditOptions{
		reports:        reportOptions{api: string(reports.Auto)},
		leaseNamespace: namespace,
		leaseName:      "volumeguard-audit",
		concurrency:    4,
	}
}

func (o *continuousAuditOptions) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.interval, "audit-interval", 0,
		"run `volumeguard audit` over the cluster's pods every interval (at least 1m), on one replica elected through a Lease, "+
			"exporting volumeguard_workload_uncovered_volumes; 0: no background audit")
	o.reports.addFlags(fs, "with --audit-interval: keep policy reports current")
	fs.BoolVar(&o.events, "events", false, "with --audit-interval: record a Warning Event (reason UncoveredImageVolume) on each workload with new uncovered volumes")
	fs.StringVar(&o.leaseNamespace, "leader-election-namespace", o.leaseNamespace, "with --audit-interval: namespace of the Lease; the default is POD_NAMESPACE when set")
	fs.StringVar(&o.leaseName, "leader-election-lease", o.leaseName, "with --audit-interval: name of the Lease the replicas elect the auditor through")
	fs.IntVar(&o.concurrency, "audit-concurrency", o.concurrency, "with --audit-interval: pod specs analysed at once; low, since admission shares the registry slots")
}

func (o *continuousAuditOptions) validate() error {
	var errs []error
	if o.interval != 0 && o.interval < minAuditInterval {
		errs = append(errs, fmt.Errorf("--audit-interval %s: want 0 (off) or at least %s", o.interval, minAuditInterval))
	}
	if o.interval == 0 && (o.reports.enabled || o.events) {
		errs = append(errs, errors.New("--reports and --events need --audit-interval"))
	}
	if _, err := o.reports.choice(); err != nil {
		errs = append(errs, err)
	}
	if o.concurrency < 1 {
		errs = append(errs, fmt.Errorf("--audit-concurrency %d: want 1 or more", o.concurrency))
	}
	return errors.Join(errs...)
}

// alongside is what serve runs next to the webhook; nil without
// --audit-interval.
func (o *continuousAuditOptions) alongside(restConfig *rest.Config, sizeLimit resource.Quantity, log logr.Logger) func(context.Context, webhook.Shared) error {
	if o.interval == 0 {
		return nil
	}
	choice, _ := o.reports.choice() // validated
	return func(ctx context.Context, sh webhook.Shared) error {
		metrics, err := continuousaudit.NewMetrics(sh.Metrics, continuousaudit.DefaultMaxSeries)
		if err != nil {
			return fmt.Errorf("registering the audit's metrics: %w", err)
		}
		host, _ := os.Hostname() // the pod's name in a cluster
		cfg := continuousaudit.Config{
			Client:   sh.Client,
			Interval: o.interval,
			Lease:    continuousaudit.Lease{Namespace: o.leaseNamespace, Name: o.leaseName, Identity: host + "_" + string(uuid.NewUUID())},
			Scan: func(ctx context.Context) *audit.Report {
				return audit.Run(ctx, sh.Client, sh.Analyzer, audit.Options{Concurrency: o.concurrency, Keychains: sh.Keychains})
			},
			Metrics: metrics,
			Ready:   sh.Synced,
			Logger:  log,
		}
		if o.reports.enabled {
			cfg.Reports = func(ctx context.Context, r *audit.Report) error {
				api, res, err := writeReports(ctx, restConfig, choice, r, "", "", sizeLimit)
				if err == nil {
					log.Info("reports written", "kind", api.Kind, "apiVersion", api.APIVersion(), "written", res.Applied, "unchanged", res.Unchanged, "deleted", res.Deleted)
				}
				return err
			}
		}
		if o.events {
			cfg.Events = continuousaudit.NewEventRecorder(ctx, sh.Client)
		}
		return continuousaudit.Run(ctx, cfg)
	}
}
