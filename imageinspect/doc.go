// Package imageinspect reads what container images declare, straight from
// their registry: for an image reference it resolves the digest and returns
// the config.Volumes of each platform image.
//
// It knows nothing of pods. It reads only manifests and image configs, never
// layers, so one inspection costs a manifest GET and a config GET per
// platform, and an Inspector's caches make repeated inspections free.
//
// The package is silent: it returns errors, wrapped with the image and what
// was being done, and logs only to a logr.Logger given with WithLogger.
package imageinspect
