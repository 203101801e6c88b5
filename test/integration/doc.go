// Package integration tests registry access against the real CNCF
// distribution registry (hack/build-tools.sh registry-bin), started by the
// tests on 127.0.0.1 with htpasswd auth and a self-signed certificate, with
// fault-injecting and counting proxies in front of it. Everything listens on
// loopback.
//
// The registry binary comes from VOLUMEGUARD_REGISTRY_BIN, else from running
// hack/build-tools.sh registry-bin; without one the tests skip, or fail when
// VOLUMEGUARD_REQUIRE_TOOLS=1.
package integration
