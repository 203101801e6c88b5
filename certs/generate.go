// Package certs gives the admission webhook its serving certificate when
// cert-manager is not installed: it generates a CA and a serving certificate
// for the webhook Service, keeps them in a Secret that every replica shares,
// rotates them before they expire, writes them where the TLS server reloads
// them from, and injects the CA into the webhook configurations.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// clockSkew backdates NotBefore, so that an API server whose clock is behind
// ours still accepts a certificate issued a moment ago. client-go's
// cert.GenerateSelfSignedCertKey backdates by the same hour.
const clockSkew = time.Hour

// KeyPair is a PEM-encoded certificate and its PEM-encoded (PKCS #8) private key.
type KeyPair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// ServiceDNSNames are the names the API server may use to reach a webhook
// Service: it dials <svc>.<ns>.svc, the others cover clients that resolve
// through search domains or the full cluster domain.
func ServiceDNSNames(service, namespace string) []string {
	return []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
	}
}

// GenerateCA returns a new self-signed CA valid for validity from now.
func GenerateCA(commonName string, validity time.Duration) (KeyPair, error) {
	return generateCA(commonName, time.Now(), validity)
}

// GenerateServing returns a new serving certificate for names, signed by ca
// and valid for validity from now, but never past the CA's own expiry. A name
// that is an IP address becomes an IP SAN: a webhook that the API server
// reaches by a URL such as https://127.0.0.1:8443 needs one.
func GenerateServing(ca KeyPair, names []string, validity time.Duration) (KeyPair, error) {
	return generateServing(ca, names, time.Now(), validity)
}

// canonicalNames writes each IP address of names as the certificate will
// report it ("::1", never "0:0::1"), so that names compare equal to those of
// a certificate issued for them.
func canonicalNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		}
		out[i] = n
	}
	return out
}

// certNames are the DNS and IP SANs of c, as strings.
func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

func generateCA(commonName string, now time.Time, validity time.Duration) (KeyPair, error) {
	if validity <= 0 {
		return KeyPair{}, fmt.Errorf("generating CA %q: validity %s is not positive", commonName, validity)
	}
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating CA %q: %w", commonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		// The CA signs serving certificates only, never another CA.
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating CA %q: %w", commonName, err)
	}
	return encodeKeyPair(der, key)
}

func generateServing(ca KeyPair, names []string, now time.Time, validity time.Duration) (KeyPair, error) {
	if len(names) == 0 {
		return KeyPair{}, errors.New("generating serving certificate: no DNS names")
	}
	var dnsNames []string
	var ips []net.IP
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, n)
		}
	}
	if validity <= 0 {
		return KeyPair{}, fmt.Errorf("generating serving certificate: validity %s is not positive", validity)
	}
	caCert, caKey, err := ca.parse()
	if err != nil {
		return KeyPair{}, fmt.Errorf("reading CA: %w", err)
	}
	if !caCert.IsCA {
		return KeyPair{}, fmt.Errorf("reading CA: %q is not a CA certificate", caCert.Subject.CommonName)
	}
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating serving certificate: %w", err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(caCert.NotAfter) {
		// A certificate outliving its CA fails verification from then on anyway;
		// saying so lets rotation see the real end of its life.
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		// ECDSA keys sign the handshake; they encipher nothing, so no KeyEncipherment.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating serving certificate: %w", err)
	}
	return encodeKeyPair(der, key)
}

func newKeyAndSerial() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	// 128 random bits: serials must be unique per CA and unpredictable (RFC 5280 allows 20 octets).
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial number: %w", err)
	}
	return key, serial, nil
}

func encodeKeyPair(certDER []byte, key *ecdsa.PrivateKey) (KeyPair, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding key: %w", err)
	}
	return KeyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// parse returns the pair's first certificate and its key, checking that they belong together.
func (p KeyPair) parse() (*x509.Certificate, crypto.Signer, error) {
	certs, err := parseCertificates(p.CertPEM)
	if err != nil {
		return nil, nil, err
	}
	key, err := parsePrivateKey(p.KeyPEM)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, nil, errors.New("private key does not match the certificate")
	}
	return certs[0], key, nil
}

// parseCertificates decodes every CERTIFICATE block of a PEM bundle, in order.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// parsePrivateKey accepts PKCS #8, which we write, and SEC 1 ("EC PRIVATE
// KEY"), which hand-made Secrets often hold.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q for a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", key)
	}
	return signer, nil
}

// encodeCertificates is the PEM bundle of certs, in order.
func encodeCertificates(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
