package imageinspect

import (
	"sync/atomic"
	"time"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// CacheKind names an Inspector cache for metrics.
type CacheKind string

const (
	CacheTag      CacheKind = "tag"       // tag -> digest, per credentials
	CacheManifest CacheKind = "manifest"  // manifests and indexes, by digest
	CacheConfig   CacheKind = "config"    // image configs, by digest
	CacheNotFound CacheKind = "not_found" // recent "not found" answers
	CacheFailure  CacheKind = "failure"   // recent transient failures (WithFailureTTL)
)

// RequestKind names what an HTTP request to a registry was for.
type RequestKind = transport.RequestKind

const (
	RequestManifest     = transport.RequestManifest     // GET of a manifest or index
	RequestManifestHead = transport.RequestManifestHead // HEAD revalidating a tag
	RequestConfig       = transport.RequestConfig       // GET of a config blob (and its redirects)
	RequestLayer        = transport.RequestLayer        // streamed GET of a layer blob (ScanContent)
	RequestOther        = transport.RequestOther        // pings and token requests
)

// Metrics are callbacks through which an Inspector reports what it does, for
// the caller to turn into counters; any may be nil. They are called
// concurrently and must be quick. Their labels are small fixed sets: never a
// registry host, an image or a credential, which pod specs control and which
// would make metrics unbounded (or leak).
type Metrics struct {
	// CacheLookup is called for each cache lookup of an inspection.
	CacheLookup func(kind CacheKind, hit bool)
	// Request is called for each HTTP request sent to a registry, each try
	// of a retried one included; code is the status, 0 when none came.
	Request func(kind RequestKind, code int)
	// Inspected is called once per Inspect: reason is "" on success, else
	// Reason(err).
	Inspected func(reason string)
	// SlotWait is called for each lookup that found every slot of its
	// registry host or tenant taken, once it got one (ok) or gave up (its
	// context ended), with how long it waited.
	SlotWait func(kind SlotKind, waited time.Duration, ok bool)
	// Circuit is called when a host's circuit breaker opens or closes, and
	// for each request it fails fast.
	Circuit func(event CircuitEvent)
	// ContentScanned is called once per ScanContent that got to the
	// layers, with what it read and how many paths it left Unknown.
	ContentScanned func(scan ContentScan)
}

func (m *Metrics) contentScanned(s ContentScan) {
	if m.ContentScanned != nil {
		m.ContentScanned(s)
	}
}

func (m *Metrics) cacheLookup(kind CacheKind, hit bool) {
	if m.CacheLookup != nil {
		m.CacheLookup(kind, hit)
	}
}

func (m *Metrics) inspected(err error) {
	if m.Inspected != nil {
		m.Inspected(Reason(err))
	}
}

// Stats counts what an Inspector really did.
type Stats struct {
	ManifestFetches int64 // manifest GETs started (a retried one counts once)
	ManifestHeads   int64 // manifest HEADs started, revalidating tags
	ConfigFetches   int64 // config blob GETs started
	CacheHits       int64 // manifests and configs taken from the cache
	NegativeHits    int64 // "not found" answered from the cache
	SharedFetches   int64 // lookups that waited for an identical one in flight instead of sending their own
	StaleServed     int64 // expired tags served because revalidating them failed
	HostWaits       int64 // lookups that waited for a slot of their registry host
	TenantWaits     int64 // lookups that waited for a slot of their tenant
	HostFailures    int64 // attempts at a host that say it is unwell: timeouts, refused or reset connections, 5xx after the retries
	CircuitOpens    int64 // times a host's circuit opened (a failed probe reopens it)
	CircuitRefusals int64 // requests failed fast by an open circuit
	FailureHits     int64 // lookups answered with a remembered failure (WithFailureTTL)
	ContentScans    int64 // ScanContent calls that got to the layers
	LayerFetches    int64 // layer blob GETs started (ScanContent)
	LayerBytes      int64 // compressed layer bytes streamed (ScanContent)
}

type counters struct {
	manifestFetches, manifestHeads, configFetches atomic.Int64
	cacheHits, negativeHits, sharedFetches        atomic.Int64
	staleServed                                   atomic.Int64
	hostWaits, tenantWaits                        atomic.Int64
	hostFailures, circuitOpens, circuitRefusals   atomic.Int64
	failureHits                                   atomic.Int64
	contentScans, layerFetches, layerBytes        atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		ManifestFetches: c.manifestFetches.Load(),
		ManifestHeads:   c.manifestHeads.Load(),
		ConfigFetches:   c.configFetches.Load(),
		CacheHits:       c.cacheHits.Load(),
		NegativeHits:    c.negativeHits.Load(),
		SharedFetches:   c.sharedFetches.Load(),
		StaleServed:     c.staleServed.Load(),
		HostWaits:       c.hostWaits.Load(),
		TenantWaits:     c.tenantWaits.Load(),
		HostFailures:    c.hostFailures.Load(),
		CircuitOpens:    c.circuitOpens.Load(),
		CircuitRefusals: c.circuitRefusals.Load(),
		FailureHits:     c.failureHits.Load(),
		ContentScans:    c.contentScans.Load(),
		LayerFetches:    c.layerFetches.Load(),
		LayerBytes:      c.layerBytes.Load(),
	}
}
