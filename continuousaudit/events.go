package continuousaudit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/reports"
)

// EventReason is the reason of the Warning Events on workloads.
const EventReason = "UncoveredImageVolume"

// maxEventMessage stays under the API server's 1 KiB limit on an Event's
// note, which events.k8s.io enforces and readers assume.
const maxEventMessage = 1000

// eventDeduper records an Event on a workload only when it has uncovered
// volumes it did not have at the previous scan: every interval would
// otherwise repeat the same warning on every workload.
type eventDeduper struct {
	recorder record.EventRecorder
	seen     map[types.UID]map[string]bool
}

func newEventDeduper(r record.EventRecorder) *eventDeduper {
	return &eventDeduper{recorder: r, seen: map[types.UID]map[string]bool{}}
}

func (d *eventDeduper) record(subjects []reports.Subject) {
	next := map[types.UID]map[string]bool{}
	for _, s := range subjects {
		uid := s.Workload.UID
		now := map[string]bool{}
		var fresh []policy.Finding
		for _, f := range s.Findings {
			k := findingKey(f)
			now[k] = true
			if !d.seen[uid][k] {
				fresh = append(fresh, f)
			}
		}
		next[uid] = now
		if len(fresh) > 0 {
			d.recorder.Event(s.Workload.Ref(), corev1.EventTypeWarning, EventReason, eventMessage(fresh))
		}
	}
	// Workloads now clean or gone are forgotten: should the volumes come
	// back, that is news again.
	d.seen = next
}

func findingKey(f policy.Finding) string {
	return strings.Join([]string{string(f.ContainerType), f.Container, f.Image, f.Path}, "\x00")
}

// eventMessage names each container, its image and its uncovered paths,
// and the fix, within maxEventMessage.
func eventMessage(fs []policy.Finding) string {
	paths := map[string][]string{}
	for _, f := range fs {
		c := fmt.Sprintf("%s %q (image %q)", f.ContainerType, f.Container, f.Image)
		paths[c] = append(paths[c], policy.QuotePath(f.Path))
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(paths)) {
		parts = append(parts, c+": VOLUME "+strings.Join(paths[c], ", "))
	}
	msg := "anonymous volumes outside ephemeral-storage limits: " + strings.Join(parts, "; ") +
		". Fix: mount an emptyDir with a sizeLimit at each path (volumeguard audit shows the YAML)"
	if len(msg) > maxEventMessage {
		msg = strings.ToValidUTF8(msg[:maxEventMessage-3], "") + "..."
	}
	return msg
}

// NewEventRecorder records Events through client until ctx is done. Its
// correlator folds repeats of one Event into a count, as the kubelet's do.
func NewEventRecorder(ctx context.Context, client kubernetes.Interface) record.EventRecorder {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		b.Shutdown()
	}()
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "volumeguard"})
}
