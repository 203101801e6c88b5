package main

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig finds the API server as kubectl does: the kubeconfig at path
// (--kubeconfig), then KUBECONFIG, then ~/.kube/config, then the
// in-cluster config; context "" is the kubeconfig's current one. The
// loader it returns also tells the context's namespace.
func restConfig(path, context string) (*rest.Config, clientcmd.ClientConfig, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("finding the API server (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster): %w", err)
	}
	cfg.UserAgent = "volumeguard/" + version
	return cfg, loader, nil
}
