package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volumeguard/volumeguard/webhook"
)

func newServeCommand(s streams) *cobra.Command {
	so := newServeOptions()
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
	fs.StringVar(&so.listen, "listen", so.listen, "[HOST]:PORT of the HTTPS admission endpoints /mutate and /validate")
	fs.StringVar(&so.tlsCertFile, "tls-cert-file", so.tlsCertFile, "serving certificate (PEM), re-read when it changes; required without --manage-certs")
	fs.StringVar(&so.tlsKeyFile, "tls-private-key-file", so.tlsKeyFile, "private key of --tls-cert-file (PEM), re-read when it changes; required without --manage-certs")
	fs.StringVar(&so.metricsListen, "metrics-listen", so.metricsListen, "[HOST]:PORT of the plain HTTP /metrics, /healthz and /readyz")
	fs.StringVar(&so.mode, "mode", so.mode, "mode of namespaces without a valid volumeguard.io/mode label: off, audit, mutate or enforce")
	fs.StringVar(&so.sizeLimit, "default-size-limit", so.sizeLimit, "sizeLimit of added emptyDirs without a volumeguard.io/size-limit annotation on the pod or namespace")
	fs.StringVar(&so.onRegistry, "on-registry-error", so.onRegistry, "when an image cannot be read in time: allow (with a warning) or deny (in modes mutate and enforce; audit never denies)")
	fs.DurationVar(&so.admissionTimeout, "admission-timeout", so.admissionTimeout, "longest time to answer a request; the API server's ?timeout= shortens it (to 90%)")
	fs.StringVar(&so.kubeconfig, "kubeconfig", so.kubeconfig, "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&so.logLevel, "log-level", so.logLevel, "debug, info, warn, error, or a verbosity number (1 = debug)")
	fs.BoolVar(&so.pullSecrets, "pull-secrets", so.pullSecrets,
		"read images with the imagePullSecrets of pods and of their service accounts, before volumeguard's own docker config; "+
			"needs list and watch on secrets and serviceaccounts cluster-wide. false: volumeguard's own credentials only, no Secret is read")
	fs.DurationVar(&so.tagTTL, "tag-ttl", so.tagTTL, "how long a tag stays resolved to its digest before a HEAD revalidates it (0: for the process's lifetime)")
	fs.DurationVar(&so.notFoundTTL, "not-found-ttl", so.notFoundTTL, `how long an image that was "not found" is remembered as such (0: ask every time)`)
	fs.DurationVar(&so.maxStale, "max-stale", so.maxStale, "how long past --tag-ttl a tag is still served while revalidating it fails (registry down, rate-limited); 0: never")
	fs.IntVar(&so.registryConcurrency, "registry-concurrency", so.registryConcurrency, "requests in flight per registry host; more wait their turn, so that a registry that hangs holds only its own")
	fs.IntVar(&so.namespaceConcurrency, "namespace-concurrency", so.namespaceConcurrency,
		"image lookups in flight per namespace that the cache cannot answer; a namespace's slow registry or flood of new images waits in its own queue")
	fs.StringVar(&so.populated, "populated-volumes", so.populated,
		"mode mutate's answer for a VOLUME path the image ships files under, without a volumeguard.io/populated-volumes annotation: skip (leave it to the runtime, with a warning), copy (an emptyDir filled by an init container first; needs --copier-image) or deny")
	fs.StringVar(&so.populatedUnknown, "populated-unknown", so.populatedUnknown,
		"mode mutate's answer while what the image ships at a path is not known (its scan goes on in the background, or could not finish): skip (with a warning that says so) or mutate (a plain emptyDir)")
	fs.StringVar(&so.copierImage, "copier-image", so.copierImage,
		"volumeguard's own image (the binary at /volumeguard), which --populated-volumes=copy's first init container installs the copier from: the image of this deployment (the manifests and chart set it)")
	fs.BoolVar(&so.scanContent, "scan-content", so.scanContent,
		"read what images ship under uncovered VOLUME paths from their layers' tar headers, within the admission deadline and then in the background; false: mutate covers every path with a plain emptyDir, as before content was read")
	fs.StringVar(&so.contentBudget, "content-budget", so.contentBudget, "compressed layer bytes read per image by --scan-content; past it, the content is unknown")
	fs.DurationVar(&so.shutdownDelay, "shutdown-delay", so.shutdownDelay,
		"on SIGTERM, how long to go on answering with /readyz failing before the admission listener closes: "+
			"the time the Service's endpoints take to drop this replica (the manifests set 5s); 0: close at once")
	so.registry.addFlags(fs)
	so.exceptions.addFlags(fs)
	so.managed.addFlags(fs)
	so.audit.addFlags(fs)
}
