package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/certs"
)

// defaultCertDir is an emptyDir in the manifests: writable under a
// read-only root filesystem, and gone with the pod.
const defaultCertDir = "/var/run/volumeguard/certs"

// certOptions are the `serve` flags for a serving certificate that the
// webhook manages itself (no cert-manager). serve checks them with the
// others (validate), loads the files tlsFiles names, and hands webhook.Run
// a Config.NewCertManager building the certs.Manager of managerConfig;
// webhook/tls.go runs it and waits for its first files before serving.
type certOptions struct {
	manage            bool
	secretName        string
	serviceName       string
	namespace         string
	webhookConfigName string
	certDir           string
	extraSANs         []string
}

func (o *certOptions) addFlags(fs *pflag.FlagSet) {
	namespace := os.Getenv("POD_NAMESPACE") // the downward API sets it in the manifests
	if namespace == "" {
		namespace = "volumeguard"
	}
	fs.BoolVar(&o.manage, "manage-certs", false,
		"generate, rotate and share the serving certificate through --cert-secret, and set the CA as caBundle of the webhook configurations (instead of cert-manager)")
	fs.StringVar(&o.secretName, "cert-secret", "volumeguard-tls", "with --manage-certs: kubernetes.io/tls Secret, in --cert-namespace, holding the CA and the serving certificate")
	fs.StringVar(&o.serviceName, "service-name", "volumeguard", "with --manage-certs: Service of the webhook; the certificate is for its DNS names")
	fs.StringVar(&o.namespace, "cert-namespace", namespace, "with --manage-certs: namespace of --cert-secret and --service-name; the default is POD_NAMESPACE when set")
	// The flag's first name, which audit's -n makes ambiguous: kept working,
	// and hidden from the help.
	fs.StringVar(&o.namespace, "namespace", namespace, "deprecated: --cert-namespace")
	_ = fs.MarkDeprecated("namespace", "use --cert-namespace") // cannot fail: the flag was just defined
	fs.StringVar(&o.webhookConfigName, "webhook-config-name", "volumeguard",
		"with --manage-certs: name of the MutatingWebhookConfiguration and of the ValidatingWebhookConfiguration whose webhooks get the caBundle")
	fs.StringVar(&o.certDir, "cert-dir", defaultCertDir, "with --manage-certs: writable directory receiving tls.crt, tls.key and ca.crt")
	fs.StringSliceVar(&o.extraSANs, "cert-extra-sans", nil,
		"with --manage-certs: DNS names or IP addresses the serving certificate is for beside the Service's, for webhooks reached by URL (e.g. 127.0.0.1)")
}

// tlsFiles returns the certificate and key files serve loads. With
// --manage-certs they are those the manager writes, so the file flags may
// be left out; given, they must name the same files.
func (o *certOptions) tlsFiles(certFile, keyFile string) (string, string, error) {
	if !o.manage {
		return certFile, keyFile, nil
	}
	managedCert, managedKey := filepath.Join(o.certDir, certs.CertFile), filepath.Join(o.certDir, certs.KeyFile)
	var errs []error
	if certFile != "" && filepath.Clean(certFile) != managedCert {
		errs = append(errs, fmt.Errorf("--tls-cert-file %s: with --manage-certs the certificate is %s (see --cert-dir)", certFile, managedCert))
	}
	if keyFile != "" && filepath.Clean(keyFile) != managedKey {
		errs = append(errs, fmt.Errorf("--tls-private-key-file %s: with --manage-certs the key is %s (see --cert-dir)", keyFile, managedKey))
	}
	return managedCert, managedKey, errors.Join(errs...)
}

func (o *certOptions) validate() error {
	if !o.manage {
		return nil
	}
	var errs []error
	for _, f := range []struct{ flag, value string }{
		{"--cert-secret", o.secretName}, {"--service-name", o.serviceName}, {"--cert-namespace", o.namespace},
		{"--webhook-config-name", o.webhookConfigName}, {"--cert-dir", o.certDir},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty with --manage-certs", f.flag))
		}
	}
	errs = append(errs, validateSANs("--cert-extra-sans", o.extraSANs))
	return errors.Join(errs...)
}

// validateSANs accepts IP addresses and DNS names (lower case, as
// certificates and the API server's verification compare them).
func validateSANs(flag string, names []string) error {
	var errs []error
	for _, n := range names {
		if net.ParseIP(n) != nil {
			continue
		}
		if problems := validation.IsDNS1123Subdomain(n); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: neither an IP address nor a DNS name: %s", flag, n, strings.Join(problems, "; ")))
		}
	}
	return errors.Join(errs...)
}

