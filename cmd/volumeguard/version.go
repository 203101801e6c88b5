package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit and date are set at build time, as version is (main.go):
// -ldflags "-X main.commit=SHA -X main.date=RFC3339". GoReleaser sets all
// three (.goreleaser.yaml); a plain `go build` in a git checkout has them
// from the Go toolchain's VCS stamp instead (buildInfo).
var (
	commit = ""
	date   = ""
)

// buildInfo is what `volumeguard version` prints. Field names are stable.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// currentBuild is this binary's build: the linker's values, else the VCS
// stamp the Go toolchain embeds (absent with -buildvcs=false).
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	return b
}

func newVersionCommand(s streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := currentBuild()
			switch output {
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			case "text":
				// The first line as it always was: scripts read it.
				_, err := fmt.Fprintf(s.out, "volumeguard %s\ncommit: %s\nbuilt: %s\ngo: %s %s\n",
					b.Version, orUnknown(b.Commit), orUnknown(b.Date), b.GoVersion, b.Platform)
				return err
			}
			return fmt.Errorf("--output %q: want text or json", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
