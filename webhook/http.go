package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

var reviewType = metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"}

// reviewHandler serves one endpoint over HTTP around handle, which does
// what admission.Webhook's Handle does: recovers panics into an error
// response and completes the response (request UID, patch encoding).
// admission.Webhook's ServeHTTP is not used: it
// answers malformed input with HTTP 200 and an AdmissionReview without UID,
// which the API server cannot tell from a broken webhook, and passes a
// review without request on to the handler. This one answers those with
// 4xx statuses and a reason, bounds the time of the whole request, body
// included, by ?timeout=, the bytes held by all requests at once by
// inFlight, and the size of the answer.
type reviewHandler struct {
	handler     admission.Handler
	endpoint    Endpoint
	maxDuration time.Duration
	inFlight    *requestBytes
	metrics     *Metrics
	log         logr.Logger
}

// newReviewHandler serves h at endpoint e. inFlight is shared by the
// endpoints of one server; nil bounds this handler alone, by the default.
func newReviewHandler(e Endpoint, h admission.Handler, maxDuration time.Duration, inFlight *requestBytes, m *Metrics, log logr.Logger) *reviewHandler {
	if inFlight == nil {
		inFlight = newRequestBytes(DefaultMaxInFlightBytes)
	}
	return &reviewHandler{handler: h, endpoint: e, maxDuration: maxDuration, inFlight: inFlight, metrics: m, log: log}
}

func (rh *reviewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	limit, budgetErr := budget(r, rh.maxDuration)
	// One deadline for the whole request, its body included: the API
	// server's timeout runs from when it started sending.
	deadline := start.Add(limit)
	rc := limitTime(w, deadline)
	review, release, status, err := rh.receive(w, r, rc)
	defer release()
	if err != nil {
		rh.log.Info("refusing an admission request", "webhook", rh.endpoint, "status", status, "reason", err.Error())
		rh.metrics.request(rh.endpoint, "", "", decisionError, time.Since(start))
		writeReview(w, status, errorReview(review, status, err))
		return
	}
	if budgetErr != nil {
		rh.log.Info(budgetErr.Error(), "webhook", rh.endpoint, "uid", review.Request.UID)
	}
	rec := &record{}
	ctx, cancel := context.WithDeadline(withRecord(r.Context(), rec), deadline)
	defer cancel()

	req := admission.Request{AdmissionRequest: *review.Request}
	resp := handle(ctx, rh.handler, req, rh.log)
	if rec.answer == nil || !rec.answer.write(w, resp, string(req.UID)) {
		var body []byte
		resp, body = encodeAnswer(req, resp)
		writeJSON(w, httpStatus(resp), body)
	}
	rh.finish(req, rec, resp, time.Since(start))
}

// receive checks r, reserves room for it and reads its AdmissionReview, or
// says which HTTP status refuses it and why. release is never nil.
func (rh *reviewHandler) receive(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) (*admissionv1.AdmissionReview, func(), int, error) {
	noop := func() {}
	// A refused body is not read: the connection closes after the answer
	// rather than wait for what the client still sends.
	refuse := func(status int, err error) (*admissionv1.AdmissionReview, func(), int, error) {
		w.Header().Set("Connection", "close")
		return nil, noop, status, err
	}
	if status, err := checkRequest(w, r); err != nil {
		return refuse(status, err)
	}
	release, ok := rh.inFlight.reserve(r.ContentLength)
	if !ok {
		w.Header().Set("Retry-After", "1")
		return refuse(http.StatusTooManyRequests, errBusy)
	}
	body, status, err := readBody(w, r)
	if err != nil {
		release()
		return refuse(status, err)
	}
	// The body is in. A read deadline would now only cut net/http's wait
	// for the connection's next request, and cancel the request's context
	// before the handler's own deadline could call it a timeout.
	_ = rc.SetReadDeadline(time.Time{})
	review, status, err := decodeReview(body)
	return review, release, status, err
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

// checkRequest refuses what cannot be an AdmissionReview before its body
// is read, saying with which HTTP status and why.
func checkRequest(w http.ResponseWriter, r *http.Request) (int, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, fmt.Errorf("method %s: admission reviews are POSTed", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json", ct)
	}
	if r.ContentLength > maxRequestBytes {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body over the limit of %d bytes", maxRequestBytes)
	}
	return http.StatusOK, nil
}

// decodeReview decodes and checks an AdmissionReview, or says which HTTP
// status refuses it and why.
func decodeReview(body []byte) (*admissionv1.AdmissionReview, int, error) {
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
	writeJSON(w, status, body)
}

// writeJSON sends body with its length: without it net/http sends an answer
// over 2 KiB (a mutated pod's) chunked, in more writes and TLS records,
// which showed in the profile of the server under load (docs/benchmarks.md).
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// finish logs the request in one line, without the object, and counts it.
// The line is built only at a level that writes it, with plain strings and
// numbers, which zap encodes without reflection (named string types such as
// Mode go through zap.Any's reflection, which showed in the profile of a
// mutated answer, docs/benchmarks.md).
func (rh *reviewHandler) finish(req admission.Request, rec *record, resp admission.Response, d time.Duration) {
	decision := decisionOf(resp)
	rh.metrics.request(rh.endpoint, string(req.Operation), rec.mode, decision, d)
	log := rh.log
	switch {
	case decision == decisionError:
	case decision == decisionAllowed && rec.findings == 0 && rec.imageErrors == 0:
		// The common case stays out of the default log level.
		log = log.V(1)
	}
	if decision != decisionError && !log.Enabled() {
		return // logr writes errors whatever the verbosity
	}
	kv := []any{
		"webhook", string(rh.endpoint), "uid", string(req.UID), "namespace", req.Namespace, "name", req.Name,
		"kind", req.Kind.Kind, "subResource", req.SubResource, "operation", string(req.Operation),
		"dryRun", req.DryRun != nil && *req.DryRun, "mode", string(rec.mode), "decision", decision,
		"findings", rec.findings, "imageErrors", rec.imageErrors, "warnings", len(resp.Warnings), "duration", d,
	}
	if decision == decisionError {
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		log.Error(errors.New(msg), "answering an admission request", kv...)
		return
	}
	log.Info("admission", kv...)
}
