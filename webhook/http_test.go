package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// reviewBody is a v1 AdmissionReview around req.
func reviewBody(t testing.TB, req admission.Request) []byte {
	t.Helper()
	return mustJSON(t, admissionv1.AdmissionReview{TypeMeta: reviewType, Request: &req.AdmissionRequest})
}

// post sends body to the handler over a real HTTP server and decodes the
// AdmissionReview that comes back.
func post(t *testing.T, h http.Handler, query, contentType string, body []byte) (int, *admissionv1.AdmissionReview) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/validate"+query, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("response content type %q", ct)
	}
	raw, _ := io.ReadAll(resp.Body)
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(raw, review); err != nil || review.Response == nil {
		t.Fatalf("status %d, body is not an AdmissionReview with a response (%v): %s", resp.StatusCode, err, raw)
	}
	if review.TypeMeta != reviewType {
		t.Errorf("response is %+v, want an admission.k8s.io/v1 AdmissionReview", review.TypeMeta)
	}
	return resp.StatusCode, review
}

func TestHTTPMalformed(t *testing.T) {
	env := newEnv(ModeEnforce, nil)
	h := newReviewHandler(Validating, NewHandler(env.cfg, Validating), 8*time.Second, nil, env.cfg.Metrics, logr.Discard())
	good := reviewBody(t, request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil))
	tests := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		reason      string
	}{
		{name: "malformed JSON", contentType: "application/json", body: []byte(`{"apiVersion":`), status: http.StatusBadRequest, reason: "decoding the AdmissionReview"},
		{name: "empty body", contentType: "application/json", body: nil, status: http.StatusBadRequest, reason: "empty request body"},
		{name: "wrong content type", contentType: "application/yaml", body: good, status: http.StatusUnsupportedMediaType, reason: `content type "application/yaml"`},
		{name: "oversized body", contentType: "application/json", body: bytes.Repeat([]byte(" "), maxRequestBytes+1), status: http.StatusRequestEntityTooLarge, reason: "over the limit"},
		{name: "missing request", contentType: "application/json", body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), status: http.StatusBadRequest, reason: "has no request"},
		{name: "v1beta1", contentType: "application/json", body: []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`), status: http.StatusBadRequest, reason: "want an admission.k8s.io/v1 AdmissionReview"},
		{name: "missing uid", contentType: "application/json", body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), status: http.StatusBadRequest, reason: "no uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, review := post(t, h, "", tt.contentType, tt.body)
			if status != tt.status {
				t.Errorf("HTTP status %d, want %d", status, tt.status)
			}
			r := review.Response
			if r.Allowed || r.Result == nil || int(r.Result.Code) != tt.status || !strings.Contains(r.Result.Message, tt.reason) {
				t.Errorf("response %+v (result %+v), want refused with code %d and reason %q", r, r.Result, tt.status, tt.reason)
			}
		})
	}
	if env.inspector.Calls() != 0 {
		t.Errorf("malformed requests led to %d registry lookups", env.inspector.Calls())
	}
}

func TestHTTPAnswersWithRequestUID(t *testing.T) {
	env := newEnv(ModeMutate, nil)
	h := newReviewHandler(Mutating, NewHandler(env.cfg, Mutating), 8*time.Second, nil, env.cfg.Metrics, logr.Discard())
	req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)
	req.UID = "0d5c3c8e-1f6a-4bd6-9d0e-2b7e1b1f9c41"
	status, review := post(t, h, "?timeout=10s", "application/json", reviewBody(t, req))
	r := review.Response
	if status != http.StatusOK || r.UID != req.UID {
		t.Fatalf("status %d, response UID %q, want 200 and %q", status, r.UID, req.UID)
	}
	// The patch travels encoded, with its type, as the API server requires.
	if !r.Allowed || r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch || !bytes.Contains(r.Patch, []byte(`"/spec/volumes/-"`)) {
		t.Errorf("response %+v, want allowed with a JSONPatch adding volumes", r)
	}
	if got := counterValue(t, env.cfg.Metrics.requests.WithLabelValues("mutate", "CREATE", "mutate", decisionPatched)); got != 1 {
		t.Errorf("patched requests counted %v, want 1", got)
	}
}

func TestHTTPRecoversPanic(t *testing.T) {
	panicking := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response { panic("boom") })
	h := newReviewHandler(Validating, panicking, 8*time.Second, nil, NewMetrics(), logr.Discard())
	req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)
	status, review := post(t, h, "", "application/json", reviewBody(t, req))
	r := review.Response
	// HTTP 500, so that the webhook configuration's failurePolicy decides,
	// with the UID and the reason still in the body for the logs.
	if status != http.StatusInternalServerError || r.UID != req.UID || r.Allowed || r.Result == nil || r.Result.Code != http.StatusInternalServerError || !strings.Contains(r.Result.Message, "boom") {
		t.Errorf("status %d, response %+v (result %+v); want HTTP 500 with the request UID and the reason", status, r, r.Result)
	}
}

// TestHTTPRegistryTimeout: a registry that never answers must not hold the
// request past the API server's ?timeout=; the answer follows --on-registry-error.
func TestHTTPRegistryTimeout(t *testing.T) {
	tests := []struct {
		policy  RegistryErrorPolicy
		allowed bool
	}{
		{AllowOnRegistryError, true},
		{DenyOnRegistryError, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			env := newEnv(ModeEnforce, nil)
			env.inspector.block = true
			env.cfg.OnRegistryError = tt.policy
			h := newReviewHandler(Validating, NewHandler(env.cfg, Validating), 8*time.Second, nil, env.cfg.Metrics, logr.Discard())
			req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)

			status, review := post(t, h, "?timeout=1s", "application/json", reviewBody(t, req))
			// The API server's 1s, not the handler's 8s, bounds the lookups:
			// checked on the deadline they were given, not on the clock, which
			// a loaded machine stretches.
			env.inspector.mu.Lock()
			left := slices.Clone(env.inspector.left)
			env.inspector.mu.Unlock()
			for _, l := range left {
				if l <= 0 || l >= time.Second {
					t.Errorf("a lookup began with %s left, want a deadline within the API server's 1s timeout", l)
				}
			}
			if len(left) == 0 {
				t.Error("no lookup was made")
			}
			r := review.Response
			if status != http.StatusOK || r.UID != req.UID || r.Allowed != tt.allowed {
				t.Fatalf("status %d, response %+v; want allowed=%v", status, r, tt.allowed)
			}
			text := strings.Join(r.Warnings, "\n")
			if !tt.allowed {
				text = r.Result.Message
			}
			for _, want := range []string{zkImage, "(timeout)"} {
				if !strings.Contains(text, want) {
					t.Errorf("answer lacks %q: %s", want, text)
				}
			}
			if got := counterValue(t, env.cfg.Metrics.lookupErrors.WithLabelValues("validate", "timeout")); got != 2 {
				t.Errorf("timeouts counted %v, want 2 (two images)", got)
			}
		})
	}
}
