package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// maxRequestBytes bounds a review as controller-runtime does: the old and
// the new object of at most 3 MiB each (etcd's request limit), plus 1 MiB.
const maxRequestBytes = 7 << 20

var reviewType = metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"}

// reviewHandler serves one endpoint over HTTP around admission.Webhook's
// Handle, which recovers panics into an error response and completes the
// response (request UID, patch encoding). Its ServeHTTP is not used: it
// answers malformed input with HTTP 200 and an AdmissionReview without UID,
// which the API server cannot tell from a broken webhook, and passes a
// review without request on to the handler. This one answers those with
// 4xx statuses and a reason, and bounds the answer's time by ?timeout=.
type reviewHandler struct {
	hook        *admission.Webhook
	endpoint    Endpoint
	maxDuration time.Duration
	metrics     *Metrics
	log         logr.Logger
}

func newReviewHandler(e Endpoint, h admission.Handler, maxDuration time.Duration, m *Metrics, log logr.Logger) *reviewHandler {
	recoverPanic := true
	hook := &admission.Webhook{
		Handler:      h,
		RecoverPanic: &recoverPanic,
		// Our logger, not controller-runtime's global one.
		LogConstructor: func(logr.Logger, *admission.Request) logr.Logger { return log },
	}
	return &reviewHandler{hook: hook, endpoint: e, maxDuration: maxDuration, metrics: m, log: log}
}

func (rh *reviewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	review, status, err := readReview(w, r)
	if err != nil {
		rh.log.Info("refusing a malformed admission request", "webhook", rh.endpoint, "status", status, "reason", err.Error())
		rh.metrics.request(rh.endpoint, "", "", decisionError, time.Since(start))
		writeReview(w, status, errorReview(review, status, err))
		return
	}
	limit, err := budget(r, rh.maxDuration)
	if err != nil {
		rh.log.Info(err.Error(), "webhook", rh.endpoint, "uid", review.Request.UID)
	}
	rec := &record{}
	ctx, cancel := context.WithTimeout(withRecord(r.Context(), rec), limit)
	defer cancel()

	req := admission.Request{AdmissionRequest: *review.Request}
	resp := rh.hook.Handle(ctx, req)
	writeReview(w, httpStatus(resp), &admissionv1.AdmissionReview{TypeMeta: reviewType, Response: &resp.AdmissionResponse})
	rh.finish(req, rec, resp, time.Since(start))
}

// httpStatus is 200 for every decision, and 500 for volumeguard's own
// failures (a recovered panic, a patch it could not build). An error inside
// a 200 answer is a denial the API server obeys whatever the configuration
// says; a 500 is a webhook failure, so the webhook configuration's
// failurePolicy decides: an audit rollout (Ignore) never blocks a pod
// because of a volumeguard bug, enforce (Fail) never lets one through.
func httpStatus(resp admission.Response) int {
	if !resp.Allowed && resp.Result != nil && resp.Result.Code >= http.StatusInternalServerError {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// readReview reads and checks the AdmissionReview of r, or says which HTTP
// status refuses it and why.
func readReview(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, int, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s: admission reviews are POSTed", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over the limit of %d bytes", maxRequestBytes)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	case len(body) == 0:
		return nil, http.StatusBadRequest, errors.New("empty request body: want an AdmissionReview")
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decoding the AdmissionReview: %w", err)
	}
	if review.TypeMeta != reviewType {
		return review, http.StatusBadRequest, fmt.Errorf("apiVersion %q kind %q: want an %s %s", review.APIVersion, review.Kind, reviewType.APIVersion, reviewType.Kind)
	}
	if review.Request == nil {
		return review, http.StatusBadRequest, errors.New("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return review, http.StatusBadRequest, errors.New("the admission request has no uid")
	}
	return review, http.StatusOK, nil
}

// errorReview answers a refused request, with its UID when it has one.
func errorReview(review *admissionv1.AdmissionReview, status int, err error) *admissionv1.AdmissionReview {
	var uid types.UID
	if review != nil && review.Request != nil {
		uid = review.Request.UID
	}
	return &admissionv1.AdmissionReview{TypeMeta: reviewType, Response: &admissionv1.AdmissionResponse{
		UID:    uid,
		Result: &metav1.Status{Status: metav1.StatusFailure, Code: int32(status), Message: err.Error()},
	}}
}

func writeReview(w http.ResponseWriter, status int, review *admissionv1.AdmissionReview) {
	body, err := json.Marshal(review)
	if err != nil {
		http.Error(w, "encoding the AdmissionReview: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// finish logs the request in one line, without the object, and counts it.
func (rh *reviewHandler) finish(req admission.Request, rec *record, resp admission.Response, d time.Duration) {
	decision := decisionOf(resp)
	rh.metrics.request(rh.endpoint, string(req.Operation), rec.mode, decision, d)
	kv := []any{
		"webhook", rh.endpoint, "uid", req.UID, "namespace", req.Namespace, "name", req.Name,
		"kind", req.Kind.Kind, "subResource", req.SubResource, "operation", req.Operation,
		"dryRun", req.DryRun != nil && *req.DryRun, "mode", rec.mode, "decision", decision,
		"findings", rec.findings, "imageErrors", rec.imageErrors, "warnings", len(resp.Warnings), "duration", d,
	}
	switch {
	case decision == decisionError:
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		rh.log.Error(errors.New(msg), "answering an admission request", kv...)
	case decision == decisionAllowed && rec.findings == 0 && rec.imageErrors == 0:
		// The common case stays out of the default log level.
		rh.log.V(1).Info("admission", kv...)
	default:
		rh.log.Info("admission", kv...)
	}
}
