package main

import (
	"fmt"
	"net"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/volumeguard/volumeguard/manifests"
)

// cluster is a kube-apiserver and etcd, with volumeguard's webhook
// configurations installed and pointing at webhookAddr.
type cluster struct {
	env         *envtest.Environment
	cfg         *rest.Config
	version     string
	webhookAddr string // 127.0.0.1:port where `serve` must listen
	certDir     string // tls.crt and tls.key for that address, which the caBundle trusts
}

// startCluster starts kube-apiserver and etcd from the binaries in assets.
// A cluster is returned with any error once something was started: stop it.
func startCluster(assets string) (*cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mutating, validating, err := webhookConfigurations("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	c := &cluster{env: &envtest.Environment{
		BinaryAssetsDirectory: assets,
		// envtest generates a CA and a serving certificate for 127.0.0.1
		// and sets the CA as caBundle of every webhook.
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   "127.0.0.1",
			LocalServingPort:   port,
			MutatingWebhooks:   []*admissionregistrationv1.MutatingWebhookConfiguration{mutating},
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{validating},
		},
	}}
	c.cfg, err = c.env.Start()
	if err != nil {
		return c, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	opts := c.env.WebhookInstallOptions
	c.webhookAddr = net.JoinHostPort(opts.LocalServingHost, strconv.Itoa(opts.LocalServingPort))
	c.certDir = opts.LocalServingCertDir
	if dc, err := discovery.NewDiscoveryClientForConfig(c.cfg); err == nil {
		if v, err := dc.ServerVersion(); err == nil {
			c.version = v.GitVersion
		}
	}
	return c, nil
}

func (c *cluster) stop() error {
	if err := c.env.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver and etcd: %w", err)
	}
	return nil
}

// webhookConfigurations are those of manifests/overlays/enforce (rules,
// failure policies, namespace selectors as installed), called at addr by
// URL instead of through the Service, which nothing routes to here.
func webhookConfigurations(addr string) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	objs, err := manifests.Render("overlays/enforce")
	if err != nil {
		return nil, nil, err
	}
	url := func(cc *admissionregistrationv1.WebhookClientConfig) {
		path := ""
		if cc.Service != nil && cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		u := "https://" + addr + path
		cc.URL, cc.Service = &u, nil
	}
	var mutating *admissionregistrationv1.MutatingWebhookConfiguration
	var validating *admissionregistrationv1.ValidatingWebhookConfiguration
	for _, obj := range objs {
		switch obj.GetKind() {
		case "MutatingWebhookConfiguration":
			mutating = &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, mutating); err != nil {
				return nil, nil, err
			}
			for i := range mutating.Webhooks {
				url(&mutating.Webhooks[i].ClientConfig)
			}
		case "ValidatingWebhookConfiguration":
			validating = &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, validating); err != nil {
				return nil, nil, err
			}
			for i := range validating.Webhooks {
				url(&validating.Webhooks[i].ClientConfig)
			}
		}
	}
	if mutating == nil || validating == nil {
		return nil, nil, fmt.Errorf("manifests/overlays/enforce has no webhook configurations")
	}
	return mutating, validating, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
