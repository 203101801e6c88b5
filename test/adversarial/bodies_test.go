package adversarial

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// TestSlowBodies is issue 8's case 3: clients that declare a 7 MB body and
// send it one byte every 2 s, over 300 connections, and clients that send
// 6.5 MB and stall, over 80. Before the fix they held hundreds of
// goroutines and descriptors for minutes, and 740 MB. Now a connection
// holds the server until the request's deadline at most (a body must
// arrive within it: 408), those past 32 MiB of declared bodies in flight
// are refused at once (429), legitimate reviews are answered in time
// throughout, and the process stays within its bounds.
func TestSlowBodies(t *testing.T) {
	srv, idle := startServe(t, false)
	stop := watch(t, srv)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.cp.Webhook.LocalServingCAData)
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	const deadline = 3 * time.Second // the ?timeout= of the slow requests
	// A connection must be let go by its deadline plus the time given to
	// write the answer (5 s), and a little for a busy machine.
	const closeWithin = deadline + 5*time.Second + 5*time.Second
	attacks := []struct {
		name    string
		conns   int
		prefix  int // bytes sent at once before trickling
		trickle time.Duration
	}{
		{"1 byte every 2 s", 300, 0, 2 * time.Second},
		{"6.5 MB then a stall", 80, 6_500_000, time.Hour},
	}
	var wg sync.WaitGroup
	results := make([][]slowResult, len(attacks))
	for a, attack := range attacks {
		results[a] = make([]slowResult, attack.conns)
		for c := range attack.conns {
			wg.Go(func() {
				results[a][c] = slowRequest(srv.Addr, tlsConfig, deadline, attack.prefix, attack.trickle, closeWithin+5*time.Second)
			})
		}
	}

	// Meanwhile, a pod is answered in time, again and again.
	reg := harness.StartRegistry(t)
	reg.AddImage(t, "zookeeper", "1", mustImage(t, "/data"))
	rv := reviewer(srv)
	for i := range 10 {
		pod := harness.Pod("legit", "adv-enforce", reg.Ref("zookeeper", "1"))
		a, err := rv.Post(context.Background(), "/validate", reviewTimeout, harness.PodReview(fmt.Sprint("legit-", i), "adv-enforce", pod))
		if err != nil || a.Response().Allowed {
			t.Errorf("legitimate review %d during the attack: %v; want denied in time", i, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	wg.Wait()

	for a, attack := range attacks {
		statuses := map[int]int{}
		var slowest time.Duration
		for _, r := range results[a] {
			statuses[r.status]++
			slowest = max(slowest, r.closedAfter)
			if r.err != nil || r.closedAfter > closeWithin {
				t.Errorf("%s: connection let go after %s (%v); want at most %s", attack.name, r.closedAfter, r.err, closeWithin)
			}
		}
		// 4 requests of 7 MB fit in 32 MiB; all the others are refused.
		if statuses[http.StatusTooManyRequests] < attack.conns-8 || statuses[http.StatusOK] > 0 {
			t.Errorf("%s: statuses %v; want all but a few 429", attack.name, statuses)
		}
		t.Logf("%s over %d connections: statuses %v, the last let go after %s", attack.name, attack.conns, statuses, slowest.Round(time.Millisecond))
	}
	assertBounded(t, srv, idle, stop())
}

type slowResult struct {
	status      int           // of the answer; 0 if none
	closedAfter time.Duration // until the server closed the connection
	err         error
}

// slowRequest posts a review declaring 7,000,000 bytes, sends prefix bytes
// of it at once and then one byte per trickle, and reports the server's
// answer and when it closed the connection; it gives up after limit.
func slowRequest(addr string, tlsConfig *tls.Config, deadline time.Duration, prefix int, trickle, limit time.Duration) slowResult {
	start := time.Now()
	conn, err := tls.Dial("tcp", addr, tlsConfig)
	if err != nil {
		return slowResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(start.Add(limit))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		fmt.Fprintf(conn, "POST /validate?timeout=%s HTTP/1.1\r\nHost: volumeguard\r\nContent-Type: application/json\r\nContent-Length: 7000000\r\n\r\n", deadline)
		if prefix > 0 {
			if _, err := conn.Write(make([]byte, prefix)); err != nil {
				return
			}
		}
		tick := time.NewTicker(trickle)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := conn.Write([]byte{' '}); err != nil {
					return
				}
			}
		}
	}()
	br := bufio.NewReader(conn)
	res := slowResult{}
	if resp, err := http.ReadResponse(br, nil); err == nil {
		res.status = resp.StatusCode
		resp.Body.Close()
	}
	// Then the server closes the connection (an end, or a reset when it
	// leaves bytes unread); only our own deadline is a failure.
	_, err = io.Copy(io.Discard, br)
	res.closedAfter = time.Since(start)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		res.err = fmt.Errorf("the server kept the connection open: %w", err)
	}
	return res
}
