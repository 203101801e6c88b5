// Package crirun runs containers through a real containerd's CRI API, for
// tests that prove what the runtime does with image VOLUMEs.
//
// Start launches a private containerd (root, state, socket and config in a
// temporary directory; runc with its own state) with its CRI plugin, and an
// in-process registry on 127.0.0.1 that holds every image it runs, the
// sandbox image included: nothing is pulled from anywhere else. Images hold
// one static program (app/main.go) and the layers a test describes with
// Entry values. Pods run on the host network, so no CNI is needed.
//
// It needs root and containerd, containerd-shim-runc-v2, runc and go in PATH
// (hack/install-runtime.sh installs the Debian packages); otherwise the test
// is skipped, or fails when VOLUMEGUARD_REQUIRE_TOOLS=1. When the test ends,
// containers and pods are removed, containerd is stopped, and any shim,
// mount or cgroup it left behind fails the test and is removed.
//
// Only tests import this package.
package crirun
