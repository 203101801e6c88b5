package certs

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Keys of the certificate Secret. tls.crt, tls.key and ca.crt are what
// kubernetes.io/tls Secrets and cert-manager use; ca.key is ours.
const (
	caCertKey = "ca.crt" // every CA the webhook configurations trust, the signing CA first
	caKeyKey  = "ca.key" // key of the signing CA
)

// material is a certificate Secret's content, parsed. A field is nil when
// what it stands for is missing or invalid.
type material struct {
	trusted    []*x509.Certificate // the CAs of ca.crt
	signer     *x509.Certificate   // the trusted CA whose key is ca.key
	signerKey  []byte              // ca.key
	serving    *x509.Certificate   // tls.crt, when tls.key matches it
	servingKey []byte              // tls.key
}

func parseMaterial(data map[string][]byte) *material {
	m := &material{}
	if cas, err := parseCertificates(data[caCertKey]); err == nil {
		for _, ca := range cas {
			if ca.IsCA {
				m.trusted = append(m.trusted, ca)
			}
		}
	}
	for _, ca := range m.trusted {
		pair := KeyPair{CertPEM: encodeCertificates([]*x509.Certificate{ca}), KeyPEM: data[caKeyKey]}
		if _, _, err := pair.parse(); err == nil {
			m.signer, m.signerKey = ca, data[caKeyKey]
			break
		}
	}
	serving := KeyPair{CertPEM: data[corev1.TLSCertKey], KeyPEM: data[corev1.TLSPrivateKeyKey]}
	if cert, _, err := serving.parse(); err == nil {
		m.serving, m.servingKey = cert, serving.KeyPEM
	}
	return m
}

// rotationPolicy is what the certificates of the Secret must satisfy, and
// when they are renewed.
type rotationPolicy struct {
	dnsNames        []string // DNS names and IP addresses (canonicalNames)
	caName          string   // CAs are named caName@<unix time>, so old and new are told apart
	caValidity      time.Duration
	servingValidity time.Duration
	// renewFraction: a certificate is renewed when less than this fraction of its lifetime remains.
	renewFraction float64
	// caPropagation: how long a new CA is trusted (in caBundle) before it
	// signs the serving certificate, so that no API server sees a serving
	// certificate from a CA it does not trust yet.
	caPropagation time.Duration
}

// decision says what to change in the Secret; nothing when every field is false.
type decision struct {
	newCA      bool // generate a CA, trusted beside the old ones, that signs from now on
	newServing bool // issue a serving certificate from the signing CA
	prune      bool // drop expired CAs from ca.crt
	reason     string
}

func (d decision) write() bool { return d.newCA || d.newServing || d.prune }

// decide is pure: it reads m (nil for no Secret) at now.
func (p rotationPolicy) decide(m *material, now time.Time) decision {
	if m == nil {
		return decision{newCA: true, newServing: true, reason: "no certificate Secret yet"}
	}
	if m.signer == nil {
		return decision{newCA: true, newServing: true, reason: "no CA in ca.crt matches ca.key"}
	}
	var d decision
	var reasons []string
	if renewalDue(m.signer, now, p.renewFraction) {
		d.newCA = true
		reasons = append(reasons, fmt.Sprintf("CA %q expires at %s", m.signer.Subject.CommonName, m.signer.NotAfter.UTC().Format(time.RFC3339)))
	}
	if why := p.servingProblem(m, now, d.newCA); why != "" {
		d.newServing = true
		reasons = append(reasons, why)
	}
	if !d.write() && len(unexpired(m.trusted, now)) < len(m.trusted) {
		d.prune = true
		reasons = append(reasons, "ca.crt holds an expired CA")
	}
	d.reason = strings.Join(reasons, "; ")
	return d
}

// servingProblem is why the serving certificate must be reissued, or "".
func (p rotationPolicy) servingProblem(m *material, now time.Time, newCA bool) string {
	s := m.serving
	if s == nil {
		return "tls.crt and tls.key are missing, invalid or do not match"
	}
	if names := certNames(s); !sameNames(names, p.dnsNames) {
		return fmt.Sprintf("serving certificate is for %v, want %v", names, p.dnsNames)
	}
	if err := verifyServing(s, m.trusted, now); err != nil {
		return fmt.Sprintf("serving certificate does not verify: %v", err)
	}
	if renewalDue(s, now, p.renewFraction) {
		return fmt.Sprintf("serving certificate expires at %s", s.NotAfter.UTC().Format(time.RFC3339))
	}
	// After a CA rotation the serving certificate is still the old CA's.
	// The new CA signs only once it has been in caBundle long enough.
	trustedSince := m.signer.NotBefore.Add(clockSkew)
	if !newCA && s.CheckSignatureFrom(m.signer) != nil && !now.Before(trustedSince.Add(p.caPropagation)) {
		return fmt.Sprintf("serving certificate is not signed by the current CA %q", m.signer.Subject.CommonName)
	}
	return ""
}

// issue returns the Secret data that carries out d.
func (p rotationPolicy) issue(m *material, d decision, now time.Time) (map[string][]byte, error) {
	if m == nil {
		m = &material{}
	}
	trusted := unexpired(m.trusted, now)
	signer := KeyPair{KeyPEM: m.signerKey}
	if m.signer != nil {
		signer.CertPEM = encodeCertificates([]*x509.Certificate{m.signer})
	}
	if d.newCA {
		ca, err := generateCA(fmt.Sprintf("%s@%d", p.caName, now.Unix()), now, p.caValidity)
		if err != nil {
			return nil, err
		}
		caCert, err := parseCertificates(ca.CertPEM)
		if err != nil {
			return nil, err
		}
		// The old CAs stay trusted until they expire: the serving certificate
		// in use may be theirs. Their keys are gone, so they sign nothing new.
		trusted = append([]*x509.Certificate{caCert[0]}, trusted...)
		signer = ca
	}
	serving := KeyPair{KeyPEM: m.servingKey}
	if m.serving != nil {
		serving.CertPEM = encodeCertificates([]*x509.Certificate{m.serving})
	}
	if d.newServing {
		var err error
		if serving, err = generateServing(signer, p.dnsNames, now, p.servingValidity); err != nil {
			return nil, err
		}
	}
	return map[string][]byte{
		corev1.TLSCertKey:       serving.CertPEM,
		corev1.TLSPrivateKeyKey: serving.KeyPEM,
		caCertKey:               encodeCertificates(trusted),
		caKeyKey:                signer.KeyPEM,
	}, nil
}

// renewalDue reports whether less than fraction of c's lifetime remains at now.
func renewalDue(c *x509.Certificate, now time.Time, fraction float64) bool {
	lifetime := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Sub(now) < time.Duration(float64(lifetime)*fraction)
}

func unexpired(cas []*x509.Certificate, now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, ca := range cas {
		if now.Before(ca.NotAfter) {
			out = append(out, ca)
		}
	}
	return out
}

func sameNames(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// verifyServing checks s as the API server will: chained to a trusted CA,
// valid now, for server auth. Its names are sameNames' business.
func verifyServing(s *x509.Certificate, trusted []*x509.Certificate, now time.Time) error {
	roots := x509.NewCertPool()
	for _, ca := range trusted {
		roots.AddCert(ca)
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	_, err := s.Verify(opts)
	return err
}
