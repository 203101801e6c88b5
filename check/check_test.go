package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/report"
)

// fakeInspector answers from images; an image in wait is answered once its
// channel is closed, or fails with ctx.
type fakeInspector struct {
	images map[string][]string // image -> declared volumes
	wait   map[string]<-chan struct{}
	onCall func(ref string)
}

func (f *fakeInspector) Inspect(ctx context.Context, ref string, _ *imageinspect.Platform, _ ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	if f.onCall != nil {
		f.onCall(ref)
	}
	if ch, ok := f.wait[ref]; ok {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	volumes, ok := f.images[ref]
	if !ok {
		return nil, imageinspect.ErrNotFound
	}
	return &imageinspect.Image{Digest: "sha256:" + ref, Platforms: []imageinspect.PlatformVolumes{{
		Platform: imageinspect.Platform{OS: "linux", Architecture: "amd64"}, Volumes: volumes,
	}}}, nil
}

// recorder is a Writer that keeps what it is given.
type recorder struct {
	mu       sync.Mutex
	objects  []string // name of each object written, in order
	findings int
	errors   []string
	finished bool
	failWith error
	written  chan string // when not nil, gets each object's name as it is written
}

func (r *recorder) WriteObject(fs []Finding) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failWith != nil {
		return r.failWith
	}
	r.objects = append(r.objects, fs[0].Name)
	r.findings += len(fs)
	if r.written != nil {
		r.written <- fs[0].Name
	}
	return nil
}

func (r *recorder) AddProblem(p Problem) { r.errors = append(r.errors, p.Message) }

func (r *recorder) Finish() error {
	r.finished = true
	return nil
}

func pod(name, image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - {name: c, image: %q}\n---\n", name, image)
}

func TestRun(t *testing.T) {
	images := map[string][]string{"zk": {"/data", "/logs"}, "nginx": nil}
	tests := []struct {
		name        string
		stdin       string
		wantObjects []string
		wantErrors  []string // parts of each error's message
		wantNotes   []string // parts of each note
		wantExit    int
	}{
		{
			name:        "findings in input order, then errors",
			stdin:       pod("a", "zk") + pod("b", "no/such") + pod("c", "nginx") + pod("d", "zk"),
			wantObjects: []string{"a", "d"},
			wantErrors:  []string{`container "c": image not found`},
			wantExit:    report.ExitUnchecked,
		},
		{
			name:     "clean",
			stdin:    pod("web", "nginx"),
			wantExit: report.ExitClean,
		},
		{
			name:        "findings",
			stdin:       pod("zk", "zk"),
			wantObjects: []string{"zk"},
			wantExit:    report.ExitFindings,
		},
		{
			name:       "empty stdin: an error, and a note about pipelines",
			stdin:      "",
			wantErrors: []string{"<stdin>: no Kubernetes object in the input"},
			wantNotes:  []string{"set -o pipefail"},
			wantExit:   report.ExitUnchecked,
		},
		{
			name:      "documents without a pod spec: a note, clean",
			stdin:     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			wantNotes: []string{"none of the 2 documents read holds a pod spec"},
			wantExit:  report.ExitClean,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			analyzer := analysis.New(&fakeInspector{images: images})
			out := &recorder{}
			opts := Options{Paths: []string{"-"}, Stdin: strings.NewReader(tt.stdin), Concurrency: 2}
			summary, err := Run(context.Background(), analyzer, opts, out)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !out.finished {
				t.Error("the report was not finished")
			}
			if strings.Join(out.objects, ",") != strings.Join(tt.wantObjects, ",") {
				t.Errorf("objects written %q, want %q", out.objects, tt.wantObjects)
			}
			if len(out.errors) != len(tt.wantErrors) || summary.Problems != len(out.errors) || summary.Findings != out.findings {
				t.Fatalf("errors %q (summary %+v, %d findings written), want %q", out.errors, summary, out.findings, tt.wantErrors)
			}
			for i, want := range tt.wantErrors {
				if !strings.Contains(out.errors[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, out.errors[i], want)
				}
			}
			if len(summary.Notes) != len(tt.wantNotes) {
				t.Fatalf("notes %q, want %q", summary.Notes, tt.wantNotes)
			}
			for i, want := range tt.wantNotes {
				if !strings.Contains(summary.Notes[i], want) {
					t.Errorf("note %d = %q, want it to contain %q", i, summary.Notes[i], want)
				}
			}
			if got := summary.ExitCode(); got != tt.wantExit {
				t.Errorf("exit code %d, want %d", got, tt.wantExit)
			}
		})
	}
}

