package imageinspect

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	in := mustNew(t, WithLogger(logger), WithMetrics(metrics), WithKeychain(staticKeychain{}))
	var errs []string
	for _, pass := range []string{testPass, "Wr0ng-Pa55word"} {
		_, err := in.Inspect(context.Background(), host+"/private:1", nil, UsingKeychain(staticKeychain{host: host, user: testUser, pass: pass}))
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

// multiKeychain offers several passwords of the test user for one host, in
// order, as pullsecrets' keychain offers every matching pull secret.
type multiKeychain struct {
	host      string
	passwords []string
}

func (k multiKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	all, _ := k.ResolveAll(context.Background(), r)
	if len(all) == 0 {
		return authn.Anonymous, nil
	}
	return all[0], nil
}

func (k multiKeychain) ResolveAll(_ context.Context, r authn.Resource) ([]authn.Authenticator, error) {
	var out []authn.Authenticator
	if r.RegistryStr() == k.host {
		for _, p := range k.passwords {
			out = append(out, authn.FromConfig(authn.AuthConfig{Username: testUser, Password: p}))
		}
	}
	return out, nil
}

var _ MultiResolver = multiKeychain{}

// refusals counts requests that carried credentials and were refused.
func refusals(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); ok && (u != testUser || p != testPass) {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestEachMatchingCredentialIsTried(t *testing.T) {
	var refused atomic.Int64
	host := startRegistry(t, func(h http.Handler) http.Handler { return refusals(&refused)(requireBasicAuth(h)) })
	pushIndex(t, host, "private:1", buildMultiArch(t, types.OCIImageIndex))
	ref := host + "/private:1"

	for _, tc := range []struct {
		name     string
		keychain authn.Keychain
		ok       bool
		says     []string
		refused  int64
	}{
		{name: "the first is wrong: the second is used, and kept first", keychain: multiKeychain{host, []string{"old", testPass}}, ok: true, refused: 1},
		{name: "the first is right", keychain: multiKeychain{host, []string{testPass, "old"}}, ok: true},
		{name: "all wrong", keychain: multiKeychain{host, []string{"old", "older"}},
			says: []string{ref, "imagePullSecrets", "each of the 2 credentials matching " + host + " was tried"}, refused: 2},
		{name: "a keychain offering one: only that one", keychain: staticKeychain{host, testUser, "old"}, says: []string{ref}, refused: 1},
		{name: "the same credentials twice are tried once", keychain: multiKeychain{host, []string{"old", "old"}}, says: []string{ref}, refused: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused.Store(0)
			img, err := newTestInspector(t).Inspect(context.Background(), ref, nil, UsingKeychain(tc.keychain))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := platformStrings(img.Platforms); len(got) != 2 {
					t.Errorf("platforms = %v, want the two linux ones", got)
				}
			} else {
				assertErr(t, err, ErrUnauthorized, tc.says...)
				if strings.Contains(err.Error(), "older") || strings.Contains(err.Error(), testPass) {
					t.Errorf("error shows a password: %q", err)
				}
			}
			if got := refused.Load(); got != tc.refused {
				t.Errorf("%d requests refused, want %d", got, tc.refused)
			}
		})
	}

	t.Run("what several credentials read is not served to the wrong one alone", func(t *testing.T) {
		in := newTestInspector(t)
		if _, err := in.Inspect(context.Background(), ref, nil, UsingKeychain(multiKeychain{host, []string{"old", testPass}})); err != nil {
			t.Fatal(err)
		}
		_, err := in.Inspect(context.Background(), ref, nil, UsingKeychain(multiKeychain{host, []string{"old"}}))
		assertErr(t, err, ErrUnauthorized)
	})
}
