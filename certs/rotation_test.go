package certs

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

func testPolicy() rotationPolicy {
	return rotationPolicy{
		dnsNames:        ServiceDNSNames("vg", "ns"),
		caName:          "vg.ns-ca",
		caValidity:      10 * year,
		servingValidity: year,
		renewFraction:   1.0 / 3,
		caPropagation:   time.Hour,
	}
}

// secretData is a Secret's content: trusted CAs (bundle order), the signing CA and a serving pair.
func secretData(trusted []KeyPair, signer, serving KeyPair) map[string][]byte {
	var bundle []byte
	for _, ca := range trusted {
		bundle = append(bundle, ca.CertPEM...)
	}
	return map[string][]byte{
		caCertKey:               bundle,
		caKeyKey:                signer.KeyPEM,
		corev1.TLSCertKey:       serving.CertPEM,
		corev1.TLSPrivateKeyKey: serving.KeyPEM,
	}
}

func TestDecide(t *testing.T) {
	names := testPolicy().dnsNames
	ca := mustCA(t, t0, 10*year)
	serving := mustServing(t, ca, names, t0, year)
	fresh := secretData([]KeyPair{ca}, ca, serving)

	// A CA seven years into ten: less than a third of its life remains.
	oldCA := mustCA(t, t0.Add(-7*year), 10*year)
	oldServing := mustServing(t, oldCA, names, t0.Add(-day), year)
	// The state right after a CA rotation at t0: new CA signs, old one still trusted and serving.
	newCA := mustCA(t, t0, 10*year)
	rotated := secretData([]KeyPair{newCA, oldCA}, newCA, oldServing)

	expiredCA := mustCA(t, t0.Add(-11*year), 10*year)
	foreignCA := mustCA(t, t0, 10*year)
	foreign := mustServing(t, foreignCA, names, t0, year)
	other := mustServing(t, ca, names, t0, year)

	with := func(data map[string][]byte, key string, value []byte) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range data {
			out[k] = v
		}
		out[key] = value
		return out
	}

	for _, tc := range []struct {
		name     string
		data     map[string][]byte // nil: no Secret
		now      time.Time
		dnsNames []string // default: the policy's
		want     decision // reason: a substring
	}{
		{name: "no Secret", now: t0,
			want: decision{newCA: true, newServing: true, reason: "no certificate Secret"}},
		{name: "fresh", data: fresh, now: t0},
		{name: "serving at 2/3 of its life minus a day", data: fresh, now: t0.Add(243 * day)},
		{name: "serving past 2/3 of its life", data: fresh, now: t0.Add(244 * day),
			want: decision{newServing: true, reason: "serving certificate expires at 2031-01-01T00:00:00Z"}},
		{name: "serving expired", data: fresh, now: t0.Add(400 * day),
			want: decision{newServing: true, reason: "does not verify"}},
		{name: "DNS names changed", data: fresh, now: t0, dnsNames: ServiceDNSNames("renamed", "ns"),
			want: decision{newServing: true, reason: "serving certificate is for"}},
		{name: "DNS names in another order", data: fresh, now: t0, dnsNames: []string{names[3], names[2], names[1], names[0]}},
		{name: "serving signed by an untrusted CA", data: secretData([]KeyPair{ca}, ca, foreign), now: t0,
			want: decision{newServing: true, reason: "does not verify"}},
		{name: "tls.key of another certificate", data: with(fresh, corev1.TLSPrivateKeyKey, other.KeyPEM), now: t0,
			want: decision{newServing: true, reason: "do not match"}},
		{name: "tls.crt missing", data: with(fresh, corev1.TLSCertKey, nil), now: t0,
			want: decision{newServing: true, reason: "missing"}},
		{name: "ca.key missing", data: with(fresh, caKeyKey, nil), now: t0,
			want: decision{newCA: true, newServing: true, reason: "no CA in ca.crt matches ca.key"}},
		{name: "ca.key of an untrusted CA", data: with(fresh, caKeyKey, foreignCA.KeyPEM), now: t0,
			want: decision{newCA: true, newServing: true, reason: "no CA in ca.crt matches ca.key"}},
		{name: "CA near expiry, serving fine: new CA only", data: secretData([]KeyPair{oldCA}, oldCA, oldServing), now: t0,
			want: decision{newCA: true, reason: "CA \"test-ca\" expires at 2032-12-31"}},
		{name: "CA near expiry and serving expired", data: secretData([]KeyPair{oldCA}, oldCA, oldServing), now: t0.Add(400 * day),
			want: decision{newCA: true, newServing: true, reason: "expires at"}},
		{name: "new CA not yet propagated", data: rotated, now: t0.Add(59 * time.Minute)},
		{name: "new CA propagated: serving moves to it", data: rotated, now: t0.Add(time.Hour),
			want: decision{newServing: true, reason: "not signed by the current CA"}},
		{name: "expired CA still in ca.crt", data: secretData([]KeyPair{ca, expiredCA}, ca, serving), now: t0,
			want: decision{prune: true, reason: "expired CA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy()
			if tc.dnsNames != nil {
				p.dnsNames = tc.dnsNames
			}
			var m *material
			if tc.data != nil {
				m = parseMaterial(tc.data)
			}
			got := p.decide(m, tc.now)
			if got.newCA != tc.want.newCA || got.newServing != tc.want.newServing || got.prune != tc.want.prune {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
			if !strings.Contains(got.reason, tc.want.reason) {
				t.Errorf("reason = %q, want it to contain %q", got.reason, tc.want.reason)
			}
			if got.write() != (tc.want != decision{}) {
				t.Errorf("write() = %v", got.write())
			}
		})
	}
}

