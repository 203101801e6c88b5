package webhook

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// hangGuard keeps a broken server from hanging a test: it is a bound on
// liveness, far past any deadline the tests set, not a timing assertion.
const hangGuard = 60 * time.Second

// startAdmissionServer serves the admission endpoints as Run does (same
// mux, same server settings), over plain HTTP on loopback.
func startAdmissionServer(t *testing.T, maxDuration time.Duration, maxInFlight int64) string {
	t.Helper()
	env := newEnv(ModeAudit, nil)
	mux := admissionMux(env.cfg, maxDuration, maxInFlight, logr.Discard())
	srv := admissionServer(mux, nil, stdlog.New(io.Discard, "", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// sendHead opens a connection and sends the headers of a review of
// contentLength bytes, then part of its body.
func sendHead(t *testing.T, addr, query string, contentLength int, part []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST /validate%s HTTP/1.1\r\nHost: volumeguard\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", query, contentLength)
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	if len(part) > 0 {
		// The server may refuse and close before it has it all.
		go func() { _, _ = conn.Write(part) }()
	}
	return conn
}

// answerAndClose reads the server's answer on conn and then the end of the
// connection; it returns the status, or 0 and the reason.
func answerAndClose(conn net.Conn) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(hangGuard))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, fmt.Errorf("no answer: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// EOF, or a reset where the server closed with the body unread.
	var netErr net.Error
	if _, err := br.ReadByte(); err == nil || errors.As(err, &netErr) && netErr.Timeout() {
		return resp.StatusCode, fmt.Errorf("answered %d but kept the connection open (%v)", resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// goroutinesSettle waits for the goroutine count to come back to at most
// limit, and reports the last count.
func goroutinesSettle(limit int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(hangGuard); n > limit && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// TestServerCutsSlowBodies: a client that declares a large body and then
// trickles it, or stalls, is answered 408 and disconnected at the
// request's deadline (or 429 at once, beyond the bytes in flight), and
// what it held goes with it. Before, only the
// headers had a time limit: 500 such connections held 554 goroutines for
// as long as their clients liked.
func TestServerCutsSlowBodies(t *testing.T) {
	const conns, declared = 40, 7_000_000
	tests := []struct {
		name    string
		part    []byte
		trickle bool
	}{
		{name: "trickled", trickle: true},
		{name: "stalled", part: bytes.Repeat([]byte(" "), 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			addr := startAdmissionServer(t, 2*time.Second, 0)
			stop := make(chan struct{})
			var clients sync.WaitGroup
			open := make([]net.Conn, conns)
			for i := range open {
				open[i] = sendHead(t, addr, "?timeout=1s", declared, tt.part)
				if tt.trickle {
					clients.Go(func() { trickle(open[i], stop) })
				}
			}
			var wg sync.WaitGroup
			results := make([]error, conns)
			statuses := make([]int, conns)
			for i, c := range open {
				wg.Go(func() { statuses[i], results[i] = answerAndClose(c) })
			}
			wg.Wait()
			close(stop)
			clients.Wait()
			// As many as the bytes in flight allow are read until their
			// deadline, 408; the others are refused at once, 429.
			cut := 0
			for i, c := range open {
				c.Close()
				if results[i] != nil || statuses[i] != http.StatusRequestTimeout && statuses[i] != http.StatusTooManyRequests {
					t.Errorf("connection %d: status %d, %v; want 408 or 429, and closed", i, statuses[i], results[i])
				}
				if statuses[i] == http.StatusRequestTimeout {
					cut++
				}
			}
			if want := DefaultMaxInFlightBytes / declared; cut < want {
				t.Errorf("%d requests cut at their deadline, want %d: those the bytes in flight allow", cut, want)
			}
			// The server's connection goroutines end with the connections:
			// a few spare for the runtime and the server's own.
			if n := goroutinesSettle(before + 10); n > before+10 {
				t.Errorf("%d goroutines after the connections were cut, %d before", n, before)
			}
		})
	}
}

// trickle sends a byte every 20ms until the server hangs up or stop.
func trickle(conn net.Conn, stop <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}
}

// TestServerBoundsBytesInFlight: clients that send most of a large body
// and stall hold no more than the bound; those beyond it are refused with
// 429 at once, while the others are still stalled, so that the API server
// applies the failurePolicy. Before, 80 of them held 740 MB.
func TestServerBoundsBytesInFlight(t *testing.T) {
	const (
		conns    = 16
		declared = 4 << 20
		bound    = 8 << 20 // room for two of them
		slack    = 24 << 20
	)
	before := runtime.NumGoroutine()
	heapBefore := liveHeap()
	addr := startAdmissionServer(t, 30*time.Second, bound)
	part := bytes.Repeat([]byte(" "), 3<<20)
	statuses := make(chan int, conns)
	open := make([]net.Conn, conns)
	for i := range open {
		open[i] = sendHead(t, addr, "?timeout=30s", declared, part)
		go func(c net.Conn) {
			status, _ := answerAndClose(c)
			statuses <- status
		}(open[i])
	}
	refused := 0
	for refused < conns-bound/declared {
		select {
		case s := <-statuses:
			if s != http.StatusTooManyRequests {
				t.Fatalf("a stalled request was answered %d before the others were refused; want 429 for all beyond the bound", s)
			}
			refused++
		case <-time.After(hangGuard):
			t.Fatalf("%d of %d requests refused; want every one beyond the %d bytes in flight refused at once", refused, conns, bound)
		}
	}
	// Measured while the two admitted requests still stall.
	if grown := liveHeap() - heapBefore; grown > bound+slack {
		t.Errorf("the heap grew by %d bytes with %d bytes allowed in flight", grown, bound)
	}
	for _, c := range open {
		c.Close()
	}
	for range bound / declared {
		<-statuses
	}
	if n := goroutinesSettle(before + 10); n > before+10 {
		t.Errorf("%d goroutines after the connections closed, %d before", n, before)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
