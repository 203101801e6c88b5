// Command demo shows volumeguard's main job end to end, offline, in about
// five seconds: a real kube-apiserver and etcd (envtest, from the
// binaries in KUBEBUILDER_ASSETS), a local registry holding images that
// declare VOLUMEs like the real zookeeper, mysql, nginx and redis do, and
// `volumeguard serve` behind the webhook configurations that
// manifests/overlays/enforce installs. It applies the manifests of
// examples/ in three namespaces, one per mode (audit, mutate, enforce), and
// prints what happened to each object: the warnings, the emptyDirs added
// (read back from the API server), the denial.
//
// Everything it starts is stopped before it exits, on success, on error and
// on Ctrl-C. `make demo` builds what it needs and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	o := options{}
	flag.StringVar(&o.volumeguard, "volumeguard", "bin/volumeguard", "the volumeguard binary to run as the webhook (make build)")
	flag.StringVar(&o.examples, "examples", "examples", "directory of manifests to apply in each namespace; REGISTRY/ in image references becomes the local registry")
	flag.BoolVar(&o.verbose, "v", false, "also print volumeguard's log")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long")
	flag.Parse()

	// The child processes have process groups of their own, so Ctrl-C
	// reaches only this program, which then stops them in order.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err := run(ctx, o, os.Stdout, os.Stderr)
	cancel()
	stop()
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
