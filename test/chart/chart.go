// Package chart renders charts/volumeguard with the real helm binary (built
// by hack/build-tools.sh helm-bin), for its tests here (lint, schema, the
// same objects as manifests/overlays) and for test/e2e, which creates the
// renders on a real kube-apiserver.
package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Dir is the chart's directory, found from this file so that tests of any
// package can render it.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "volumeguard")
}

// HelmBinary finds helm: VOLUMEGUARD_HELM_BIN, else hack/build-tools.sh
// helm-bin (which builds it once). Without one the test skips, or fails
// when VOLUMEGUARD_REQUIRE_TOOLS=1.
func HelmBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VOLUMEGUARD_HELM_BIN"); p != "" {
		return p
	}
	script := filepath.Join(Dir(), "..", "..", "hack", "build-tools.sh")
	out, err := exec.Command(script, "helm-bin").Output()
	if p := strings.TrimSpace(string(out)); err == nil && p != "" {
		return p
	}
	if os.Getenv("VOLUMEGUARD_REQUIRE_TOOLS") == "1" {
		t.Fatalf("no helm binary: set VOLUMEGUARD_HELM_BIN or run hack/build-tools.sh helm-bin (%v)", err)
	}
	t.Skip("no helm binary (VOLUMEGUARD_HELM_BIN, hack/build-tools.sh helm-bin)")
	return ""
}

// Helm runs the helm binary at bin with args, with no user configuration
// (repositories, plugins, caches) from the environment, and returns its
// standard output; an error carries its standard error.
func Helm(ctx context.Context, bin string, args ...string) ([]byte, error) {
	home, err := os.MkdirTemp("", "volumeguard-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"), // helm template never needs a cluster
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Template renders the chart as `helm template RELEASE -n NAMESPACE` with
// values (YAML; empty for the defaults) and decodes every object.
func Template(ctx context.Context, bin, release, namespace, values string) ([]*unstructured.Unstructured, error) {
	file, err := os.CreateTemp("", "volumeguard-values-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(file.Name())
	if _, err := io.WriteString(file, values); err != nil {
		file.Close()
		return nil, err
	}
	if err := file.Close(); err != nil {
		return nil, err
	}
	out, err := Helm(ctx, bin, "template", release, Dir(), "--namespace", namespace, "--values", file.Name())
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// Decode reads a multi-document YAML stream into objects, skipping empty
// documents (a template that renders nothing). Numbers become int64, as
// the clients and manifests.Render have them.
func Decode(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var out []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decoding helm's output: %w", err)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("decoding helm's output: %w", err)
		}
		out = append(out, obj)
	}
}
