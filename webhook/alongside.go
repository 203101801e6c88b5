package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/analysis"
)

// Shared is what the server lends to what runs alongside it (Config.Alongside):
// its client, its analyzer with the image cache, its pull-secret informers
// and its metrics registry.
type Shared struct {
	Client    kubernetes.Interface
	Analyzer  *analysis.Analyzer
	Keychains analysis.KeychainSource
	Metrics   prometheus.Registerer
	// Synced reports whether the informers behind Keychains have synced.
	Synced func() bool
}
