package main

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// asKubectlPlugin names the root command as kubectl does when the binary
// runs as a kubectl plugin, installed as kubectl-volumeguard (by krew, for
// instance): usage, help and errors then say "kubectl volumeguard check",
// what the user types, not "volumeguard check".
func asKubectlPlugin(root *cobra.Command, argv0 string) {
	name := filepath.Base(argv0)
	plugin, ok := strings.CutPrefix(name, "kubectl-")
	if !ok || plugin == "" {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	// kubectl runs kubectl-foo_bar for `kubectl foo-bar`.
	root.Annotations[cobra.CommandDisplayNameAnnotation] = "kubectl " + strings.ReplaceAll(plugin, "_", "-")
}
