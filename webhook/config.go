package webhook

import (
	"context"
	"net"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// MaxAdmissionTimeout is the longest timeoutSeconds a webhook configuration
// can give: no request is answered later, whatever Config says.
const MaxAdmissionTimeout = 30 * time.Second

// Config is what Run serves by, every value typed and checked: the command
// (`volumeguard serve`) reads its flags into one, builds the registry
// client and the analysis, and hands them in.
type Config struct {
	// Listen and MetricsListen are [HOST]:PORT of the HTTPS admission
	// endpoints and of the plain HTTP metrics and health.
	Listen            string
	MetricsListen     string
	TLSCertFile       string
	TLSPrivateKeyFile string
	// AdmissionTimeout bounds each answer, up to MaxAdmissionTimeout; the
	// API server's ?timeout= shortens it.
	AdmissionTimeout time.Duration
	// Handler holds the analysis, the defaults and the metrics; Run adds
	// the namespace informer and the pull-secret keychains.
	Handler    HandlerConfig
	RESTConfig *rest.Config
	Logger     logr.Logger
	// PullSecrets makes Run read pods' pull secrets from informers;
	// otherwise every pod gets Keychain (pullsecrets.Disabled).
	PullSecrets bool
	// Keychain is the webhook's own credentials, tried after a pod's pull
	// secrets: the one the Analyzer's Inspector reads with, so that they
	// share one cache (keychain.Own). nil: pullsecrets' default, the
	// process's docker config, cached apart.
	Keychain authn.Keychain
	// NewCertManager, when set, builds the manager of the certificate files
	// from the server's Kubernetes client (`serve --manage-certs`).
	NewCertManager func(kubernetes.Interface) (CertManager, error)
	// MaxInFlightBytes bounds the bytes of the admission requests held at
	// once; 0: DefaultMaxInFlightBytes. Requests beyond it get 429 at once.
	MaxInFlightBytes int64
	// ShutdownDelay is how long, once ctx is done, Run goes on answering
	// with /readyz failing before it closes the admission listener: the
	// time the Service's endpoints take to drop the replica.
	ShutdownDelay time.Duration

	// Alongside, when set, runs in the server until it stops, with what the
	// server shares (the continuous audit); an error it returns is fatal.
	Alongside func(context.Context, Shared) error

	// listen opens the server's listeners; nil: net.Listen. Tests make a
	// listener fail with it.
	listen func(network, address string) (net.Listener, error)
}
