package reports

import (
	"context"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// Sync resolves the report API the cluster serves for choice, then
// reconciles its reports with subjects; fixes in the messages name
// sizeLimit. A cluster without the API's CRDs is an error wrapping
// ErrNotServed, and nothing is written.
func Sync(ctx context.Context, d discovery.DiscoveryInterface, client dynamic.Interface, choice Choice,
	subjects []Subject, scope Scope, sizeLimit resource.Quantity, opts ...Option) (API, Result, error) {
	api, err := Resolve(ctx, d, choice)
	if err != nil {
		return API{}, Result{}, err
	}
	build := func(api API, s Subject) *unstructured.Unstructured { return Build(api, s, sizeLimit) }
	res, err := NewWriter(client, api, opts...).Reconcile(ctx, subjects, scope, build)
	return api, res, err
}