func TestIssueCARotationKeepsOldCATrustedAndServing(t *testing.T) {
	p := testPolicy()
	oldCA := mustCA(t, t0.Add(-7*year), 10*year)
	oldServing := mustServing(t, oldCA, p.dnsNames, t0.Add(-day), year)
	m := parseMaterial(secretData([]KeyPair{oldCA}, oldCA, oldServing))

	data, err := p.issue(m, decision{newCA: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := parseCertificates(data[caCertKey])
	if err != nil {
		t.Fatal(err)
	}
	if len(trusted) != 2 || !bytes.Equal(trusted[1].Raw, mustCert(t, oldCA.CertPEM).Raw) {
		t.Fatalf("ca.crt holds %d CAs, want the new one then the old one", len(trusted))
	}
	if want := fmt.Sprintf("vg.ns-ca@%d", t0.Unix()); trusted[0].Subject.CommonName != want {
		t.Errorf("new CA is named %q, want %q", trusted[0].Subject.CommonName, want)
	}
	if !bytes.Equal(data[corev1.TLSCertKey], oldServing.CertPEM) || !bytes.Equal(data[corev1.TLSPrivateKeyKey], oldServing.KeyPEM) {
		t.Error("the serving certificate changed together with the CA; it must wait for the new CA to propagate")
	}
	after := parseMaterial(data)
	if after.signer == nil || !bytes.Equal(after.signer.Raw, trusted[0].Raw) {
		t.Error("ca.key is not the new CA's key")
	}
	if d := p.decide(after, t0); d.write() {
		t.Errorf("right after the rotation decide wants %+v", d)
	}
}

func TestIssuePruneDropsOnlyExpiredCAs(t *testing.T) {
	p := testPolicy()
	ca := mustCA(t, t0, 10*year)
	older := mustCA(t, t0.Add(-8*year), 10*year)
	expired := mustCA(t, t0.Add(-11*year), 10*year)
	serving := mustServing(t, ca, p.dnsNames, t0, year)
	m := parseMaterial(secretData([]KeyPair{ca, older, expired}, ca, serving))

	data, err := p.issue(m, decision{prune: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, ca.CertPEM...), older.CertPEM...); !bytes.Equal(data[caCertKey], want) {
		t.Error("ca.crt should be the current CA then the unexpired older one")
	}
	if !bytes.Equal(data[corev1.TLSCertKey], serving.CertPEM) || !bytes.Equal(data[caKeyKey], ca.KeyPEM) {
		t.Error("pruning changed the serving certificate or the CA key")
	}
}

// TestRotationLifecycleKeepsAdmissionsWorking runs 25 years of daily checks.
// Each day the API servers still trust yesterday's caBundle while the new
// one propagates, so the serving certificate must verify against both.
func TestRotationLifecycleKeepsAdmissionsWorking(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 25 years")
	}
	p := testPolicy()
	now := t0
	data, err := p.issue(nil, p.decide(nil, now), now)
	if err != nil {
		t.Fatal(err)
	}
	var caRotations, servingRenewals int
	for now = now.Add(day); now.Before(t0.Add(25 * year)); now = now.Add(day) {
		m := parseMaterial(data)
		d := p.decide(m, now)
		if !d.write() {
			continue
		}
		next, err := p.issue(m, d, now)
		if err != nil {
			t.Fatal(err)
		}
		if d.newCA {
			caRotations++
		}
		if d.newServing {
			servingRenewals++
		}
		serving := mustCert(t, next[corev1.TLSCertKey])
		for _, bundle := range []struct {
			name string
			pem  []byte
		}{{"previous caBundle", data[caCertKey]}, {"new caBundle", next[caCertKey]}} {
			cas, err := parseCertificates(bundle.pem)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyServing(serving, cas, now); err != nil {
				t.Fatalf("%s (%s): serving certificate does not verify against the %s: %v", now.Format(time.DateOnly), d.reason, bundle.name, err)
			}
		}
		if d2 := p.decide(parseMaterial(next), now); d2.write() {
			t.Fatalf("%s: decide wants %+v right after carrying out %+v", now.Format(time.DateOnly), d2, d)
		}
		data = next
	}
	// Ten-year CAs renewed at two thirds of their life: at 6.7 and 13.3 years, and 20.
	if caRotations != 3 {
		t.Errorf("%d CA rotations in 25 years, want 3", caRotations)
	}
	if servingRenewals < 25*3/2 {
		t.Errorf("%d serving renewals in 25 years, want one every 8 months", servingRenewals)
	}
	if n := len(parseMaterial(data).trusted); n > 2 {
		t.Errorf("ca.crt holds %d CAs at the end; expired ones should be gone", n)
	}
}