// TestRunTimeout: when the overall timeout expires, the report is finished
// and what was not read or analysed is an error naming the timeout (where
// it strikes, reading or analysis, is up to the scheduler).
func TestRunTimeout(t *testing.T) {
	never := make(chan struct{})
	inspector := &fakeInspector{wait: map[string]<-chan struct{}{"zk": never, "slow": never}}
	out := &recorder{}
	opts := Options{Paths: []string{"-"}, Stdin: strings.NewReader(pod("a", "zk") + pod("b", "slow")), Concurrency: 2, Timeout: time.Millisecond}
	summary, err := Run(context.Background(), analysis.New(inspector), opts, out)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.finished || len(out.objects) > 0 || len(out.errors) == 0 || summary.ExitCode() != report.ExitUnchecked {
		t.Fatalf("finished %v, objects %q, errors %q, exit %d; want a finished report of errors, exit 2",
			out.finished, out.objects, out.errors, summary.ExitCode())
	}
	for _, e := range out.errors {
		if !strings.Contains(e, "the overall timeout of 1ms expired") {
			t.Errorf("error %q does not name the timeout", e)
		}
	}
}

// TestRunWritesEachObjectAsSoonAsItAndThoseBeforeAreDone: the first
// object's analysis ends last, yet the report keeps the input order; and
// the last object is analysed only once the first was written, which
// deadlocks (until the safety timeout) if the report waits for the end.
func TestRunWritesEachObjectAsSoonAsItAndThoseBeforeAreDone(t *testing.T) {
	firstMayEnd := make(chan struct{})
	firstWritten := make(chan struct{})
	out := &recorder{written: make(chan string, 3)}
	go func() {
		for name := range out.written {
			if name == "first" {
				close(firstWritten)
			}
		}
	}()
	var once sync.Once
	inspector := &fakeInspector{
		images: map[string][]string{"zk": {"/data"}, "zk-second": {"/data"}, "zk-last": {"/data"}},
		wait:   map[string]<-chan struct{}{"zk": firstMayEnd, "zk-last": firstWritten},
		onCall: func(ref string) {
			if ref == "zk-second" {
				once.Do(func() { close(firstMayEnd) })
			}
		},
	}
	opts := Options{
		Paths: []string{"-"}, Stdin: strings.NewReader(pod("first", "zk") + pod("second", "zk-second") + pod("last", "zk-last")),
		Concurrency: 3, Timeout: time.Minute, // a safety net: the test fails rather than hangs
	}
	summary, err := Run(context.Background(), analysis.New(inspector, analysis.WithConcurrency(3)), opts, out)
	close(out.written)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.objects, ","); got != "first,second,last" || summary.Problems != 0 {
		t.Errorf("objects written %s, errors %q; want first,second,last and none", got, out.errors)
	}
}

func TestRunStopsAtOnceWhenInterrupted(t *testing.T) {
	interrupted := errors.New("interrupted by SIGINT")
	ctx, cancel := context.WithCancelCause(context.Background())
	var calls sync.Map
	inspector := &fakeInspector{
		images: map[string][]string{"zk": {"/data"}},
		onCall: func(ref string) {
			calls.Store(ref, true)
			cancel(interrupted)
		},
	}
	var stdin strings.Builder
	for i := range 20 {
		stdin.WriteString(pod(fmt.Sprintf("p%d", i), fmt.Sprintf("zk-%d", i)))
	}
	out := &recorder{}
	_, err := Run(ctx, analysis.New(inspector), Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin.String()), Concurrency: 1}, out)
	if !errors.Is(err, interrupted) {
		t.Errorf("Run = %v, want the interruption", err)
	}
	if out.finished || len(out.objects) > 0 {
		t.Errorf("report written after the interruption: objects %q, finished %v", out.objects, out.finished)
	}
	n := 0
	calls.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d images looked up after the interruption, want only the one in flight", n-1)
	}
}

func TestRunStopsWhenTheReportCannotBeWritten(t *testing.T) {
	broken := errors.New("writing: broken pipe")
	lookups := 0
	inspector := &fakeInspector{images: map[string][]string{}, onCall: func(string) { lookups++ }}
	var stdin strings.Builder
	for i := range 20 {
		inspector.images[fmt.Sprint("zk-", i)] = []string{"/data"}
		stdin.WriteString(pod(fmt.Sprintf("p%d", i), fmt.Sprint("zk-", i)))
	}
	out := &recorder{failWith: broken}
	_, err := Run(context.Background(), analysis.New(inspector), Options{Paths: []string{"-"}, Stdin: strings.NewReader(stdin.String()), Concurrency: 1}, out)
	if !errors.Is(err, broken) {
		t.Errorf("Run = %v, want the write error", err)
	}
	if out.finished || lookups != 1 {
		t.Errorf("finished %v after %d lookups; want the run to end after the first object's", out.finished, lookups)
	}
}
