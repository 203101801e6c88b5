package certs

import (
	"bytes"
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestManagerRenewsNearExpiryServingCertificate(t *testing.T) {
	cs := newFakeClient()
	clk := &clock{now: t0}
	cfg := testConfig(t, cs, clk.Now)
	m := newTestManager(t, cfg)
	ctx := context.Background()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	first := checkInstalled(t, cs, cfg.CertDir)

	clk.Set(t0.Add(250 * day)) // less than a third of the year left
	cs.ClearActions()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	renewed := checkInstalled(t, cs, cfg.CertDir)
	if bytes.Equal(renewed[corev1.TLSCertKey], first[corev1.TLSCertKey]) {
		t.Fatal("serving certificate not renewed")
	}
	if !bytes.Equal(renewed[caCertKey], first[caCertKey]) {
		t.Error("CA changed although it is far from expiry")
	}
	if got := mustCert(t, renewed[corev1.TLSCertKey]).NotAfter; !got.Equal(clk.Now().Add(year)) {
		t.Errorf("renewed certificate expires at %s, want a year from now", got)
	}
	if u, w := countWrites(cs, "update", "secrets"), len(writes(cs)); u != 1 || w != 1 {
		t.Errorf("%d writes (%d Secret updates), want only the Secret update: the caBundle did not change", w, u)
	}
}

func TestManagerRotatesCAWithOverlap(t *testing.T) {
	cs := newFakeClient()
	clk := &clock{now: t0}
	cfg := testConfig(t, cs, clk.Now)
	m := newTestManager(t, cfg)
	ctx := context.Background()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	data := checkInstalled(t, cs, cfg.CertDir)
	// Check every 100 days until the CA rotates, about 6.7 years in.
	for now := t0; ; {
		now = now.Add(100 * day)
		if now.After(t0.Add(8 * year)) {
			t.Fatal("no CA rotation in 8 years")
		}
		clk.Set(now)
		cs.ClearActions()
		if err := m.reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		next := checkInstalled(t, cs, cfg.CertDir)
		if bytes.Equal(next[caCertKey], data[caCertKey]) {
			data = next
			continue
		}
		trusted, err := parseCertificates(next[caCertKey])
		if err != nil {
			t.Fatal(err)
		}
		if len(trusted) != 2 || !bytes.Contains(next[caCertKey], data[caCertKey]) {
			t.Fatalf("after the CA rotation ca.crt holds %d CAs, want the new and the old", len(trusted))
		}
		if !bytes.Equal(next[corev1.TLSCertKey], data[corev1.TLSCertKey]) {
			t.Fatal("serving certificate switched to the new CA in the same pass that published it")
		}
		if n := countWrites(cs, "patch", "mutatingwebhookconfigurations") + countWrites(cs, "patch", "validatingwebhookconfigurations"); n != 2 {
			t.Errorf("%d caBundle patches for the CA rotation, want 2", n)
		}
		data = next
		break
	}

	clk.Set(clk.Now().Add(DefaultCAPropagation))
	cs.ClearActions()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	moved := checkInstalled(t, cs, cfg.CertDir)
	newCA := parseMaterial(moved).signer
	if err := mustCert(t, moved[corev1.TLSCertKey]).CheckSignatureFrom(newCA); err != nil {
		t.Errorf("serving certificate not moved to the new CA once propagated: %v", err)
	}
	if !bytes.Equal(moved[caCertKey], data[caCertKey]) || len(writes(cs)) != 1 {
		t.Errorf("moving the serving certificate should update the Secret only, got %v", writes(cs))
	}
}

func TestManagerAdoptsSecretRenewedByAnotherReplica(t *testing.T) {
	cs := newFakeClient()
	clk := &clock{now: t0}
	ctx := context.Background()
	other := newTestManager(t, testConfig(t, cs, clk.Now))
	if err := other.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(250 * day))
	// This replica reads the Secret, then the other renews it before this one writes.
	client := &hookedClient{Interface: cs, afterGet: func(n int) {
		if n == 1 {
			if err := other.reconcile(ctx); err != nil {
				t.Error(err)
			}
		}
	}}
	m := newTestManager(t, testConfig(t, client, clk.Now))
	cs.ClearActions()
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countWrites(cs, "update", "secrets"); n != 2 {
		t.Errorf("%d Secret updates, want 2: the other replica's and this one's conflicting one", n)
	}
	got := checkInstalled(t, cs, m.cfg.CertDir)
	checkInstalled(t, cs, other.cfg.CertDir)
	if parseMaterial(got).serving.NotBefore.Before(t0.Add(249 * day)) {
		t.Error("Secret holds the old serving certificate")
	}
}
