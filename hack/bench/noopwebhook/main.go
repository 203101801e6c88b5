// Command noopwebhook is the do-nothing admission webhook that volumeguard's
// load test measures against: it decodes the AdmissionReview including the
// Pod, and answers allowed. Same TLS setup, same machine, same load.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9443", "loopback address")
	certFile := flag.String("tls-cert-file", "", "serving certificate")
	keyFile := flag.String("tls-private-key-file", "", "serving key")
	answerBytes := flag.Int("answer-bytes", 0, "pad each answer with a warning to about this many bytes "+
		"(a mutated answer's size), so that what answering that much costs is measured apart from building it")
	flag.Parse()

	padding := ""
	if *answerBytes > 0 {
		padding = strings.Repeat("x", *answerBytes)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { handle(w, r, padding) })
	// HTTP/1.1 only, like volumeguard and controller-runtime's webhook
	// server, so that both are measured over the same protocol.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	srv := &http.Server{Addr: *listen, Handler: mux, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Protocols: protocols}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServeTLS(*certFile, *keyFile); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func handle(w http.ResponseWriter, r *http.Request, padding string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 7<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "malformed AdmissionReview", http.StatusBadRequest)
		return
	}
	var pod corev1.Pod
	if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
		http.Error(w, "malformed Pod", http.StatusBadRequest)
		return
	}
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	if padding == "" {
		_ = json.NewEncoder(w).Encode(&review)
		return
	}
	// Sent with its length, in one write, as volumeguard sends its answers.
	review.Response.Warnings = []string{padding[:max(0, len(padding)-120)]}
	answer, err := json.Marshal(&review)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	_, _ = w.Write(answer)
}
