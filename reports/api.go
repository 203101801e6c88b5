package reports

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Choice is what --report-api asks for.
type Choice string

const (
	// Auto prefers OpenReports, the API Policy Reporter and the policy
	// engines moved to, and falls back to the older wg-policy PolicyReport.
	Auto        Choice = "auto"
	OpenReports Choice = "openreports"
	WGPolicy    Choice = "wgpolicyk8s"
)

// ParseChoice reads a --report-api value.
func ParseChoice(s string) (Choice, error) {
	switch c := Choice(s); c {
	case Auto, OpenReports, WGPolicy:
		return c, nil
	}
	return "", fmt.Errorf("%q: want auto, openreports or wgpolicyk8s", s)
}

// API is one of the report APIs: both have the same schema (OpenReports
// forked wg-policy's v1alpha2), under another group, version and kind.
type API struct {
	Resource schema.GroupVersionResource
	Kind     string
	// reportSource: the report has a top-level "source", which OpenReports
	// added; a PolicyReport has one per result only.
	reportSource bool
}

// APIOf returns the API of an explicit choice (not Auto).
func APIOf(c Choice) API {
	if c == WGPolicy {
		return API{Resource: schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}, Kind: "PolicyReport"}
	}
	return API{Resource: schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "reports"}, Kind: "Report", reportSource: true}
}

// APIVersion is the apiVersion of the API's objects.
func (a API) APIVersion() string { return a.Resource.GroupVersion().String() }

// ErrNotServed says that the cluster serves none of the report APIs asked
// for: their CRDs are not installed.
var ErrNotServed = errors.New("the cluster does not serve the report API: its CRDs are not installed " +
	"(openreports.io: kubectl apply -k manifests/components/openreports-crds; " +
	"wgpolicyk8s.io: manifests/components/wgpolicyk8s-crds, or the CRDs of Kyverno or Policy Reporter)")

// Resolve asks the API server which report API to write: the one chosen,
// or for Auto OpenReports when served, else PolicyReport. An API not served
// is an error wrapping ErrNotServed.
func Resolve(ctx context.Context, d discovery.DiscoveryInterface, c Choice) (API, error) {
	candidates := []Choice{c}
	if c == Auto {
		candidates = []Choice{OpenReports, WGPolicy}
	}
	var names []string
	for _, cand := range candidates {
		api := APIOf(cand)
		ok, err := served(ctx, d, api)
		if err != nil {
			return API{}, err
		}
		if ok {
			return api, nil
		}
		names = append(names, api.Kind+" "+api.APIVersion())
	}
	return API{}, fmt.Errorf("looking for %s: %w", strings.Join(names, " or "), ErrNotServed)
}

func served(_ context.Context, d discovery.DiscoveryInterface, api API) (bool, error) {
	// The discovery client takes no context; its own timeout bounds it.
	list, err := d.ServerResourcesForGroupVersion(api.APIVersion())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", api.APIVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == api.Resource.Resource {
			return true, nil
		}
	}
	return false, nil
}
