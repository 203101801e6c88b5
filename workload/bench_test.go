package workload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadPaths1000Deployments reads a directory of 1,000 small
// Deployments, as `make bench-check`'s fixture: the decoding side of check.
func BenchmarkReadPaths1000Deployments(b *testing.B) {
	dir := writeDeployments(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		in := ReadPaths(context.Background(), []string{dir}, nil)
		if len(in.Objects) != 1000 || len(in.Errors) != 0 {
			b.Fatalf("%d objects, errors %v", len(in.Objects), in.Errors)
		}
	}
}

// BenchmarkReadPaths1000DeploymentsCached is the same through a warm object
// cache, as a re-run of check reads it.
func BenchmarkReadPaths1000DeploymentsCached(b *testing.B) {
	dir := writeDeployments(b, 1000)
	cache := OpenObjectCache(filepath.Join(b.TempDir(), ObjectCacheFile), "bench")
	d := NewDecoder(WithObjectCache(cache))
	d.ReadPaths(context.Background(), []string{dir}, nil)
	b.ReportAllocs()
	for b.Loop() {
		in := d.ReadPaths(context.Background(), []string{dir}, nil)
		if len(in.Objects) != 1000 || len(in.Errors) != 0 {
			b.Fatalf("%d objects, errors %v", len(in.Objects), in.Errors)
		}
	}
}

// writeDeployments writes n small Deployments naming n/10 images into a
// new directory.
func writeDeployments(b *testing.B, n int) string {
	dir := b.TempDir()
	for i := range n {
		doc := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%04d
  namespace: bench
spec:
  replicas: 1
  selector:
    matchLabels: {app: app-%04d}
  template:
    metadata:
      labels: {app: app-%04d}
    spec:
      containers:
      - name: app
        image: registry.example:5000/bench/app-%03d:v1
        args: [-c, --port=8080]
        resources: {requests: {cpu: 0.5, memory: 64Mi}}
`, i, i, i, i%max(n/10, 1))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("app-%04d.yaml", i)), []byte(doc), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}
