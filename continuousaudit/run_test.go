package continuousaudit

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/volumeguard/volumeguard/audit"
)

// TestRunHandover runs two candidates on one (fake) API: the first elected
// scans; once it stops, the other is elected and scans. Only one scans at a
// time: the scans of a term end before the next term's begin.
func TestRunHandover(t *testing.T) {
	client := fake.NewClientset()
	scans := make(chan string, 10)
	start := func(ctx context.Context, id string) <-chan error {
		m, err := NewMetrics(prometheus.NewRegistry(), 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Client:   client,
				Interval: time.Hour, // one scan per term
				Lease: Lease{Namespace: "volumeguard", Name: "volumeguard-audit", Identity: id,
					Duration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 100 * time.Millisecond},
				Scan: func(context.Context) *audit.Report {
					scans <- id
					return &audit.Report{}
				},
				Metrics: m,
				Logger:  logr.Discard(),
			})
		}()
		return done
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := start(ctxA, "a")
	first := <-scans
	doneB := start(ctxB, "b")
	if first != "a" {
		t.Fatalf("first scan by %q, want a: b had not started", first)
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("Run of a = %v", err)
	}
	if next := <-scans; next != "b" {
		t.Errorf("after a stopped, scan by %q, want b", next)
	}
	stopB()
	if err := <-doneB; err != nil {
		t.Fatalf("Run of b = %v", err)
	}
	close(scans)
	for extra := range scans {
		t.Errorf("another scan by %q: a term scans once an hour", extra)
	}
}
