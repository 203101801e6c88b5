package imageinspect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// assertErr checks that err is kind and that its message says each of says.
func assertErr(t *testing.T, err, kind error, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("error %q is not %q", err, kind)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestInspectErrors(t *testing.T) {
	plain := startRegistry(t, nil)
	pushImage(t, plain, "there:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	pushImage(t, plain, "chart:1", imageSpec{mediaType: types.OCIManifestSchema1, configMediaType: "application/vnd.cncf.helm.config.v1+json"})

	fake := serve(t, fakeRegistry(map[string]fakeManifest{
		"old/manifests/v1": {
			contentType: string(types.DockerManifestSchema1Signed),
			body:        `{"schemaVersion":1,"name":"old","tag":"v1","architecture":"amd64","fsLayers":[],"history":[]}`,
		},
		"odd/manifests/v1": {
			contentType: "application/vnd.example.thing+json",
			body:        `{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}`,
		},
		"null/manifests/v1":      {contentType: string(types.OCIManifestSchema1), body: "null"},
		"nullindex/manifests/v1": {contentType: string(types.OCIImageIndex), body: " null\n"},
		"noconfig/manifests/v1": {
			contentType: string(types.OCIManifestSchema1),
			body:        fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"layers":[]}`, types.OCIManifestSchema1),
		},
		// An index whose entry says it is 1 GiB: refused without asking for it.
		"huge/manifests/v1": {
			contentType: string(types.OCIImageIndex),
			body: fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"size":%d,"digest":"sha256:%s","platform":{"os":"linux","architecture":"amd64"}}]}`,
				types.OCIImageIndex, types.OCIManifestSchema1, 1<<30, strings.Repeat("a", 64)),
		},
	}))

	for _, tc := range []struct {
		name string
		ref  string
		opts []Option
		kind error
		says []string
	}{
		{name: "missing repository", ref: plain + "/nothere:1", kind: ErrNotFound, says: []string{plain + "/nothere:1", "check the image name"}},
		{name: "missing tag", ref: plain + "/there:2", kind: ErrNotFound, says: []string{plain + "/there:2"}},
		{name: "missing digest", ref: plain + "/there@sha256:" + strings.Repeat("0", 64), kind: ErrNotFound},
		{name: "invalid reference", ref: "UPPER/Case:1", kind: ErrInvalidReference, says: []string{"UPPER/Case:1"}},
		{name: "empty reference", ref: "", kind: ErrInvalidReference},
		{name: "schema 1", ref: fake + "/old:v1", kind: ErrUnsupportedMediaType, says: []string{fake + "/old:v1", "schema 1", "rebuild and push"}},
		{name: "unknown media type", ref: fake + "/odd:v1", kind: ErrUnsupportedMediaType, says: []string{"application/vnd.example.thing+json"}},
		{name: "not a container image", ref: plain + "/chart:1", kind: ErrUnsupportedMediaType, says: []string{"helm"}},
		{name: "null manifest", ref: fake + "/null:v1", says: []string{fake + "/null:v1", "JSON null instead of a manifest"}},
		{name: "null index", ref: fake + "/nullindex:v1", says: []string{"JSON null instead of a manifest"}},
		{name: "manifest without config", ref: fake + "/noconfig:v1", says: []string{"names no config digest"}},
		{name: "manifest over the limit", ref: plain + "/there:1", opts: []Option{WithMaxManifestBytes(100)}, kind: ErrTooLarge, says: []string{"manifest", "100 byte limit"}},
		{name: "index entry over the limit", ref: fake + "/huge:v1", kind: ErrTooLarge, says: []string{"linux/amd64"}},
		{name: "config over the limit", ref: plain + "/there:1", opts: []Option{WithMaxConfigBytes(64)}, kind: ErrTooLarge, says: []string{"config", "64 byte limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newTestInspector(t, tc.opts...)
			_, err := in.Inspect(context.Background(), tc.ref, nil)
			assertErr(t, err, tc.kind, tc.says...)
		})
	}

	t.Run("config over the limit is not fetched", func(t *testing.T) {
		ct := newCountingTransport()
		in := newTestInspector(t, WithTransport(ct), WithMaxConfigBytes(64))
		_, err := in.Inspect(context.Background(), plain+"/there:1", nil)
		assertErr(t, err, ErrTooLarge)
		if n := ct.blobs.Load(); n != 0 {
			t.Errorf("sent %d blob GETs, want 0", n)
		}
	})
	t.Run("errors are not cached", func(t *testing.T) {
		in := newTestInspector(t, WithNotFoundTTL(0))
		for range 2 {
			_, err := in.Inspect(context.Background(), plain+"/later:1", nil)
			assertErr(t, err, ErrNotFound)
		}
		pushImage(t, plain, "later:1", imageSpec{platform: Platform{"linux", "amd64", ""}})
		if _, err := in.Inspect(context.Background(), plain+"/later:1", nil); err != nil {
			t.Errorf("after the push: %v", err)
		}
	})
}

