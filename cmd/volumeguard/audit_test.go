package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditBadUsage(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "yaml"}, "--output"},
		{[]string{"-l", "app in ("}, "--selector"},
		{[]string{"-n", "team-a", "--all-namespaces"}, "--all-namespaces"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--size-limit", "lots"}, "--size-limit"},
		{[]string{"--size-limit", "0"}, "--size-limit must be a positive quantity"},
		{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "missing")}, "finding the API server"},
		{[]string{"extra-arg"}, "unknown command"},
		{[]string{"--reports", "--report-api", "policyreport"}, "--report-api"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"audit", "--kubeconfig", kubeconfig}, tt.args...)
			_, err := runCommand(t, args...)
			var exit exitError
			if err == nil || errors.As(err, &exit) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error (exit %d) naming %s", err, usageExitCode, tt.want)
			}
		})
	}
}

// TestAuditUnreachable: pods that cannot be listed are an error of the
// report, in the JSON too, and exit 2.
func TestAuditUnreachable(t *testing.T) {
	out, err := runCommand(t, "audit", "-o", "json", "--kubeconfig", writeKubeconfig(t))
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 2 {
		t.Fatalf("err = %v, want exit code 2", err)
	}
	var report struct {
		Findings []any `json:"findings"`
		Errors   []struct {
			Kind, Message string
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if report.Findings == nil || len(report.Errors) != 1 || report.Errors[0].Kind != "Pod" ||
		!strings.Contains(report.Errors[0].Message, "listing pods in all namespaces") {
		t.Errorf("report = %+v, want no finding and the listing error", report)
	}
}

func TestAuditNamespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ctx-ns}}, {name: other, context: {cluster: c, user: u, namespace: other-ns}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    auditOptions
		want string
	}{
		{"all by default", auditOptions{allNamespaces: true}, ""},
		{"-n", auditOptions{namespace: "team-a", allNamespaces: true}, "team-a"},
		{"the context's, as kubectl without -A", auditOptions{}, "ctx-ns"},
		{"--context", auditOptions{context: "other"}, "other-ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.kubeconfig = path
			cfg, namespace, err := tt.o.restConfig()
			if err != nil {
				t.Fatal(err)
			}
			if namespace != tt.want || cfg.Host != "https://127.0.0.1:1" {
				t.Errorf("namespace %q, host %q; want %q", namespace, cfg.Host, tt.want)
			}
		})
	}
}
