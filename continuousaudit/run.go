// Package continuousaudit runs `volumeguard audit` inside `volumeguard
// serve`, every interval, on one replica elected through a
// coordination.k8s.io Lease: it keeps the policy reports current, exports
// volumeguard_workload_uncovered_volumes and, when asked, records Warning
// Events on the workloads.
//
// # RBAC
//
//	rules:
//	- apiGroups: ["coordination.k8s.io"]
//	  resources: ["leases"]
//	  verbs: ["get", "create", "update"]     # in the lease's namespace
//	- apiGroups: [""]
//	  resources: ["events"]
//	  verbs: ["create", "patch"]             # --events only
//
// plus what audit needs (package audit) and reports write (package reports).
package continuousaudit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/volumeguard/volumeguard/audit"
)

// Lease timings: client-go's and kube-controller-manager's defaults. A
// stopping leader releases the lease, so a handover takes RetryPeriod; a
// crashed one is replaced after LeaseDuration.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Lease names the Lease the replicas elect the auditor through.
type Lease struct {
	Namespace, Name string
	// Identity is this replica's, unique among them: the pod name and a
	// random suffix, so that a restarted pod is a new candidate.
	Identity string
	// Zero: the defaults above.
	Duration, RenewDeadline, RetryPeriod time.Duration
}

// Config is what Run needs.
type Config struct {
	Client   kubernetes.Interface
	Interval time.Duration
	Lease    Lease
	// Scan runs the audit: the server's analyzer, image cache and pull
	// secrets.
	Scan func(ctx context.Context) *audit.Report
	// Reports, when set, writes the report objects of a scan.
	Reports func(ctx context.Context, r *audit.Report) error
	// Events, when set, records a Warning Event on each workload with new
	// uncovered volumes.
	Events record.EventRecorder
	// Metrics receives the per-workload gauge; nil: none.
	Metrics *Metrics
	// Ready, when set, holds the first scan until it is true: the pull
	// secrets' informers have synced.
	Ready  func() bool
	Logger logr.Logger
}

// Run stands for election until ctx is done, and while elected scans every
// Interval. It returns nil once ctx is done; only a Lease it cannot even
// set up is an error.
func Run(ctx context.Context, cfg Config) error {
	a := &auditor{cfg: cfg, log: cfg.Logger}
	if cfg.Events != nil {
		a.events = newEventDeduper(cfg.Events)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Lease.Namespace, Name: cfg.Lease.Name},
		Client:     cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Lease.Identity},
	}
	for ctx.Err() == nil {
		t := &term{}
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:          lock,
			LeaseDuration: orDefault(cfg.Lease.Duration, DefaultLeaseDuration),
			RenewDeadline: orDefault(cfg.Lease.RenewDeadline, DefaultRenewDeadline),
			RetryPeriod:   orDefault(cfg.Lease.RetryPeriod, DefaultRetryPeriod),
			// A stopping replica hands over at once instead of making the
			// others wait out the lease.
			ReleaseOnCancel: true,
			Name:            cfg.Lease.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					if !t.begin() {
						return
					}
					defer t.wg.Done()
					a.lead(ctx)
				},
				OnStoppedLeading: func() { a.log.Info("no longer the auditor", "identity", cfg.Lease.Identity) },
				OnNewLeader: func(id string) {
					a.log.Info("auditor elected", "leader", id, "self", id == cfg.Lease.Identity)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("setting up the election on Lease %s/%s: %w", cfg.Lease.Namespace, cfg.Lease.Name, err)
		}
		// Run returns once leadership is lost or ctx is done; the scan in
		// flight ends before this replica stands again, so that two never
		// write reports at once from one process.
		le.Run(ctx)
		t.end()
		a.stepDown()
	}
	return nil
}

// term is one election's leadership. The elector starts OnStartedLeading in
// a goroutine and does not wait for it: end makes sure that no scan of the
// term starts after it, and that the one in flight has returned.
type term struct {
	mu    sync.Mutex
	ended bool
	wg    sync.WaitGroup
}

func (t *term) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *term) end() {
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	t.wg.Wait()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

type auditor struct {
	cfg    Config
	log    logr.Logger
	events *eventDeduper
}

// lead scans every Interval until ctx (leadership) ends.
func (a *auditor) lead(ctx context.Context) {
	a.log.Info("elected auditor: scanning", "interval", a.cfg.Interval.String(), "identity", a.cfg.Lease.Identity)
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.leading(true)
	}
	if !a.waitReady(ctx) {
		return
	}
	for {
		a.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.cfg.Interval):
		}
	}
}

func (a *auditor) waitReady(ctx context.Context) bool {
	for a.cfg.Ready != nil && !a.cfg.Ready() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
	return true
}

// stepDown removes what only the auditor exports: a replica that is not
// the auditor any more would otherwise keep exporting its last scan.
func (a *auditor) stepDown() {
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.leading(false)
	}
}

func (a *auditor) scan(ctx context.Context) {
	start := time.Now()
	r := a.cfg.Scan(ctx)
	if ctx.Err() != nil {
		// Leadership lost or stopping mid-scan: what was read is partial,
		// and the next auditor scans again.
		return
	}
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.update(r, time.Now())
	}
	var reportErr error
	if a.cfg.Reports != nil {
		reportErr = a.cfg.Reports(ctx, r)
	}
	if a.events != nil {
		a.events.record(r.ReportSubjects())
	}
	log := a.log.WithValues("findings", len(r.Findings), "errors", len(r.Problems), "duration", time.Since(start).Round(time.Millisecond).String())
	if reportErr != nil {
		log.Error(reportErr, "audit done; writing reports failed")
		return
	}
	log.Info("audit done")
}