// managerConfig is the certs.Manager configuration the flags describe; the
// rotation settings keep the package's defaults.
func (o *certOptions) managerConfig(client kubernetes.Interface, log logr.Logger) certs.Config {
	var names []string // nil: the manager's default, the Service's names
	if len(o.extraSANs) > 0 {
		names = append(certs.ServiceDNSNames(o.serviceName, o.namespace), o.extraSANs...)
	}
	return certs.Config{
		DNSNames:                           names,
		Client:                             client,
		Namespace:                          o.namespace,
		SecretName:                         o.secretName,
		ServiceName:                        o.serviceName,
		MutatingWebhookConfigurationName:   o.webhookConfigName,
		ValidatingWebhookConfigurationName: o.webhookConfigName,
		CertDir:                            o.certDir,
		Log:                                log,
	}
}

func newCertsCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Serving certificates for the webhook, for setups without cert-manager or --manage-certs",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCertsGenerateCommand(s))
	return cmd
}

type certsGenerateOptions struct {
	service, namespace, outDir string
	extraSANs                  []string
	validity, caValidity       time.Duration
}

func newCertsGenerateCommand(s streams) *cobra.Command {
	o := certsGenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a CA and a serving certificate for the webhook Service to a directory",
		Long: `generate writes ca.crt, tls.crt and tls.key to --out-dir: a new CA and a
serving certificate signed by it for the DNS names of the Service (<svc>,
<svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local) and --extra-sans.
It prints the caBundle to set in the webhook configurations.

The CA key is not kept: nothing else can be signed with it. To renew,
generate again and replace both the Secret and the caBundle.`,
		Example: `  volumeguard certs generate --service volumeguard --namespace volumeguard --out-dir ./tls
  kubectl -n volumeguard create secret tls volumeguard-tls --cert=./tls/tls.crt --key=./tls/tls.key`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.validity <= 0 || o.caValidity < o.validity {
				return fmt.Errorf("--validity %s must be positive and at most --ca-validity %s", o.validity, o.caValidity)
			}
			if err := validateSANs("--extra-sans", o.extraSANs); err != nil {
				return err
			}
			ca, err := certs.GenerateCA(o.service+"."+o.namespace+"-ca", o.caValidity)
			if err != nil {
				return err
			}
			names := append(certs.ServiceDNSNames(o.service, o.namespace), o.extraSANs...)
			serving, err := certs.GenerateServing(ca, names, o.validity)
			if err != nil {
				return err
			}
			if _, err := certs.WriteFiles(o.outDir, ca.CertPEM, serving); err != nil {
				return err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "Wrote %s, %s and %s to %s for %s, valid for %s.\n",
				certs.CACertFile, certs.CertFile, certs.KeyFile, o.outDir, strings.Join(names, ", "), o.validity)
			fmt.Fprintf(&b, "Store the serving certificate in the webhook's Secret:\n  kubectl -n %s create secret tls volumeguard-tls --cert=%s --key=%s\n",
				o.namespace, filepath.Join(o.outDir, certs.CertFile), filepath.Join(o.outDir, certs.KeyFile))
			fmt.Fprintf(&b, "Set this caBundle in every webhook of both webhook configurations:\n%s\n",
				base64.StdEncoding.EncodeToString(ca.CertPEM))
			_, err = fmt.Fprint(s.out, b.String())
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.service, "service", "", "name of the webhook Service (required)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the webhook Service (required)")
	fs.StringVar(&o.outDir, "out-dir", "", "directory to write ca.crt, tls.crt and tls.key to; created if missing (required)")
	fs.StringSliceVar(&o.extraSANs, "extra-sans", nil, "DNS names or IP addresses the certificate is for beside the Service's, for a webhook reached by URL (e.g. 127.0.0.1)")
	fs.DurationVar(&o.validity, "validity", certs.DefaultServingValidity, "how long the serving certificate is valid")
	fs.DurationVar(&o.caValidity, "ca-validity", certs.DefaultCAValidity, "how long the CA is valid")
	for _, name := range []string{"service", "namespace", "out-dir"} {
		_ = cmd.MarkFlagRequired(name) // cannot fail: the flag was just defined
	}
	return cmd
}
