// Command loadgen drives admission webhooks over TLS with AdmissionReviews of
// a realistic pod and prints throughput and latency percentiles per target,
// so volumeguard and a do-nothing webhook are measured in one run.
//
//	loadgen -ca ca.crt -c 2,8,32 -d 10s volumeguard=https://127.0.0.1:8443/mutate noop=https://127.0.0.1:9443/
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type target struct{ name, url string }

type result struct {
	requests  int
	errors    int
	newConns  int
	elapsed   time.Duration
	latencies []time.Duration
}

func main() {
	caFile := flag.String("ca", "", "CA certificate of the webhooks")
	conc := flag.String("c", "2,8,32", "concurrency levels, comma separated")
	duration := flag.Duration("d", 10*time.Second, "duration per target and level")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up per target and level, not measured")
	podFile := flag.String("pod", "", "pod JSON to send (default: a zookeeper-like pod)")
	image := flag.String("image", "zookeeper:3.4.13", "image of the default pod")
	namespace := flag.String("namespace", "default", "namespace of the reviews (it should exist: webhooks look it up)")
	varyToken := flag.Bool("vary-token-volume", true, "give each review's pod its own service-account token volume name ("+
		tokenVolume+"<5 characters>), as the API server does for every pod of a ReplicaSet")
	rounds := flag.Int("rounds", 1, "measure the targets in turn this many times per level, d/rounds each, and add up: "+
		"on shared cores the load of other processes then falls on every target alike")
	flag.Parse()

	var targets []target
	for _, arg := range flag.Args() {
		name, url, ok := strings.Cut(arg, "=")
		if !ok {
			log.Fatalf("target %q: want NAME=URL", arg)
		}
		targets = append(targets, target{name, url})
	}
	client, err := newClient(*caFile)
	if err != nil {
		log.Fatal(err)
	}
	pod := defaultPod(*image, *namespace)
	if *podFile != "" {
		if pod, err = os.ReadFile(*podFile); err != nil {
			log.Fatal(err)
		}
	}
	pods := func(int) []byte { return pod }
	if *varyToken && bytes.Contains(pod, []byte(defaultToken)) {
		pods = tokenVariants(pod)
	}
	fmt.Printf("%-12s %5s %10s %9s %9s %9s %7s %6s\n", "target", "conc", "req/s", "p50_ms", "p90_ms", "p99_ms", "errors", "conns")
	if *rounds < 1 {
		log.Fatalf("rounds %d: want at least 1", *rounds)
	}
	for _, c := range levels(*conc) {
		for _, t := range targets {
			drive(client, t, *namespace, pods, c, *warmup)
		}
		results := make([]result, len(targets))
		for range *rounds {
			for i, t := range targets {
				results[i].add(drive(client, t, *namespace, pods, c, *duration/time.Duration(*rounds)))
			}
		}
		base := 0.0
		for i, t := range targets {
			r := results[i]
			rps := float64(r.requests) / r.elapsed.Seconds()
			ratio := ""
			if i == 0 {
				base = rps
			} else if rps > 0 {
				ratio = fmt.Sprintf("  (%s/%s throughput %.2fx)", targets[0].name, t.name, base/rps)
			}
			fmt.Printf("%-12s %5d %10.0f %9.2f %9.2f %9.2f %7d %6d%s\n", t.name, c, rps,
				ms(pct(r.latencies, 50)), ms(pct(r.latencies, 90)), ms(pct(r.latencies, 99)), r.errors, r.newConns, ratio)
		}
	}
}

func (r *result) add(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.newConns += o.newConns
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
}

func newClient(caFile string) (*http.Client, error) {
	pool := x509.NewCertPool()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA %q: %w", caFile, err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	// Like kube-apiserver: keep-alive connections, HTTP/2 allowed over TLS.
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

func levels(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("concurrency %q: want positive integers", f)
		}
		out = append(out, n)
	}
	return out
}

