package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, now time.Time, validity time.Duration) KeyPair {
	t.Helper()
	ca, err := generateCA("test-ca", now, validity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustServing(t *testing.T, ca KeyPair, names []string, now time.Time, validity time.Duration) KeyPair {
	t.Helper()
	s, err := generateServing(ca, names, now, validity)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	certs, err := parseCertificates(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestGenerateServingVerifiesForEveryServiceName(t *testing.T) {
	ca, err := GenerateCA("volumeguard-ca", DefaultCAValidity)
	if err != nil {
		t.Fatal(err)
	}
	names := ServiceDNSNames("volumeguard", "guard-ns")
	serving, err := GenerateServing(ca, names, DefaultServingValidity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM); err != nil {
		t.Fatalf("serving pair does not load as a TLS key pair: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(mustCert(t, ca.CertPEM))
	leaf := mustCert(t, serving.CertPEM)
	want := []string{"volumeguard", "volumeguard.guard-ns", "volumeguard.guard-ns.svc", "volumeguard.guard-ns.svc.cluster.local"}
	if !sameNames(leaf.DNSNames, want) {
		t.Fatalf("DNSNames = %v, want %v", leaf.DNSNames, want)
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, name := range []string{"volumeguard.other-ns.svc", "evil.example.com"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err == nil {
			t.Errorf("verified for %q, which is not one of its names", name)
		}
	}
	// A client-auth-only verifier must refuse it: the certificate is for serving.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("serving certificate verified for client auth")
	}
}

func TestGeneratedCertificatesProperties(t *testing.T) {
	ca := mustCA(t, t0, 10*365*24*time.Hour)
	serving := mustServing(t, ca, []string{"a.b.svc"}, t0, 365*24*time.Hour)
	caCert, leaf := mustCert(t, ca.CertPEM), mustCert(t, serving.CertPEM)

	for _, c := range []struct {
		name string
		cert *x509.Certificate
		pair KeyPair
	}{{"CA", caCert, ca}, {"serving", leaf, serving}} {
		pub, ok := c.cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s key is %T, want ECDSA P-256", c.name, c.cert.PublicKey)
		}
		if block, _ := pem.Decode(c.pair.KeyPEM); block == nil || block.Type != "PRIVATE KEY" {
			t.Errorf("%s key is not a PKCS #8 PEM block", c.name)
		}
		if got := c.cert.NotBefore; !got.Equal(t0.Add(-clockSkew)) {
			t.Errorf("%s NotBefore = %s, want an hour before issuance", c.name, got)
		}
	}
	if !caCert.IsCA || !caCert.BasicConstraintsValid || caCert.MaxPathLen != 0 || !caCert.MaxPathLenZero {
		t.Errorf("CA basic constraints: IsCA=%v MaxPathLen=%d MaxPathLenZero=%v", caCert.IsCA, caCert.MaxPathLen, caCert.MaxPathLenZero)
	}
	if caCert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA KeyUsage %b lacks CertSign", caCert.KeyUsage)
	}
	if !caCert.NotAfter.Equal(t0.Add(10 * 365 * 24 * time.Hour)) {
		t.Errorf("CA NotAfter = %s", caCert.NotAfter)
	}
	if leaf.IsCA {
		t.Error("serving certificate is a CA")
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("serving KeyUsage = %b, want DigitalSignature only", leaf.KeyUsage)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("serving ExtKeyUsage = %v, want [ServerAuth]", leaf.ExtKeyUsage)
	}
	if !leaf.NotAfter.Equal(t0.Add(365 * 24 * time.Hour)) {
		t.Errorf("serving NotAfter = %s", leaf.NotAfter)
	}
	if leaf.SerialNumber.Cmp(caCert.SerialNumber) == 0 {
		t.Error("CA and serving certificate share a serial number")
	}
}

func TestGenerateServingNeverOutlivesItsCA(t *testing.T) {
	ca := mustCA(t, t0, 30*24*time.Hour)
	leaf := mustCert(t, mustServing(t, ca, []string{"x"}, t0, 365*24*time.Hour).CertPEM)
	if want := mustCert(t, ca.CertPEM).NotAfter; !leaf.NotAfter.Equal(want) {
		t.Errorf("serving NotAfter = %s, want the CA's %s", leaf.NotAfter, want)
	}
}

func TestGenerateErrors(t *testing.T) {
	ca := mustCA(t, t0, time.Hour*24)
	other := mustCA(t, t0, time.Hour*24)
	leaf := mustServing(t, ca, []string{"x"}, t0, time.Hour)
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"CA without validity", func() error { _, err := generateCA("x", t0, 0); return err }, "not positive"},
		{"serving without names", func() error { _, err := generateServing(ca, nil, t0, time.Hour); return err }, "no DNS names"},
		{"serving without validity", func() error { _, err := generateServing(ca, []string{"x"}, t0, -time.Hour); return err }, "not positive"},
		{"CA key of another CA", func() error {
			_, err := generateServing(KeyPair{CertPEM: ca.CertPEM, KeyPEM: other.KeyPEM}, []string{"x"}, t0, time.Hour)
			return err
		}, "does not match"},
		{"leaf as CA", func() error { _, err := generateServing(leaf, []string{"x"}, t0, time.Hour); return err }, "not a CA"},
		{"garbage CA", func() error { _, err := generateServing(KeyPair{}, []string{"x"}, t0, time.Hour); return err }, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParsePrivateKeyAcceptsSEC1(t *testing.T) {
	ca := mustCA(t, t0, time.Hour)
	pkcs8, _ := pem.Decode(ca.KeyPEM)
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(parsed.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if _, _, err := (KeyPair{CertPEM: ca.CertPEM, KeyPEM: sec1}).parse(); err != nil {
		t.Fatalf("SEC 1 key: %v", err)
	}
}