func TestInspectManifestWithoutContentLength(t *testing.T) {
	// Registries may omit Content-Length: the body is cut while reading.
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.URL.Path, "/manifests/") || r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			body := rec.Body.Bytes()
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush() // forces chunked encoding
			w.Write(body[len(body)/2:])
		})
	})
	pushImage(t, host, "chunked:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})

	if _, err := newTestInspector(t).Inspect(context.Background(), host+"/chunked:1", nil); err != nil {
		t.Fatalf("within the limit: %v", err)
	}
	_, err := newTestInspector(t, WithMaxManifestBytes(100)).Inspect(context.Background(), host+"/chunked:1", nil)
	assertErr(t, err, ErrTooLarge, "over the 100 byte limit")
}

func TestInspectTamperedConfig(t *testing.T) {
	// A registry that serves other bytes than the digest names is caught.
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.URL.Path, "/blobs/sha256:") || r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			// Same length, still valid JSON: only the digest tells.
			w.Write(bytes.Replace(rec.Body.Bytes(), []byte("/data"), []byte("/fake"), 1))
		})
	})
	pushImage(t, host, "tampered:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})

	in := newTestInspector(t)
	_, err := in.Inspect(context.Background(), host+"/tampered:1", nil)
	assertErr(t, err, ErrDigestMismatch, "reading config sha256:", host+"/tampered:1", "digest mismatch")
	if _, err := in.Inspect(context.Background(), host+"/tampered:1", nil); err == nil {
		t.Error("second inspection succeeded: a bad config was cached")
	}
}

func TestInspectUnauthorized(t *testing.T) {
	host := startRegistry(t, requireBasicAuth)
	pushImage(t, host, "private:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	ref := host + "/private:1"

	for _, tc := range []struct {
		name     string
		keychain staticKeychain
		ok       bool
	}{
		{name: "anonymous", keychain: staticKeychain{}},
		{name: "wrong password", keychain: staticKeychain{host: host, user: testUser, pass: "nope"}},
		{name: "credentials for another registry", keychain: staticKeychain{host: "elsewhere.example", user: testUser, pass: testPass}},
		{name: "right credentials", keychain: staticKeychain{host: host, user: testUser, pass: testPass}, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := mustNew(t, WithKeychain(tc.keychain)).Inspect(context.Background(), ref, nil)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := img.Platforms[0].Volumes; len(got) != 1 || got[0] != "/data" {
					t.Errorf("volumes = %v, want [/data]", got)
				}
				return
			}
			assertErr(t, err, ErrUnauthorized, ref, "imagePullSecrets")
			if strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), testPass) {
				t.Errorf("error shows a password: %q", err)
			}
		})
	}
}

func TestInspectCredentialsRotate(t *testing.T) {
	// After a 401 the next inspection reads credentials again instead of
	// reusing the transport authenticated with the rejected ones.
	host := startRegistry(t, requireBasicAuth)
	pushImage(t, host, "rotating:1", imageSpec{platform: Platform{"linux", "amd64", ""}})
	kc := &rotatingKeychain{}
	kc.set(staticKeychain{host: host, user: testUser, pass: "expired"})
	in := mustNew(t, WithKeychain(kc))

	_, err := in.Inspect(context.Background(), host+"/rotating:1", nil)
	assertErr(t, err, ErrUnauthorized)
	kc.set(staticKeychain{host: host, user: testUser, pass: testPass})
	if _, err := in.Inspect(context.Background(), host+"/rotating:1", nil); err != nil {
		t.Errorf("after the credentials changed: %v", err)
	}
}

// rotatingKeychain hands out whichever credentials were set last.
type rotatingKeychain struct {
	mu sync.Mutex
	kc staticKeychain
}

func (r *rotatingKeychain) set(kc staticKeychain) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kc = kc
}

func (r *rotatingKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kc.Resolve(res)
}

// TestInspectTimeout: a registry that does not answer before the lookup's
// deadline is blamed; a deadline the caller set with a cause (a run's
// overall --timeout) is said instead, for it is no registry's fault.
func TestInspectTimeout(t *testing.T) {
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
				<-r.Context().Done() // hangs until the client gives up
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	overall := errors.New("the overall timeout of 200ms expired")
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		says    string
		notSays string
	}{
		{"the lookup's own deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, "did not answer in time", ""},
		{"a parent's deadline with a cause", func() (context.Context, context.CancelFunc) {
			parent, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, overall)
			ctx, cancelChild := context.WithTimeout(parent, time.Hour)
			return ctx, func() { cancelChild(); cancel() }
		}, overall.Error(), "did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := newTestInspector(t).Inspect(ctx, host+"/hangs:1", nil)
				done <- err
			}()
			select {
			case err := <-done:
				assertErr(t, err, ErrTimeout, host+"/hangs:1", tt.says)
				if tt.notSays != "" && strings.Contains(err.Error(), tt.notSays) {
					t.Errorf("error %q blames the registry", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Inspect did not return after its context's deadline")
			}
		})
	}
}

type fakeManifest struct{ contentType, body string }

// fakeRegistry answers the ping and serves fixed manifests by
// "<repo>/manifests/<ref>", for what the real registry refuses to store.
func fakeRegistry(manifests map[string]fakeManifest) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		m, ok := manifests[strings.TrimPrefix(r.URL.Path, "/v2/")]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
			return
		}
		w.Header().Set("Content-Type", m.contentType)
		io.WriteString(w, m.body)
	})
}
