package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is a read-only registry on loopback that the test controls
// entirely: it serves manifests and blobs as raw bytes (so that they can be
// anything a hostile registry would send), answers a repository's requests
// with a Fault instead when one is set, and counts requests per repository.
type Registry struct {
	// Host is 127.0.0.1:port, for image references.
	Host string
	srv  *httptest.Server
	stop chan struct{} // ends hanging and trickling handlers

	mu        sync.Mutex
	manifests map[string]rawManifest // "repo@ref" (tag or digest)
	blobs     map[string][]byte      // digest
	faults    map[string]Fault       // repo
	counts    map[string]int         // repo
}

type rawManifest struct {
	mediaType types.MediaType
	body      []byte
}

// Fault answers a request for a repository in place of the registry. It
// returns when the answer is done, or when stop is closed (the registry is
// closing).
type Fault func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})

// StartRegistry serves an empty Registry until t ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	reg := &Registry{
		stop:      make(chan struct{}),
		manifests: map[string]rawManifest{},
		blobs:     map[string][]byte{},
		faults:    map[string]Fault{},
		counts:    map[string]int{},
	}
	reg.srv = httptest.NewServer(reg)
	reg.Host = strings.TrimPrefix(reg.srv.URL, "http://")
	t.Cleanup(reg.Close)
	return reg
}

// Close ends every handler and the server; the second call does nothing.
func (reg *Registry) Close() {
	reg.mu.Lock()
	select {
	case <-reg.stop:
		reg.mu.Unlock()
		return
	default:
		close(reg.stop)
	}
	reg.mu.Unlock()
	reg.srv.CloseClientConnections()
	reg.srv.Close()
}

// Kill closes the registry's listener and connections at once, as a
// registry process that dies would: the next requests are refused.
func (reg *Registry) Kill() { reg.Close() }

// Ref is the reference of repo:tag on this registry.
func (reg *Registry) Ref(repo, tag string) string { return reg.Host + "/" + repo + ":" + tag }

// AddImage serves img as repo:tag (and by digest), with its config and
// layers, and returns its digest.
func (reg *Registry) AddImage(t testing.TB, repo, tag string, img v1.Image) string {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	reg.AddBlob(cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		reg.mu.Lock()
		reg.blobs[d.String()] = body
		reg.mu.Unlock()
	}
	return reg.AddManifest(repo, tag, mt, raw)
}

// AnyTag, as the tag of AddImage, serves the image under every tag of the
// repository that was not added otherwise: a tag never asked before for
// each pod, as a registry of CI builds has.
const AnyTag = "*"

// AddManifest serves body as repo:tag and repo@digest with media type mt,
// whatever body holds, and returns its digest.
func (reg *Registry) AddManifest(repo, tag string, mt types.MediaType, body []byte) string {
	digest := Digest(body)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	m := rawManifest{mediaType: mt, body: body}
	reg.manifests[repo+"@"+digest] = m
	if tag != "" {
		reg.manifests[repo+"@"+tag] = m
	}
	return digest
}

// AddManifestAt serves body as repo@ref with media type mt, whatever its
// digest: a registry lying about what a digest holds.
func (reg *Registry) AddManifestAt(repo, ref string, mt types.MediaType, body []byte) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.manifests[repo+"@"+ref] = rawManifest{mediaType: mt, body: body}
}

// AddBlobAt serves body as the blob digest, whatever its own digest.
func (reg *Registry) AddBlobAt(digest string, body []byte) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.blobs[digest] = body
}

// AddBlob serves body under its digest, which it returns.
func (reg *Registry) AddBlob(body []byte) string {
	digest := Digest(body)
	reg.mu.Lock()
	reg.blobs[digest] = body
	reg.mu.Unlock()
	return digest
}

// SetFault answers every request for repo (manifests and blobs) with f;
// nil serves the repository again.
func (reg *Registry) SetFault(repo string, f Fault) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if f == nil {
		delete(reg.faults, repo)
		return
	}
	reg.faults[repo] = f
}

// Requests is how many requests repo got so far.
func (reg *Registry) Requests(repo string) int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.counts[repo]
}

func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		w.WriteHeader(http.StatusOK) // no auth
		return
	}
	repo, _, _, ok := splitRegistryPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	reg.mu.Lock()
	reg.counts[repo]++
	fault := reg.faults[repo]
	reg.mu.Unlock()
	if fault != nil {
		fault(w, r, reg.stop)
		return
	}
	reg.serveStored(w, r)
}

// serveStored answers r from what was added, ignoring faults.
func (reg *Registry) serveStored(w http.ResponseWriter, r *http.Request) {
	repo, kind, ref, _ := splitRegistryPath(r.URL.Path)
	reg.mu.Lock()
	m, haveManifest := reg.manifests[repo+"@"+ref]
	if !haveManifest && !strings.HasPrefix(ref, "sha256:") {
		m, haveManifest = reg.manifests[repo+"@"+AnyTag]
	}
	blob, haveBlob := reg.blobs[ref]
	reg.mu.Unlock()
	switch {
	case kind == "manifests" && haveManifest:
		w.Header().Set("Content-Type", string(m.mediaType))
		w.Header().Set("Docker-Content-Digest", Digest(m.body))
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(m.body)
		}
	case kind == "blobs" && haveBlob:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(blob)
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"errors":[{"code":"%s_UNKNOWN","message":"unknown"}]}`, strings.ToUpper(strings.TrimSuffix(kind, "s")))
	}
}

// splitRegistryPath splits /v2/<repo>/(manifests|blobs)/<ref>.
func splitRegistryPath(p string) (repo, kind, ref string, ok bool) {
	rest, found := strings.CutPrefix(p, "/v2/")
	if !found {
		return "", "", "", false
	}
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i], strings.Trim(k, "/"), rest[i+len(k):], true
		}
	}
	return "", "", "", false
}

// Digest is the sha256 digest of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Hang never answers: it waits for the client to give up or the registry
// to close.
func Hang(_ http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
}

// Status answers code with header, and a registry error body.
func Status(code int, header map[string]string) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"status %d"}]}`, code)
	}
}

// Trickle answers 200 with a manifest media type and an announced body of
// size bytes, sent one byte per interval.
func Trickle(size int, interval time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for range size {
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := w.Write([]byte{' '}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

// Huge answers 200 with size bytes of zeros, announcing the length or not,
// until the client stops reading.
func Huge(size int64, announce bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		if announce {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for left := size; left > 0; left -= int64(len(chunk)) {
			if _, err := w.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}
}

// Sometimes answers every nth request of a repository with f, and the
// others from what was added.
func (reg *Registry) Sometimes(n int, f Fault) Fault {
	var mu sync.Mutex
	count := 0
	return func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		mu.Lock()
		count++
		hit := count%n == 0
		mu.Unlock()
		if hit {
			f(w, r, stop)
			return
		}
		reg.serveStored(w, r)
	}
}