// drive sends reviews from c workers for d and collects every latency.
func drive(client *http.Client, t target, namespace string, pods func(int) []byte, c int, d time.Duration) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	total := result{}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := result{}
			for i := 0; ctx.Err() == nil; i++ {
				uid := fmt.Sprintf("%d-%d", w, i)
				body := review(uid, namespace, pods(i))
				t0 := time.Now()
				ok, reused := send(client, t.url, uid, body)
				if !reused {
					local.newConns++
				}
				if ctx.Err() != nil {
					break
				}
				local.latencies = append(local.latencies, time.Since(t0))
				local.requests++
				if !ok {
					local.errors++
				}
			}
			mu.Lock()
			total.requests += local.requests
			total.errors += local.errors
			total.newConns += local.newConns
			total.latencies = append(total.latencies, local.latencies...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// send posts one review; it reports whether the answer was a review and
// whether the request went over a kept-alive connection.
func send(client *http.Client, url, uid string, body []byte) (ok, reused bool) {
	req, err := http.NewRequest(http.MethodPost, url+"?timeout=10s", bytes.NewReader(body))
	if err != nil {
		return false, false
	}
	req.Header.Set("Content-Type", "application/json")
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		return false, reused
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	// An answer is a review carrying the request's UID. Looking for it
	// instead of decoding the whole answer keeps the load generator's cost
	// the same for a one-line answer and one with a patch and warnings: it
	// shares the cores with the server it measures.
	return err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(data, []byte(`"uid":"`+uid+`"`)), reused
}

func review(uid, namespace string, pod []byte) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{` +
		`"uid":"` + uid + `","kind":{"group":"","version":"v1","kind":"Pod"},` +
		`"resource":{"group":"","version":"v1","resource":"pods"},"requestKind":{"group":"","version":"v1","kind":"Pod"},` +
		`"namespace":"` + namespace + `","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller"},` +
		`"object":` + string(pod) + `,"oldObject":null,"dryRun":false,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"}}}`)
}

const (
	tokenVolume  = "kube-api-access-"
	defaultToken = tokenVolume + "abcde"
)

// tokenVariants returns pod with its token volume named anew, from a set
// built once so that the load generator's own work stays small.
func tokenVariants(pod []byte) func(int) []byte {
	const n = 1024
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // as the API server's random suffixes
	variants := make([][]byte, n)
	for i := range variants {
		var suffix [5]byte
		for k, x := 0, i*7919+13; k < len(suffix); k, x = k+1, x/len(alphabet) {
			suffix[k] = alphabet[x%len(alphabet)]
		}
		variants[i] = bytes.ReplaceAll(pod, []byte(defaultToken), []byte(tokenVolume+string(suffix[:])))
	}
	return func(i int) []byte { return variants[i%n] }
}

// defaultPod looks like a pod a ReplicaSet creates: labels, owner, probes,
// resources, env, a sidecar, service account token volume (defaultToken).
func defaultPod(image, namespace string) []byte {
	return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"zk-7d9f8b6c5d-","namespace":"` + namespace + `",` +
		`"labels":{"app":"zk","pod-template-hash":"7d9f8b6c5d"},"annotations":{"prometheus.io/scrape":"true"},` +
		`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"zk-7d9f8b6c5d","uid":"3c1d7e1a-4a3b-4f0e-9f43-1b2c3d4e5f60","controller":true,"blockOwnerDeletion":true}]},` +
		`"spec":{"serviceAccountName":"default","containers":[{"name":"zk","image":"` + image + `",` +
		`"ports":[{"containerPort":2181,"name":"client"},{"containerPort":2888,"name":"server"},{"containerPort":3888,"name":"leader"}],` +
		`"env":[{"name":"ZOO_MY_ID","value":"1"},{"name":"ZOO_SERVERS","value":"server.1=zk-0:2888:3888"}],` +
		`"resources":{"requests":{"cpu":"100m","memory":"256Mi"},"limits":{"memory":"512Mi"}},` +
		`"readinessProbe":{"tcpSocket":{"port":2181},"periodSeconds":10},` +
		`"volumeMounts":[{"name":"kube-api-access-abcde","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}]},` +
		`{"name":"exporter","image":"` + image + `","volumeMounts":[{"name":"kube-api-access-abcde","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}]}],` +
		`"volumes":[{"name":"kube-api-access-abcde","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}}]}}],` +
		`"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst"}}`)
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, len(ds)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
