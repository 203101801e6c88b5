// Package runtime proves, against a real containerd (1.6, Debian's package)
// and runc driven through the CRI API, the runtime behaviour volumeguard's
// rule relies on (DESIGN.md section 1, docs/runtime-semantics.md): which
// image VOLUMEs get an anonymous volume for which mounts, what the runtime
// copies into it, and that mutate's copy policy (policy.PopulatedCopy, run
// as the kubelet runs its init containers) shows the application the same
// tree.
//
// internal/crirun starts containerd; the tests skip unless they run as root
// with the binaries installed (hack/install-runtime.sh), or fail when
// VOLUMEGUARD_REQUIRE_TOOLS=1.
package runtime
