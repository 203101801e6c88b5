package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Reviewer sends AdmissionReviews to a webhook over TLS, as the API
// server does: POST, ?timeout= from timeoutSeconds, keep-alive.
type Reviewer struct {
	client *http.Client
	base   string
}

// NewReviewer sends to https://addr, trusting caPEM.
func NewReviewer(caPEM []byte, addr string) *Reviewer {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
	}
	return &Reviewer{client: &http.Client{Transport: tr}, base: "https://" + addr}
}

// Answer is what a webhook answered, and how long it took.
type Answer struct {
	Status int
	Review admissionv1.AdmissionReview
	Bytes  int
	Took   time.Duration
}

// Response is the review's response; never nil for an answer Post returned.
func (a *Answer) Response() *admissionv1.AdmissionResponse { return a.Review.Response }

// Message is the response's status message, if any.
func (a *Answer) Message() string {
	if r := a.Review.Response; r != nil && r.Result != nil {
		return r.Result.Message
	}
	return ""
}

// Post sends review to path with ?timeout=timeout and gives up after
// timeout, as the API server does. An answer that is not an
// AdmissionReview with a response is an error.
func (rv *Reviewer) Post(ctx context.Context, path string, timeout time.Duration, review []byte) (*Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := fmt.Sprintf("%s%s?timeout=%s", rv.base, path, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(review))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := rv.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a := &Answer{Status: resp.StatusCode, Bytes: len(body), Took: time.Since(start)}
	if err != nil {
		return a, fmt.Errorf("reading the answer: %w", err)
	}
	if err := json.Unmarshal(body, &a.Review); err != nil || a.Review.Response == nil {
		return a, fmt.Errorf("HTTP %d, not an AdmissionReview (%v): %.300s", resp.StatusCode, err, body)
	}
	return a, nil
}

// PodReview is the AdmissionReview of creating pod in namespace.
func PodReview(uid, namespace string, pod *corev1.Pod) []byte {
	raw, _ := json.Marshal(pod)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:         types.UID(uid),
			Kind:        metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:    metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			RequestKind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Name:        pod.Name,
			Namespace:   namespace,
			Operation:   admissionv1.Create,
			Object:      runtime.RawExtension{Raw: raw},
		},
	}
	b, _ := json.Marshal(review)
	return b
}

// Pod is a pod in namespace with one container per image, named c0, c1,
// ..., mounting nothing.
func Pod(name, namespace string, images ...string) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
	}
	for i, image := range images {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: image})
	}
	return pod
}

// Repeat is n copies of s.
func Repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// IsVolumeguardDenial reports whether err is the API server relaying
// volumeguard's denial of a pod.
func IsVolumeguardDenial(err error) bool {
	return err != nil && strings.Contains(err.Error(), "volumeguard (mode ")
}
