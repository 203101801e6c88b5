// Package imageinspect reads what container images declare, straight from
// their registry: for an image reference it resolves the digest and returns
// the config.Volumes of each platform image.
//
// It knows nothing of pods. It reads only manifests and image configs, never
// layers, so one inspection costs a manifest GET and a config GET per
// platform, and an Inspector's caches make repeated inspections free: tags
// for a TTL (revalidated with a HEAD), manifests and configs by digest, "not
// found" briefly, concurrent identical lookups coalesced.
//
// It is built to face registries it does not trust from inside an admission
// deadline: credentials per inspection (UsingKeychain, a pod's pull
// secrets), mirrors, bounded retries that honour Retry-After within the
// caller's deadline, caps on sizes and redirects and on what one image may
// make it hold (VOLUMEs, index entries), allowed and denied registries,
// and no connection to link-local or cloud metadata addresses.
// docs/registry-access.md describes it for operators.
//
// The package is silent: it returns errors, wrapped with the image and what
// was being done, and logs only to a logr.Logger given with WithLogger.
// Credentials never appear in its logs, errors or metrics.
package imageinspect
