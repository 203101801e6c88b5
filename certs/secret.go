package certs

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxSecretAttempts bounds the read-decide-write loop. Each lost race means
// another replica wrote a valid Secret, which the next read adopts; a second
// loss in a row is already unusual.
const maxSecretAttempts = 5

// ensureSecret returns the content of a Secret that satisfies the policy,
// creating or updating it when needed. Replicas race safely: Create fails
// with AlreadyExists and Update (carrying the resourceVersion read) with
// Conflict for all but the first writer, and the losers adopt its Secret.
func (m *Manager) ensureSecret(ctx context.Context) (map[string][]byte, error) {
	secrets := m.cfg.Client.CoreV1().Secrets(m.cfg.Namespace)
	ref := m.cfg.Namespace + "/" + m.cfg.SecretName
	for range maxSecretAttempts {
		current, err := secrets.Get(ctx, m.cfg.SecretName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			current = nil
		case err != nil:
			return nil, fmt.Errorf("reading Secret %s: %w", ref, err)
		}
		var mat *material
		if current != nil {
			mat = parseMaterial(current.Data)
		}
		now := m.cfg.Now()
		d := m.rotation.decide(mat, now)
		if !d.write() {
			return current.Data, nil
		}
		data, err := m.rotation.issue(mat, d, now)
		if err != nil {
			return nil, fmt.Errorf("issuing certificates for Secret %s: %w", ref, err)
		}

		if current == nil {
			_, err = secrets.Create(ctx, m.newSecret(data), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				m.cfg.Log.V(1).Info("another replica created the certificate Secret first", "secret", ref)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("creating Secret %s: %w", ref, err)
			}
			m.cfg.Log.Info("created certificate Secret", "secret", ref, "reason", d.reason)
			return data, nil
		}

		// Keys we do not own survive; the type is immutable and stays as found.
		updated := current.DeepCopy()
		if updated.Data == nil {
			updated.Data = map[string][]byte{}
		}
		maps.Copy(updated.Data, data)
		_, err = secrets.Update(ctx, updated, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			m.cfg.Log.V(1).Info("certificate Secret changed while renewing; reading it again", "secret", ref)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("updating Secret %s: %w", ref, err)
		}
		m.cfg.Log.Info("renewed certificate Secret", "secret", ref, "reason", d.reason,
			"newCA", d.newCA, "newServingCertificate", d.newServing)
		return updated.Data, nil
	}
	return nil, fmt.Errorf("updating Secret %s: still conflicting after %d attempts", ref, maxSecretAttempts)
}

func (m *Manager) newSecret(data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      m.cfg.SecretName,
			Namespace: m.cfg.Namespace,
			Labels: map[string]string{
				"app.kubernetes.io/name":       "volumeguard",
				"app.kubernetes.io/managed-by": "volumeguard",
			},
		},
		Type: corev1.SecretTypeTLS,
		Data: data,
	}
}
