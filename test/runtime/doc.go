// Package runtime proves, against a real containerd (1.6, Debian's package)
// and runc driven through the CRI API, the runtime behaviour volumeguard's
// rule relies on (DESIGN.md section 1, docs/runtime-observations.md): which
// image VOLUMEs get an anonymous volume for which mounts, and what the
// runtime copies into it.
//
// internal/crirun starts containerd; the tests skip unless they run as root
// with the binaries installed (hack/install-runtime.sh), or fail when
// VOLUMEGUARD_REQUIRE_TOOLS=1.
package runtime
