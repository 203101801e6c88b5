package pullsecrets

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// SecretFieldSelector keeps, of all the cluster's secrets, those that may be
// pull secrets: listing every Opaque, TLS, token and Helm release secret
// would cost the webhook memory for nothing. A field selector cannot say
// "type is one of", so it says which types are not.
const SecretFieldSelector = "type!=Opaque,type!=kubernetes.io/tls,type!=kubernetes.io/service-account-token," +
	"type!=kubernetes.io/basic-auth,type!=kubernetes.io/ssh-auth,type!=bootstrap.kubernetes.io/token,type!=helm.sh/release.v1"

// SecretsFactory returns an informer factory for the Secrets a Source reads:
// filtered with SecretFieldSelector, and keeping of each secret only its
// type and docker config (no annotations: kubectl's last-applied copy holds
// the data again). Start it with the others.
func SecretsFactory(client kubernetes.Interface, resync time.Duration) informers.SharedInformerFactory {
	f := informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = SecretFieldSelector }))
	// Set before the informer starts, as SetTransform requires.
	_ = f.Core().V1().Secrets().Informer().SetTransform(trimSecret)
	return f
}

func trimSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil // a tombstone: left as it is
	}
	trimmed := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion},
		Type:       s.Type,
		Data:       map[string][]byte{},
	}
	for _, k := range []string{corev1.DockerConfigJsonKey, corev1.DockerConfigKey} {
		if v, ok := s.Data[k]; ok {
			trimmed.Data[k] = v
		}
	}
	return trimmed, nil
}

// NewFromFactories reads Secrets from secrets (SecretsFactory) and
// ServiceAccounts from serviceAccounts (any factory, the webhook's own),
// registering their informers: start both factories after this call.
// HasSynced then tells whether their caches are filled.
func NewFromFactories(secrets, serviceAccounts informers.SharedInformerFactory, opts ...Option) *Source {
	si := secrets.Core().V1().Secrets()
	ai := serviceAccounts.Core().V1().ServiceAccounts()
	s := New(si.Lister(), ai.Lister(), opts...)
	s.synced = []func() bool{si.Informer().HasSynced, ai.Informer().HasSynced}
	return s
}
