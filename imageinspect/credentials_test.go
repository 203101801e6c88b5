package imageinspect

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
)

func TestCredentialsStayOutOfLogsAndErrors(t *testing.T) {
	host := startRegistry(t, requireBasicAuth)
	pushImage(t, host, "private:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})

	var mu sync.Mutex
	var logs strings.Builder
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
	var labels []string
	metrics := Metrics{
		CacheLookup: func(kind CacheKind, _ bool) { mu.Lock(); labels = append(labels, string(kind)); mu.Unlock() },
		Request:     func(kind RequestKind, _ int) { mu.Lock(); labels = append(labels, string(kind)); mu.Unlock() },
		Inspected:   func(reason string) { mu.Lock(); labels = append(labels, reason); mu.Unlock() },
	}
	in := New(WithLogger(logger), WithMetrics(metrics), WithKeychain(staticKeychain{}))
	var errs []string
	for _, pass := range []string{testPass, "Wr0ng-Pa55word"} {
		_, err := in.InspectWith(context.Background(), host+"/private:1", nil, UsingKeychain(staticKeychain{host: host, user: testUser, pass: pass}))
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one, for the wrong password", errs)
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	everything := logs.String() + strings.Join(errs, "\n") + strings.Join(labels, " ")
	for _, secret := range []string{
		testPass, "Wr0ng-Pa55word",
		base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
		base64.StdEncoding.EncodeToString([]byte(testUser + ":Wr0ng-Pa55word")),
	} {
		if strings.Contains(everything, secret) {
			t.Errorf("a credential shows in logs, errors or metric labels:\n%s", everything)
		}
	}
}
