package main

import (
	"context"
	"time"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// withLookupTimeout bounds each lookup of inspector by d (0: no bound).
// The analyzer calls it once it holds one of its lookup slots, so the time
// a lookup waits for a slot does not count: the bound is the registry's.
// An analysis option doing the same would replace it here, and only here.
func withLookupTimeout(inspector *imageinspect.Inspector, d time.Duration) analysis.Inspector {
	if d <= 0 {
		return inspector
	}
	return &timeoutInspector{inner: inspector, timeout: d}
}

// timeoutInspector is an analysis.OptionInspector, so that audit's pull
// secrets still reach the inner inspector.
type timeoutInspector struct {
	inner   *imageinspect.Inspector
	timeout time.Duration
}

func (t *timeoutInspector) Inspect(ctx context.Context, ref string, platform *imageinspect.Platform) (*imageinspect.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.inner.Inspect(ctx, ref, platform)
}

func (t *timeoutInspector) InspectWith(ctx context.Context, ref string, platform *imageinspect.Platform, opts ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.inner.InspectWith(ctx, ref, platform, opts...)
}
