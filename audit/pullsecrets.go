package audit

import (
	"context"
	"errors"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/internal/keychain"
	"github.com/volumeguard/volumeguard/pullsecrets"
)

// PullSecrets returns the credentials of a pod as the kubelet pulls its
// images with (package pullsecrets): its imagePullSecrets, its service
// account's, then the local docker config. A one-shot scan reads only the
// Secrets and ServiceAccounts that pods name, with a GET each, once per run,
// instead of listing every Secret of the cluster; that needs only "get".
// opts are pullsecrets' (WithFallback: give the keychain the analyzer's
// Inspector reads with, so that they share one cache; WithLogger).
func PullSecrets(client kubernetes.Interface, opts ...pullsecrets.Option) analysis.KeychainSource {
	// One fallback for the whole run: the docker config is read once a
	// minute at most, not once per pod spec (pullsecrets.New, below, would
	// make one per call).
	own := pullsecrets.WithFallback(keychain.Own())
	return &secretKeychains{
		reads: &apiReads{client: client, secrets: map[objectKey]read[*corev1.Secret]{}, accounts: map[objectKey]read[*corev1.ServiceAccount]{}},
		opts:  append([]pullsecrets.Option{own}, opts...),
	}
}

type secretKeychains struct {
	reads *apiReads
	opts  []pullsecrets.Option
}

func (k *secretKeychains) Keychain(ctx context.Context, namespace string, spec *corev1.PodSpec) (authn.Keychain, error) {
	// pullsecrets reads through listers, whose Get takes no context: these
	// listers carry the one of this call.
	source := pullsecrets.New(secretLister{ctx, k.reads}, accountLister{ctx, k.reads}, k.opts...)
	return source.Keychain(ctx, namespace, spec)
}

type objectKey struct{ namespace, name string }

// read is one GET's answer: the object or the error.
type read[T any] struct {
	object T
	err    error
}

// apiReads remembers every GET of the run, errors too (NotFound is an
// answer). Workers asking for the same object at once share one GET: they
// all start together, on the same namespace's default service account, so
// each used to send its own (160 GETs for 10 namespaces at 16 workers,
// test/bench/auditscale).
type apiReads struct {
	client kubernetes.Interface
	flight singleflight.Group

	mu       sync.Mutex
	secrets  map[objectKey]read[*corev1.Secret]
	accounts map[objectKey]read[*corev1.ServiceAccount]
}

func (r *apiReads) secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return remembered(&r.mu, &r.flight, "secret", r.secrets, objectKey{namespace, name}, func() (*corev1.Secret, error) {
		return r.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	})
}

func (r *apiReads) account(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return remembered(&r.mu, &r.flight, "account", r.accounts, objectKey{namespace, name}, func() (*corev1.ServiceAccount, error) {
		return r.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	})
}

// remembered is the answer reads holds for key, else get's, which it then
// holds. mu guards reads, not get: a slow GET holds no other. Callers
// asking for the same kind and key at once share one get through flight.
func remembered[T any](mu *sync.Mutex, flight *singleflight.Group, kind string, reads map[objectKey]read[T], key objectKey, get func() (T, error)) (T, error) {
	mu.Lock()
	got, ok := reads[key]
	mu.Unlock()
	if !ok {
		v, _, _ := flight.Do(kind+"\x00"+key.namespace+"\x00"+key.name, func() (any, error) {
			var fresh read[T]
			fresh.object, fresh.err = get()
			mu.Lock()
			reads[key] = fresh
			mu.Unlock()
			return fresh, nil
		})
		got = v.(read[T])
	}
	return got.object, got.err
}

// errNotListed: pullsecrets only ever gets objects by name.
var errNotListed = errors.New("audit reads pull secrets and service accounts by name only")

type secretLister struct {
	ctx   context.Context
	reads *apiReads
}

func (l secretLister) List(labels.Selector) ([]*corev1.Secret, error) { return nil, errNotListed }

func (l secretLister) Secrets(namespace string) corev1listers.SecretNamespaceLister {
	return secretsIn{l, namespace}
}

type secretsIn struct {
	secretLister
	namespace string
}

func (l secretsIn) Get(name string) (*corev1.Secret, error) {
	return l.reads.secret(l.ctx, l.namespace, name)
}

type accountLister struct {
	ctx   context.Context
	reads *apiReads
}

func (l accountLister) List(labels.Selector) ([]*corev1.ServiceAccount, error) {
	return nil, errNotListed
}

func (l accountLister) ServiceAccounts(namespace string) corev1listers.ServiceAccountNamespaceLister {
	return accountsIn{l, namespace}
}

type accountsIn struct {
	accountLister
	namespace string
}

func (l accountsIn) Get(name string) (*corev1.ServiceAccount, error) {
	return l.reads.account(l.ctx, l.namespace, name)
}
