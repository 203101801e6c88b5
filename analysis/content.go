package analysis

import (
	"context"
	"slices"
	"sync"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/policy"
)

// ContentScanner tells what a platform image ships under paths, from its
// layers; *imageinspect.Inspector is the real one. The error is for what
// comes before the layers; a path the layers could not decide is
// volumecontent.Unknown.
type ContentScanner interface {
	ScanContent(ctx context.Context, ref, manifestDigest string, paths []string, opts ...imageinspect.InspectOption) ([]volumecontent.Content, error)
}

// WithContentScanner makes each analysis read what the images ship at the
// paths no mount covers, so that findings carry Content (and Mutate knows
// which paths an emptyDir would hide files at). Only images with such a
// path are scanned, only for those paths, within the analysis's ctx: what
// the budget or the deadline leaves undecided is unknown, never a guess.
func WithContentScanner(s ContentScanner) Option {
	return func(a *Analyzer) { a.scanner = s }
}

// scanTarget is one platform image to scan, and where its answers go.
type scanTarget struct {
	image, manifest string
	paths           []string
	into            *policy.PlatformVolumes
}

// scanContent fills the Content of the platforms of images that declare a
// path of findings, reading each platform image once for all its paths,
// perAnalysis at a time.
func (a *Analyzer) scanContent(ctx context.Context, findings []policy.Finding, images map[string]policy.ImageFacts, digests map[string][]string, opts []imageinspect.InspectOption) {
	uncovered := map[string][]string{}
	for _, f := range findings {
		if !slices.Contains(uncovered[f.Image], f.Path) {
			uncovered[f.Image] = append(uncovered[f.Image], f.Path)
		}
	}
	var targets []scanTarget
	for image, paths := range uncovered {
		facts := images[image]
		for k := range facts.Platforms {
			p := &facts.Platforms[k]
			var mine []string
			for _, v := range p.Volumes {
				if slices.Contains(paths, v) {
					mine = append(mine, v)
				}
			}
			if len(mine) > 0 && k < len(digests[image]) {
				targets = append(targets, scanTarget{image: image, manifest: digests[image][k], paths: mine, into: p})
			}
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, a.perAnalysis)
	for _, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a.scanOne(ctx, t, opts)
		})
	}
	wg.Wait()
}

func (a *Analyzer) scanOne(ctx context.Context, t scanTarget, opts []imageinspect.InspectOption) {
	if a.lookupTimeout > 0 {
		// A scan is bounded as a lookup is: a registry whose blobs never
		// come costs a one-shot command the timeout per image, and the
		// content is unknown.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.lookupTimeout)
		defer cancel()
	}
	out := make(map[string]policy.Content, len(t.paths))
	got, err := a.scanner.ScanContent(ctx, t.image, t.manifest, t.paths, opts...)
	for k, p := range t.paths {
		switch {
		case err != nil:
			out[p] = policy.Content{State: policy.ContentUnknown, Reason: err.Error()}
		case k < len(got):
			out[p] = ContentOf(got[k])
		}
	}
	t.into.Content = out
}

// ContentOf converts what volumecontent read into what policy reads.
func ContentOf(c volumecontent.Content) policy.Content {
	return policy.Content{
		State:   policy.ContentState(c.State),
		Entries: c.Entries, Bytes: c.Bytes,
		UID: c.UID, GID: c.GID, Mode: c.Mode,
		Kind:   policy.ContentKind(c.Kind),
		Reason: c.Reason,
	}
}
