package reports

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
)

// Defaults of a Writer.
const (
	// DefaultWriteRate bounds the writes per second: reports are a side
	// job, and must not take the API server's capacity from admission and
	// controllers after a first run over thousands of workloads.
	DefaultWriteRate = 10
	// DefaultWriteBurst lets a small cluster's reports go out at once.
	DefaultWriteBurst = 20
	// FieldManager is the server-side apply field manager.
	FieldManager = "volumeguard"
	listPageSize = 500
)

// Writer reconciles the report objects of one API with a run's findings.
type Writer struct {
	client  dynamic.Interface
	api     API
	limiter *rate.Limiter
}

// Option configures a Writer.
type Option func(*Writer)

// WithWriteRate bounds creates, updates and deletes to perSecond, in bursts
// of burst.
func WithWriteRate(perSecond float64, burst int) Option {
	return func(w *Writer) { w.limiter = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1)) }
}

// NewWriter returns a Writer of api's objects.
func NewWriter(client dynamic.Interface, api API, opts ...Option) *Writer {
	w := &Writer{client: client, api: api, limiter: rate.NewLimiter(DefaultWriteRate, DefaultWriteBurst)}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Scope says which existing reports a run may delete.
type Scope struct {
	// Namespace is the namespace scanned; "" all of them.
	Namespace string
	// Partial is set when the run did not see every workload of Namespace
	// (a label selector, pods that could not be listed): no report is
	// deleted then, since a workload not seen is not known to be clean.
	Partial bool
	// Unknown reports whether a workload could not be fully evaluated (an
	// image that could not be read): its report stays as it is.
	Unknown func(corev1.ObjectReference) bool
}

// Result counts what Reconcile did.
type Result struct {
	Applied, Unchanged, Deleted int
}

// Reconcile applies the report of every subject and deletes volumeguard's
// reports in scope whose workload has no finding any more, or is gone. It
// goes on past errors and returns them all, with what it did.
func (w *Writer) Reconcile(ctx context.Context, subjects []Subject, scope Scope, build func(API, Subject) *unstructured.Unstructured) (Result, error) {
	var res Result
	existing, err := w.list(ctx, scope.Namespace)
	if err != nil {
		return res, err
	}
	var errs []error
	desired := map[key]bool{}
	for _, s := range subjects {
		obj := build(w.api, s)
		k := key{obj.GetNamespace(), obj.GetName()}
		desired[k] = true
		old, ours := existing[k]
		switch {
		case ours && old.GetAnnotations()[contentHashAnnotation] == obj.GetAnnotations()[contentHashAnnotation]:
			res.Unchanged++
			continue
		case !ours:
			if err := w.checkFree(ctx, k); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := w.apply(ctx, obj); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Applied++
	}
	if !scope.Partial {
		for k, old := range existing {
			if desired[k] || (scope.Unknown != nil && scope.Unknown(scopeOf(old))) {
				continue
			}
			if err := w.delete(ctx, old); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Deleted++
		}
	}
	return res, errors.Join(errs...)
}

type key struct{ namespace, name string }

// list reads volumeguard's reports, and only those, page by page.
func (w *Writer) list(ctx context.Context, namespace string) (map[key]*unstructured.Unstructured, error) {
	out := map[key]*unstructured.Unstructured{}
	opts := metav1.ListOptions{LabelSelector: labels.Set{ManagedByLabel: ManagedBy}.String(), Limit: listPageSize}
	for {
		page, err := w.client.Resource(w.api.Resource).Namespace(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing volumeguard's %s: %w", w.api.Resource.GroupResource(), err)
		}
		for i := range page.Items {
			obj := &page.Items[i]
			out[key{obj.GetNamespace(), obj.GetName()}] = obj
		}
		if page.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = page.GetContinue()
	}
}

// checkFree makes sure that a report name volumeguard is about to take is
// not an object someone else made: only labelled reports are touched.
func (w *Writer) checkFree(ctx context.Context, k key) error {
	obj, err := w.client.Resource(w.api.Resource).Namespace(k.namespace).Get(ctx, k.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading %s %s/%s: %w", w.api.Kind, k.namespace, k.name, err)
	case !isOurs(obj):
		return fmt.Errorf("%s %s/%s exists without the label %s=%s: left alone", w.api.Kind, k.namespace, k.name, ManagedByLabel, ManagedBy)
	}
	return nil
}

func (w *Writer) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", w.api.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	// Force: volumeguard owns every field of its reports; a kubectl edit
	// in between is overwritten, not a conflict that stops the update.
	_, err := w.client.Resource(w.api.Resource).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj,
		metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", w.api.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func (w *Writer) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", w.api.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	// The UID precondition: a report re-created meanwhile is not this one.
	uid := obj.GetUID()
	err := w.client.Resource(w.api.Resource).Namespace(obj.GetNamespace()).Delete(ctx, obj.GetName(),
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", w.api.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
