package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

type inspectOptions struct {
	registry registryOptions
	output   string
	platform string
}

// inspectedPlatform and inspected are the `inspect -o json` document.
type inspectedPlatform struct {
	Platform       string   `json:"platform"`
	ManifestDigest string   `json:"manifestDigest"`
	ConfigDigest   string   `json:"configDigest"`
	Volumes        []string `json:"volumes"`
}

type inspected struct {
	Image     string              `json:"image"`
	Reference string              `json:"reference"`
	Digest    string              `json:"digest"`
	MediaType string              `json:"mediaType"`
	Platforms []inspectedPlatform `json:"platforms"`
}

func newInspectCommand(s streams) *cobra.Command {
	o := inspectOptions{}
	cmd := &cobra.Command{
		Use:     "inspect IMAGE",
		Short:   "Show the VOLUMEs an image declares, per platform, and its digest",
		Example: "  volumeguard inspect zookeeper:3.4.13\n  volumeguard inspect -o json localhost:5000/app@sha256:...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", o.output)
			}
			var platform *imageinspect.Platform
			if o.platform != "" {
				p, err := imageinspect.ParsePlatform(o.platform)
				if err != nil {
					return fmt.Errorf("--platform: %w", err)
				}
				platform = &p
			}
			img, err := o.registry.inspector().Inspect(cmd.Context(), args[0], platform)
			if err != nil {
				return err
			}
			out := inspected{Image: args[0], Reference: img.Reference, Digest: img.Digest, MediaType: img.MediaType, Platforms: []inspectedPlatform{}}
			for _, p := range img.Platforms {
				out.Platforms = append(out.Platforms, inspectedPlatform{
					Platform: p.Platform.String(), ManifestDigest: p.ManifestDigest,
					ConfigDigest: p.ConfigDigest, Volumes: append([]string{}, p.Volumes...),
				})
			}
			if o.output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return writeInspectText(s, out)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&o.platform, "platform", "", "only this platform, OS/ARCH[/VARIANT] (default: every platform but attestations)")
	o.registry.addFlags(cmd.Flags())
	return cmd
}

func writeInspectText(s streams, img inspected) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ndigest: %s\n", img.Reference, img.Digest)
	for _, p := range img.Platforms {
		volumes := "(no VOLUME)"
		if len(p.Volumes) > 0 {
			// Paths and platforms come from the image: quoted where they
			// hold anything but plain text (a space, a newline, an ESC).
			quoted := make([]string, len(p.Volumes))
			for i, v := range p.Volumes {
				quoted[i] = policy.QuotePath(v)
			}
			volumes = strings.Join(quoted, " ")
		}
		fmt.Fprintf(&b, "%-16s %s\n", policy.QuotePath(p.Platform), volumes)
	}
	_, err := fmt.Fprint(s.out, b.String())
	return err
}
