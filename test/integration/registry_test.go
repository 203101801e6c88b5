package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/volumeguard/volumeguard/internal/syncbuffer"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// The registry's only user. The password is unusual on purpose: tests
// assert it never shows in an error.
const (
	regUser = "puller"
	regPass = "Sup3r-s3cret-pa55"
)

// registryBinary finds the CNCF distribution registry, or skips.
func registryBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VOLUMEGUARD_REGISTRY_BIN"); p != "" {
		return p
	}
	root, err := filepath.Abs("../..")
	if err == nil {
		out, err := exec.Command(filepath.Join(root, "hack", "build-tools.sh"), "registry-bin").Output()
		if p := strings.TrimSpace(string(out)); err == nil && p != "" {
			return p
		}
	}
	if os.Getenv("VOLUMEGUARD_REQUIRE_TOOLS") == "1" {
		t.Fatal("no registry binary: set VOLUMEGUARD_REGISTRY_BIN or run hack/build-tools.sh registry-bin")
	}
	t.Skip("no registry binary (VOLUMEGUARD_REGISTRY_BIN, hack/build-tools.sh registry-bin)")
	return ""
}

// realRegistry is a running distribution registry on 127.0.0.1.
type realRegistry struct {
	host string // 127.0.0.1:port
	cert *testCert
}

// startRegistry runs the registry with htpasswd auth and TLS until the test ends.
func startRegistry(t *testing.T, cert *testCert) *realRegistry {
	t.Helper()
	bin := registryBinary(t)
	dir := t.TempDir()
	certFile, keyFile := cert.writeFiles(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte(regPass), bcrypt.MinCost) // every request checks it: keep it cheap
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, fmt.Appendf(nil, "%s:%s\n", regUser, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		host := freeAddr(t)
		config := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(config, fmt.Appendf(nil, registryConfig, filepath.Join(dir, "data"), host, certFile, keyFile, htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := runRegistry(t, bin, config, host, cert); err == nil {
			return &realRegistry{host: host, cert: cert}
		} else if attempt == 3 {
			t.Fatalf("starting the registry: %v", err)
		}
	}
}

const registryConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: volumeguard-integration
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: volumeguard-integration
    path: %s
`

func runRegistry(t *testing.T, bin, config, host string, cert *testCert) error {
	var out syncbuffer.Buffer
	cmd := exec.Command(bin, "serve", config)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	client := &http.Client{Transport: cert.clientTransport(), Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("registry exited (%v):\n%s", err, out.String())
		default:
		}
		resp, err := client.Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				t.Cleanup(func() {
					stop()
					if t.Failed() {
						t.Logf("registry %s output:\n%s", host, out.String())
					}
				})
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("registry not ready in 30s:\n%s", out.String())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// push builds a linux/amd64 image declaring volumes and pushes it to
// host/repoTag with the registry's credentials; it returns the image.
func (r *realRegistry) push(t *testing.T, repoTag string, volumes ...string) v1.Image {
	t.Helper()
	img, err := testimage.New(volumes...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = remote.Write(ref, img, remote.WithContext(ctx), remote.WithTransport(r.cert.clientTransport()),
		remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}))
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return img
}

// keychain answers the given credentials for the given hosts, anonymous
// elsewhere: tests never read the docker config of whoever runs them.
type keychain map[string]authn.AuthConfig

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if cfg, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(cfg), nil
	}
	return authn.Anonymous, nil
}

func creds() authn.AuthConfig { return authn.AuthConfig{Username: regUser, Password: regPass} }

// within runs f and fails the test if it has not returned after limit, a
// generous bound that only catches a call ignoring its deadline.
func within[T any](t *testing.T, limit time.Duration, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(limit):
		t.Fatalf("the call did not return within %s", limit)
	}
	var zero T
	return zero, errors.New("unreachable")
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
