package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

type inspectOptions struct {
	registry registryOptions
	output   string
	platform string
	timeout  time.Duration
	cache    cacheOptions
	// scanContent and contentBudget: as check's --scan-content and
	// --content-budget.
	scanContent   bool
	contentBudget string
}

// inspectedPlatform and inspected are the `inspect -o json` document.
type inspectedPlatform struct {
	Platform       string   `json:"platform"`
	ManifestDigest string   `json:"manifestDigest"`
	ConfigDigest   string   `json:"configDigest"`
	Volumes        []string `json:"volumes"`
	// Content is what the platform image ships at each VOLUME path, by
	// path as declared (--scan-content).
	Content map[string]policy.Content `json:"content,omitempty"`
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
		Use:   "inspect IMAGE",
		Short: "Show the VOLUMEs an image declares, per platform, and its digest",
		Long: `inspect reads an image's manifests and configs from its registry and shows
the VOLUMEs each platform declares, and the digest the reference resolved to.

Exit codes: 0 the image was read, 2 it could not be (the reason is printed,
also when the --timeout expires) or bad usage; 130 interrupted (SIGINT), 143
terminated (SIGTERM).`,
		Example: "  volumeguard inspect zookeeper:3.4.13\n  volumeguard inspect -o json localhost:5000/app@sha256:...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", o.output)
			}
			if o.timeout < 0 {
				return fmt.Errorf("--timeout must not be negative, not %s", o.timeout)
			}
			if err := o.cache.validate(); err != nil {
				return err
			}
			var platform *imageinspect.Platform
			if o.platform != "" {
				p, err := imageinspect.ParsePlatform(o.platform)
				if err != nil {
					return fmt.Errorf("--platform: %w", err)
				}
				platform = &p
			}
			ctx := cmd.Context()
			if o.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, o.timeout)
				defer cancel()
			}
			cached, err := o.cache.inspectorOptions(s.err)
			if err != nil {
				return err
			}
			extra := cached
			if o.scanContent {
				budget, err := resource.ParseQuantity(o.contentBudget)
				if err != nil || budget.Value() <= 0 {
					return fmt.Errorf("--content-budget must be a quantity more than 0, not %q", o.contentBudget)
				}
				extra = append(extra, imageinspect.WithContentBudget(budget.Value()))
			}
			inspector, err := o.registry.inspector(extra...)
			if err != nil {
				return err
			}
			img, err := inspector.Inspect(ctx, args[0], platform)
			if err != nil {
				return err
			}
			out := inspected{Image: args[0], Reference: img.Reference, Digest: img.Digest, MediaType: img.MediaType, Platforms: []inspectedPlatform{}}
			for _, p := range img.Platforms {
				ip := inspectedPlatform{
					Platform: p.Platform.String(), ManifestDigest: p.ManifestDigest,
					ConfigDigest: p.ConfigDigest, Volumes: append([]string{}, p.Volumes...),
				}
				if o.scanContent && len(p.Volumes) > 0 {
					ip.Content = scanPlatform(ctx, inspector, img.Reference, p)
				}
				out.Platforms = append(out.Platforms, ip)
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
	// One lookup: two minutes leave a slow registry its retries and still
	// end a script stuck on one that never answers.
	cmd.Flags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound the lookup, retries included; 0: no limit")
	cmd.Flags().BoolVar(&o.scanContent, "scan-content", true, "read what each platform image ships under its VOLUME paths from its layers' tar headers; false: configs only")
	cmd.Flags().StringVar(&o.contentBudget, "content-budget", "1Gi", "compressed layer bytes read per platform image by --scan-content; past it, content is \"unknown\"")
	o.registry.addFlags(cmd.Flags())
	o.cache.addFlags(cmd.Flags())
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
		for _, v := range p.Volumes {
			if c, ok := p.Content[v]; ok {
				fmt.Fprintf(&b, "  %s: %s\n", policy.QuotePath(v), contentLine(c))
			}
		}
	}
	_, err := fmt.Fprint(s.out, b.String())
	return err
}

// scanPlatform reads what p's image ships at each of its VOLUME paths; a
// manifest that cannot be read makes them all unknown, with the reason.
func scanPlatform(ctx context.Context, in *imageinspect.Inspector, ref string, p imageinspect.PlatformVolumes) map[string]policy.Content {
	out := make(map[string]policy.Content, len(p.Volumes))
	got, err := in.ScanContent(ctx, ref, p.ManifestDigest, p.Volumes)
	for k, v := range p.Volumes {
		switch {
		case err != nil:
			out[v] = policy.Content{State: policy.ContentUnknown, Reason: err.Error()}
		case k < len(got):
			out[v] = analysis.ContentOf(got[k])
		}
	}
	return out
}

// contentLine is what the image ships at a path, in words, with the owner
// and mode of the directory when it exists.
func contentLine(c policy.Content) string {
	switch {
	case c.State == policy.ContentUnknown && c.Reason != "":
		return "not known (" + c.Reason + ")"
	case c.State == policy.ContentUnknown:
		return "not known"
	case c.State == policy.ContentPopulated && !c.NotDirectory():
		return fmt.Sprintf("%s (directory %s, owner %d:%d)", c.Summary(), c.OctalMode(), c.UID, c.GID)
	}
	return c.Summary()
}
