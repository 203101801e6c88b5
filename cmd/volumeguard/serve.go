package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volumeguard/volumeguard/certs"
	"github.com/volumeguard/volumeguard/webhook"
)

// serveOptions are the flags of serve: the webhook's, the registry flags
// every command reading images shares, and those of --manage-certs.
type serveOptions struct {
	webhook  *webhook.Options
	registry registryOptions
	managed  certOptions
}

func newServeCommand(s streams) *cobra.Command {
	so := &serveOptions{webhook: webhook.NewOptions()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook",
		Long: `serve runs the volumeguard admission webhook: POST /mutate and POST /validate
answer admission.k8s.io/v1 AdmissionReviews over HTTPS, for pods (CREATE,
UPDATE, pods/ephemeralcontainers) and, on /validate, for workloads (Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController).

What it does depends on the namespace's mode: the label volumeguard.io/mode
(off, audit, mutate, enforce) or else --mode.
  audit    admit unchanged, with warnings and audit annotations
  mutate   /mutate adds an emptyDir with a sizeLimit for each uncovered VOLUME
           (annotation volumeguard.io/size-limit on the pod or namespace, else
           --default-size-limit)
  enforce  deny, naming container, image, path and the fix
  off      admit at once

The serving certificate comes from --tls-cert-file and --tls-private-key-file
(cert-manager, a Secret), re-read when they change; or, with --manage-certs,
volumeguard generates and rotates it itself and sets the caBundle.

Images are read with the credentials the kubelet would pull them with: the
pod's imagePullSecrets, its service account's, then volumeguard's own docker
config. That reads Secrets and ServiceAccounts cluster-wide (list, watch);
--pull-secrets=false reads neither and uses volumeguard's own credentials only.

Metrics (/metrics), liveness (/healthz) and readiness (/readyz: namespaces
and pull secrets synced, certificate loaded) are served over plain HTTP on
--metrics-listen.

A request's body must arrive within the request's deadline (408 otherwise);
requests beyond 32 MiB of bodies in flight get 429 at once, so that the API
server applies the failurePolicy. A fatal error (a certificate that cannot be
loaded or managed, a listener that fails) ends serve with its message.
On SIGTERM or SIGINT, /readyz fails at once; serve goes on answering for
--shutdown-delay, then stops accepting and answers the requests in flight.
The API server is found as kubectl finds it: --kubeconfig, KUBECONFIG,
~/.kube/config, in-cluster.`,
		Example: `  volumeguard serve --tls-cert-file /tls/tls.crt --tls-private-key-file /tls/tls.key
  volumeguard serve --mode enforce --on-registry-error deny --tls-cert-file ... --tls-private-key-file ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := so.config(s.err)
			if err != nil {
				return err
			}
			// client-go (klog) and controller-runtime's certwatcher log
			// through process-wide loggers: set here, in the program, so
			// that package webhook stays free of globals.
			klog.SetLogger(cfg.Logger.WithName("klog"))
			ctrllog.SetLogger(cfg.Logger) // names its loggers "controller-runtime.*"
			return webhook.Run(cmd.Context(), cfg)
		},
	}
	so.addFlags(cmd.Flags())
	return cmd
}

func (so *serveOptions) addFlags(fs *pflag.FlagSet) {
	o := so.webhook
	fs.StringVar(&o.Listen, "listen", o.Listen, "[HOST]:PORT of the HTTPS admission endpoints /mutate and /validate")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "serving certificate (PEM), re-read when it changes; required without --manage-certs")
	fs.StringVar(&o.TLSPrivateKeyFile, "tls-private-key-file", o.TLSPrivateKeyFile, "private key of --tls-cert-file (PEM), re-read when it changes; required without --manage-certs")
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, "[HOST]:PORT of the plain HTTP /metrics, /healthz and /readyz")
	fs.StringVar(&o.Mode, "mode", o.Mode, "mode of namespaces without a valid volumeguard.io/mode label: off, audit, mutate or enforce")
	fs.StringVar(&o.DefaultSizeLimit, "default-size-limit", o.DefaultSizeLimit, "sizeLimit of added emptyDirs without a volumeguard.io/size-limit annotation on the pod or namespace")
	fs.StringVar(&o.OnRegistryError, "on-registry-error", o.OnRegistryError, "when an image cannot be read in time: allow (with a warning) or deny (in modes mutate and enforce; audit never denies)")
	fs.DurationVar(&o.AdmissionTimeout, "admission-timeout", o.AdmissionTimeout, "longest time to answer a request; the API server's ?timeout= shortens it (to 90%)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn, error, or a verbosity number (1 = debug)")
	fs.BoolVar(&o.PullSecrets, "pull-secrets", o.PullSecrets,
		"read images with the imagePullSecrets of pods and of their service accounts, before volumeguard's own docker config; "+
			"needs list and watch on secrets and serviceaccounts cluster-wide. false: volumeguard's own credentials only, no Secret is read")
	fs.DurationVar(&o.TagTTL, "tag-ttl", o.TagTTL, "how long a tag stays resolved to its digest before a HEAD revalidates it (0: for the process's lifetime)")
	fs.DurationVar(&o.NotFoundTTL, "not-found-ttl", o.NotFoundTTL, `how long an image that was "not found" is remembered as such (0: ask every time)`)
	fs.DurationVar(&o.MaxStale, "max-stale", o.MaxStale, "how long past --tag-ttl a tag is still served while revalidating it fails (registry down, rate-limited); 0: never")
	fs.IntVar(&o.RegistryConcurrency, "registry-concurrency", o.RegistryConcurrency, "requests in flight per registry host; more wait their turn, so that a registry that hangs holds only its own")
	fs.IntVar(&o.NamespaceConcurrency, "namespace-concurrency", o.NamespaceConcurrency,
		"image lookups in flight per namespace that the cache cannot answer; a namespace's slow registry or flood of new images waits in its own queue")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", o.ShutdownDelay,
		"on SIGTERM, how long to go on answering with /readyz failing before the admission listener closes: "+
			"the time the Service's endpoints take to drop this replica (the manifests set 5s); 0: close at once")
	so.registry.addFlags(fs)
	so.managed.addFlags(fs)
}

// config checks the flags and loads what they point to, logging to logs.
func (so *serveOptions) config(logs io.Writer) (*webhook.Config, error) {
	o := so.webhook
	o.LogOutput = logs
	o.UserAgent = "volumeguard/" + version
	o.NewInspector = so.registry.inspector // mirrors, CA file, allowed/denied registries, link-local
	certFile, keyFile, err := so.managed.tlsFiles(o.TLSCertFile, o.TLSPrivateKeyFile)
	if err := errors.Join(so.managed.validate(), err); err != nil {
		return nil, err
	}
	o.TLSCertFile, o.TLSPrivateKeyFile = certFile, keyFile
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	if so.managed.manage {
		log := cfg.Logger.WithName("certs")
		cfg.NewCertManager = func(client kubernetes.Interface) (webhook.CertManager, error) {
			return certs.NewManager(so.managed.managerConfig(client, log))
		}
	}
	return cfg, nil
}
