package analysis

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/policy"
)

// fakeScanner answers every path as populated with one file, and records
// what it was asked.
type fakeScanner struct {
	mu    sync.Mutex
	asked []string // image@manifest:paths
	err   error
}

func (f *fakeScanner) ScanContent(_ context.Context, ref, manifest string, paths []string, _ ...imageinspect.InspectOption) ([]volumecontent.Content, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, ref+"@"+manifest+":"+strings.Join(paths, ","))
	if f.err != nil {
		return nil, f.err
	}
	out := make([]volumecontent.Content, len(paths))
	for k, p := range paths {
		out[k] = volumecontent.Content{Path: p, State: volumecontent.Populated, Entries: 1, Bytes: 3, Mode: 0o750}
	}
	return out, nil
}

func TestAnalyzeScansOnlyUncoveredPaths(t *testing.T) {
	img := image("sha256:zk", "/data", "/logs")
	img.Platforms[0].ManifestDigest = "sha256:m"
	inspector := &fakeInspector{images: map[string]*imageinspect.Image{
		"zk":    img,
		"nginx": image("sha256:n"),
	}}
	spec := &corev1.PodSpec{Containers: []corev1.Container{
		{Name: "zk", Image: "zk", VolumeMounts: []corev1.VolumeMount{{Name: "d", MountPath: "/data"}}},
		{Name: "web", Image: "nginx"},
	}}
	t.Run("scanned", func(t *testing.T) {
		scanner := &fakeScanner{}
		res := New(inspector, WithContentScanner(scanner)).Analyze(context.Background(), spec)
		if want := []string{"zk@sha256:m:/logs"}; !reflect.DeepEqual(scanner.asked, want) {
			t.Errorf("scanned %v, want %v", scanner.asked, want)
		}
		if len(res.Findings) != 1 || res.Findings[0].Content == nil || res.Findings[0].Content.State != policy.ContentPopulated ||
			res.Findings[0].Content.OctalMode() != "0750" {
			t.Fatalf("findings %+v, want /logs populated", res.Findings)
		}
	})
	t.Run("scan fails: unknown", func(t *testing.T) {
		scanner := &fakeScanner{err: errors.New("registry on fire")}
		res := New(inspector, WithContentScanner(scanner)).Analyze(context.Background(), spec)
		if c := res.Findings[0].Content; c == nil || c.State != policy.ContentUnknown || c.Reason != "registry on fire" {
			t.Errorf("content %+v, want unknown with the reason", c)
		}
	})
	t.Run("no scanner: no content", func(t *testing.T) {
		res := New(inspector).Analyze(context.Background(), spec)
		if res.Findings[0].Content != nil {
			t.Errorf("content %+v without a scanner, want nil", res.Findings[0].Content)
		}
	})
	t.Run("nothing uncovered: nothing scanned", func(t *testing.T) {
		scanner := &fakeScanner{}
		New(inspector, WithContentScanner(scanner)).Analyze(context.Background(), &corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}})
		if len(scanner.asked) != 0 {
			t.Errorf("scanned %v, want nothing", scanner.asked)
		}
	})
}

// Through a real registry and Inspector: the postgres-18-style near miss
// carries what the image ships at the VOLUME path and the mount that
// misses it.
func TestAnalyzeContentThroughARegistry(t *testing.T) {
	reg := startTestRegistry(t)
	img, err := testimage.WithContent([]string{"/var/lib/postgresql", "/empty"},
		[]testimage.Entry{testimage.Dir("var/lib/postgresql", 0o750, 999, 999), testimage.File("var/lib/postgresql/18/docker/PG_VERSION", 3),
			testimage.Dir("empty", 0o700, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.host + "/postgres:18"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	in := newInspector(t)
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: ref,
		VolumeMounts: []corev1.VolumeMount{{Name: "pgdata", MountPath: "/var/lib/postgresql/data"}}}}}
	res := New(in, WithContentScanner(in)).Analyze(context.Background(), spec)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	got := map[string]policy.Finding{}
	for _, f := range res.Findings {
		got[f.Path] = f
	}
	pg := got["/var/lib/postgresql"]
	if pg.Content == nil || pg.Content.State != policy.ContentPopulated || pg.Content.Entries != 3 || pg.Content.UID != 999 || pg.Content.OctalMode() != "0750" {
		t.Errorf("/var/lib/postgresql content %+v, want populated with 3 entries, 999, 0750", pg.Content)
	}
	if !reflect.DeepEqual(pg.NearMounts, []string{"/var/lib/postgresql/data"}) {
		t.Errorf("near mounts %v, want the data mount", pg.NearMounts)
	}
	if c := got["/empty"].Content; c == nil || c.State != policy.ContentEmpty {
		t.Errorf("/empty content %+v, want empty", c)
	}
}

func TestRememberScansAsksOncePerImageAndPaths(t *testing.T) {
	inner := &fakeScanner{err: errors.New("blobs never come")}
	s := RememberScans(inner)
	for range 3 {
		if _, err := s.ScanContent(context.Background(), "a", "sha256:m", []string{"/data"}); err == nil {
			t.Fatal("want the remembered error")
		}
	}
	if _, err := s.ScanContent(context.Background(), "a", "sha256:m", []string{"/logs"}); err == nil {
		t.Fatal("want the error of a second scan")
	}
	if want := []string{"a@sha256:m:/data", "a@sha256:m:/logs"}; !reflect.DeepEqual(inner.asked, want) {
		t.Errorf("asked %v, want %v", inner.asked, want)
	}
}
