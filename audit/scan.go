// Package audit scans the pods of a live cluster and reports which workloads
// create anonymous volumes, on which nodes: `volumeguard audit`, the
// diagnosis an operator otherwise makes by hand (df -i, docker inspect)
// when nodes flap under DiskPressure.
//
// Pods are listed page by page, grouped by their top owner (a Deployment, a
// CronJob, ...), and each distinct analysed spec of a workload (images as
// they run, mounts, platform pins, pull credentials) is analysed once, so
// that a Deployment of a hundred replicas in two revisions costs two
// analyses.
//
// # RBAC
//
//	rules:
//	- apiGroups: [""]
//	  resources: ["pods"]
//	  verbs: ["list"]
//	- apiGroups: ["apps", "batch"]
//	  resources: ["replicasets", "jobs"]
//	  verbs: ["get"]                  # else pods are reported by ReplicaSet and Job
//	- apiGroups: [""]
//	  resources: ["secrets", "serviceaccounts"]
//	  verbs: ["get"]                  # for pull secrets (PullSecrets)
package audit

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/settings"
)

// Options are what `volumeguard audit` was asked to do.
type Options struct {
	// Namespace limits the scan to one namespace; "" scans them all.
	Namespace string
	// Selector is a label selector on pods ("app=zk"); "" selects all.
	Selector string
	// Concurrency bounds the pod specs analysed at once.
	Concurrency int
	// Keychains gives the credentials a pod's images are read with
	// (PullSecrets); nil reads every image with the analyzer's own.
	Keychains analysis.KeychainSource
	// Progress, when set, is called as pod specs finish: done of total.
	Progress func(done, total int)
	// Settings are the settings file's exceptions (paths ignored per image
	// pattern); nil: none. Pods' own volumeguard.io/ignore annotations are
	// not read: audit shows what runs, whoever annotated it.
	Settings *settings.Settings
}

// pageSize is kubectl's chunk size: the API server answers each page
// quickly, and a cluster of thousands of pods is never held in one response.
const pageSize = 500

// unfinished leaves out, on the server side, pods whose containers have
// all stopped: they hold no anonymous volume any more that the kubelet
// will not remove with them.
const unfinished = "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)

// Run lists the pods, analyses each distinct spec of each workload and
// returns the report. It never stops at the first unreadable image; pods
// that could not be listed are a problem of the report, and what was read
// before is still analysed.
func Run(ctx context.Context, client kubernetes.Interface, analyzer *analysis.Analyzer, opts Options) *Report {
	r := &Report{Findings: []Finding{}, Problems: []Problem{}}
	g := newGrouping(newOwners(client))
	if err := listPods(ctx, client, opts, g.add); err != nil {
		r.Problems = append(r.Problems, Problem{Namespace: opts.Namespace, Problem: report.Problem{Kind: "Pod", Message: err.Error()}})
	}
	groups := g.sorted()
	analyse(ctx, analyzer, groups, opts)
	r.Notes = append(g.owners.notes(), credentialNotes(groups)...)
	if n := ignoredCount(groups); n > 0 {
		r.Notes = append(r.Notes, report.IgnoredNote(n))
	}
	r.Findings = append(r.Findings, findings(groups)...)
	r.Problems = append(r.Problems, imageProblems(groups)...)
	return r
}

// listPods hands every unfinished pod to add, page by page.
func listPods(ctx context.Context, client kubernetes.Interface, opts Options, add func(context.Context, *corev1.Pod)) error {
	where := "in all namespaces"
	if opts.Namespace != "" {
		where = "in namespace " + opts.Namespace
	}
	list := metav1.ListOptions{LabelSelector: opts.Selector, FieldSelector: unfinished, Limit: pageSize}
	for {
		page, err := client.CoreV1().Pods(opts.Namespace).List(ctx, list)
		if err != nil && list.Continue != "" && apierrors.IsResourceExpired(err) {
			// The API server compacted away the snapshot the pages are read
			// from; it offers a token to go on from the current state.
			// Pods created or deleted meanwhile may be missed, as they
			// would be by a scan a moment later: fine for an audit.
			if next := inconsistentContinue(err); next != "" {
				list.Continue = next
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("listing pods %s: %w", where, err)
		}
		for i := range page.Items {
			add(ctx, &page.Items[i])
		}
		if page.Continue == "" {
			return nil
		}
		list.Continue = page.Continue
	}
}

func inconsistentContinue(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().ListMeta.Continue
	}
	return ""
}
