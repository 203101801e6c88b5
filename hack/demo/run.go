package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

type options struct {
	volumeguard string
	examples    string
	verbose     bool
	timeout     time.Duration
}

// modes are the demo's namespaces, demo-<mode>, in the order they are shown.
var modes = []struct{ name, does string }{
	{"audit", "admit unchanged, warn"},
	{"mutate", "add an emptyDir with a sizeLimit for each uncovered VOLUME"},
	{"enforce", "deny"},
}

func run(ctx context.Context, o options, out, errOut io.Writer) (err error) {
	// envtest and client-go log through these; the demo prints for itself.
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`, which builds kube-apiserver and etcd once (a few minutes) and sets it")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return fmt.Errorf("KUBEBUILDER_ASSETS=%s: %w (run `make demo`, which builds kube-apiserver and etcd)", assets, err)
		}
	}
	if _, err := os.Stat(o.volumeguard); err != nil {
		return fmt.Errorf("volumeguard binary: %w (make build)", err)
	}
	examples, err := readExamples(o.examples)
	if err != nil {
		return err
	}

	var stack cleanups
	defer func() { err = errors.Join(err, stack.run()) }()
	work, err := os.MkdirTemp("", "volumeguard-demo-")
	if err != nil {
		return err
	}
	stack.push(func() error { return os.RemoveAll(work) })

	p := newPrinter(out)
	p.title("volumeguard demo: a real kube-apiserver, a local registry and the webhook, all on 127.0.0.1")

	start := time.Now()
	reg, images, err := startRegistry()
	if err != nil {
		return err
	}
	stack.push(func() error { reg.Close(); return nil })
	p.step("registry", fmt.Sprintf("%s, seeded with:", reg.host))
	for _, img := range images {
		p.detail(img.describe())
	}

	c, err := startCluster(assets)
	if c != nil {
		stack.push(c.stop)
	}
	if err != nil {
		return err
	}
	p.step("cluster", fmt.Sprintf("kube-apiserver %s and etcd at %s (%.1fs)", c.version, c.cfg.Host, time.Since(start).Seconds()))
	if err := ctx.Err(); err != nil {
		return err
	}

	srv, err := startServe(ctx, o.volumeguard, c, work, o.verbose, errOut)
	if srv != nil {
		stack.push(srv.stop)
	}
	if err != nil {
		return err
	}
	p.step("webhook", fmt.Sprintf("volumeguard serve on %s, behind the webhook configurations of manifests/overlays/enforce", srv.listen))

	warns := &warningCollector{}
	cfg := rest.CopyConfig(c.cfg)
	cfg.WarningHandler = warns
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	var results []*result
	for _, m := range modes {
		ns := "demo-" + m.name
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"volumeguard.io/mode": m.name}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
		p.namespace(ns, m.name, m.does)
		for _, ex := range examples {
			r, err := apply(ctx, cl, warns, ex, ns, m.name, reg.host)
			if err != nil {
				return fmt.Errorf("%w\nvolumeguard's log:\n%s", err, srv.logTail(20))
			}
			p.result(r)
			results = append(results, r)
		}
	}
	p.summary(results)
	if err := stack.run(); err != nil {
		return err
	}
	p.done(time.Since(start))
	return nil
}

// cleanups run in reverse order, once, whatever happened before.
type cleanups struct{ fns []func() error }

func (c *cleanups) push(f func() error) { c.fns = append(c.fns, f) }

func (c *cleanups) run() error {
	var errs []error
	for len(c.fns) > 0 {
		f := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}
