package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// serveStatus is the HTTP status and body of the answer to req, whatever
// the status.
func serveStatus(t *testing.T, h *Handler, req admission.Request) (int, []byte) {
	t.Helper()
	body := mustJSON(t, admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req.AdmissionRequest,
	})
	rh := newReviewHandler(h.endpoint, h, 8*time.Second, nil, h.cfg.Metrics, logr.Discard())
	r := httptest.NewRequest(http.MethodPost, "/mutate?timeout=10s", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	rh.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes()
}

// TestAnswerMemoUID: a remembered answer written for a request's UID is
// what a handler without the memo sends for it, status included, whatever
// the UID holds: the UID grows when it is escaped, and the answer's bound
// is on the encoding.
func TestAnswerMemoUID(t *testing.T) {
	for _, uid := range []string{
		"7c3b9a4e-0d1f-4c55-9e7a-2b6f1d8e4a10",
		`"quoted" <tag> & \back\ ` + "\x01\u2028\xff",
		strings.Repeat("x", 300<<10),
		// Raw, under maxAnswerBytes; escaped (\u003c), over it.
		strings.Repeat("<", 300<<10),
	} {
		t.Run(uid[:min(len(uid), 16)], func(t *testing.T) {
			w := newMemoWorld()
			h := NewHandler(w.cfg, Mutating)
			serveReview(t, h, w.request(t, "first"))
			req := w.request(t, uid)
			if !memoHit(h, req) {
				t.Fatal("the memo missed")
			}
			gotStatus, got := serveStatus(t, h, req)
			wantStatus, want := serveStatus(t, NewHandler(w.cfg, Mutating), req)
			if gotStatus != wantStatus || !bytes.Equal(got, want) {
				t.Errorf("the memo answered %d, %d bytes:\n%.300s\nwithout it %d, %d bytes:\n%.300s", gotStatus, len(got), got, wantStatus, len(want), want)
			}
		})
	}
}

// TestAnswerMemoOnlyOK: an answer that is not a decision (an internal
// error, sent with HTTP 500 so that the failurePolicy decides) is not
// remembered: the memo's answers are written with HTTP 200, where an error
// is a denial the API server obeys whatever the failurePolicy.
func TestAnswerMemoOnlyOK(t *testing.T) {
	m := newAnswerMemo()
	m.add("key", admission.Errored(http.StatusInternalServerError, errors.New("building the patch: the mutation changed more than it appended")))
	if a, ok := m.get("key"); ok {
		rec := httptest.NewRecorder()
		a.write(rec, a.response(), "uid")
		t.Errorf("an internal error was remembered, and written with HTTP %d: %s", rec.Code, rec.Body)
	}
}
