package certs

import (
	"crypto/x509"
	"net"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// A webhook reached by URL at an address (https://127.0.0.1:8443, as in
// development or envtest) needs the address as an IP SAN: a DNS SAN
// "127.0.0.1" does not verify.
func TestGenerateServingPutsAddressesInIPSANs(t *testing.T) {
	ca := mustCA(t, t0, 10*year)
	names := append(ServiceDNSNames("vg", "ns"), "localhost", "127.0.0.1", "::1")
	leaf := mustCert(t, mustServing(t, ca, names, t0, year).CertPEM)

	if want := append(ServiceDNSNames("vg", "ns"), "localhost"); !sameNames(leaf.DNSNames, want) {
		t.Errorf("DNSNames = %v, want %v", leaf.DNSNames, want)
	}
	if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IPAddresses = %v, want [127.0.0.1 ::1]", leaf.IPAddresses)
	}
	roots := x509.NewCertPool()
	roots.AddCert(mustCert(t, ca.CertPEM))
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "vg.ns.svc"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, CurrentTime: t0}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.2", Roots: roots, CurrentTime: t0}); err == nil {
		t.Error("verified for 127.0.0.2, which is not one of its addresses")
	}
}

// The manager compares the names it wants with the certificate's: an
// address written another way must not renew the certificate on every pass.
func TestPolicyAcceptsCertificateWithIPSANs(t *testing.T) {
	cfg := testConfig(t, fake.NewClientset(), nil)
	cfg.DNSNames = append(ServiceDNSNames(testService, testNamespace), "0:0::1", "127.0.0.1")
	m := newTestManager(t, cfg)

	ca := mustCA(t, t0, 10*year)
	serving := mustServing(t, ca, cfg.DNSNames, t0, year)
	if d := m.rotation.decide(parseMaterial(secretData([]KeyPair{ca}, ca, serving)), t0); d.write() {
		t.Errorf("decide = %+v for a certificate issued for the wanted names, want nothing", d)
	}

	withoutIP := mustServing(t, ca, ServiceDNSNames(testService, testNamespace), t0, year)
	if d := m.rotation.decide(parseMaterial(secretData([]KeyPair{ca}, ca, withoutIP)), t0); !d.newServing {
		t.Errorf("decide = %+v for a certificate lacking the IP SANs, want a new serving certificate", d)
	}
}
