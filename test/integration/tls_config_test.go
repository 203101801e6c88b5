package integration

import (
	"context"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// TestRegistryCertificates: a registry with a self-signed certificate is
// read when its CA is given or it is marked insecure, and refused with a
// message saying so otherwise.
func TestRegistryCertificates(t *testing.T) {
	cert := newTestCert(t)
	reg := startRegistry(t, cert)
	reg.push(t, "tls/app:1", "/data")
	image := reg.host + "/tls/app:1"
	certFile, _ := cert.writeFiles(t, t.TempDir())
	pool, err := imageinspect.LoadRegistryCAs(certFile)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		opts []imageinspect.Option
		ok   bool
	}{
		{name: "the CA from a PEM file", opts: []imageinspect.Option{imageinspect.WithRegistryCAs(pool)}, ok: true},
		{name: "an insecure registry", opts: []imageinspect.Option{imageinspect.WithInsecureRegistries(reg.host)}, ok: true},
		{name: "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInspector(t, append(tc.opts, imageinspect.WithKeychain(keychain{reg.host: creds()}))...)
			_, err := within(t, 30*time.Second, func() (*imageinspect.Image, error) {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				return in.Inspect(ctx, image, nil)
			})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertErr(t, err, imageinspect.ErrCertificate, "certificate", "--registry-ca-file", reg.host)
			t.Logf("%v", err)
		})
	}
}
