// Package webhook is the volumeguard admission webhook (`volumeguard serve`):
// it answers admission.k8s.io/v1 AdmissionReviews on POST /mutate and
// POST /validate with the analysis of the pod specs they carry.
//
// The two endpoints split the work the way the API server orders its
// phases. /mutate acts only on Pods of namespaces in mode mutate: it adds the
// emptyDirs and says so in warnings. /validate judges Pods and workloads
// (Deployment, CronJob, ...) in every other mode, and in mode mutate warns
// about what mutation could not cover, so nothing is silently ignored.
// Both give identical warning texts for the same fact, which the API server
// shows once.
package webhook

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
	settingsfile "github.com/volumeguard/volumeguard/settings"
)

// Endpoint names one of the two admission endpoints.
type Endpoint string

const (
	// Mutating is POST /mutate, for a MutatingWebhookConfiguration.
	Mutating Endpoint = "mutate"
	// Validating is POST /validate, for a ValidatingWebhookConfiguration.
	Validating Endpoint = "validate"
)

// HandlerConfig is what both endpoints judge by.
type HandlerConfig struct {
	Analyzer *analysis.Analyzer
	// Namespaces gives the mode label and size-limit annotation of a
	// namespace; nil means every namespace uses the defaults.
	Namespaces       NamespaceGetter
	DefaultMode      Mode
	DefaultSizeLimit resource.Quantity
	OnRegistryError  RegistryErrorPolicy
	// Keychains gives each pod's registry credentials (auth.go); nil: the
	// Inspector's own.
	Keychains analysis.KeychainSource
	// Metrics counts lookups and findings; nil counts into a private,
	// unexposed set.
	Metrics *Metrics
	// Settings are the settings file's exceptions, applied in every
	// namespace; nil: none (exceptions.go).
	Settings *settingsfile.Settings
	// AllowPodIgnore honours pods' volumeguard.io/ignore annotations in
	// every namespace, not only those labelled LabelAllowIgnore=true.
	AllowPodIgnore bool
	// Populated is mode mutate's answer for a path the image ships files
	// under (--populated-volumes; "": skip); namespaces and pods may
	// override it (AnnotationPopulatedVolumes). PopulatedUnknown is the
	// answer while the content is not known (--populated-unknown; "":
	// skip). CopierImage is volumeguard's own image, which copy's init
	// container installs the copier from (--copier-image); earlier ones
	// are KnownCopierImages. Content is only known when the Analyzer scans
	// it (analysis.WithContentScanner, ContentScans).
	Populated         policy.PopulatedPolicy
	PopulatedUnknown  policy.UnknownPolicy
	CopierImage       string
	KnownCopierImages []string
}

// Handler answers the admission requests of one endpoint. Handle is pure:
// no I/O but the registry lookups of the analysis and the namespace read,
// and no side effect, so dry-run requests get exactly the real answer.
type Handler struct {
	cfg      HandlerConfig
	endpoint Endpoint
	memo     *answerMemo
}

var _ admission.Handler = (*Handler)(nil)

// NewHandler returns the handler of endpoint e.
func NewHandler(cfg HandlerConfig, e Endpoint) *Handler {
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.DefaultMode == "" {
		cfg.DefaultMode = ModeAudit
	}
	if cfg.OnRegistryError == "" {
		cfg.OnRegistryError = AllowOnRegistryError
	}
	if cfg.Populated == "" {
		cfg.Populated = policy.PopulatedSkip
	}
	if cfg.PopulatedUnknown == "" {
		cfg.PopulatedUnknown = policy.UnknownSkip
	}
	return &Handler{cfg: cfg, endpoint: e, memo: newAnswerMemo()}
}

// subresourceEphemeral is where `kubectl debug` adds ephemeral containers.
const subresourceEphemeral = "ephemeralcontainers"

// Handle judges one admission request.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	if req.Kind.Group == "" && req.Kind.Kind == "Pod" {
		// Other subresources (status, resize, binding) never bring images.
		if req.SubResource != "" && req.SubResource != subresourceEphemeral {
			return admission.Allowed("")
		}
		return h.pod(ctx, req)
	}
	// Workloads get early feedback on /validate only: /mutate changes pods,
	// never the templates their owners manage (GitOps tools would fight it).
	if h.endpoint == Mutating || req.SubResource != "" {
		return admission.Allowed("")
	}
	return h.workload(ctx, req)
}

// record is what Handle tells the HTTP layer about a request, for its log
// line and metrics, through the request's context.
type record struct {
	mode        Mode
	findings    int
	imageErrors int
	// answer is the remembered answer Handle returned, whose encoding
	// ServeHTTP reuses.
	answer *memoAnswer
}

type recordKey struct{}

func withRecord(ctx context.Context, r *record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

// recordOf returns the request's record, or a throwaway one when Handle is
// called directly.
func recordOf(ctx context.Context) *record {
	if r, ok := ctx.Value(recordKey{}).(*record); ok {
		return r
	}
	return &record{}
}

// observe counts what an analysis did, in metrics and in the request record.
func (h *Handler) observe(ctx context.Context, mode Mode, res analysis.Result) {
	rec := recordOf(ctx)
	rec.findings += len(res.Findings) + res.FindingsOmitted
	rec.imageErrors += len(res.Errors)
	h.cfg.Metrics.analysed(h.endpoint, mode, res)
}

// badObject answers an object the API server sent but that cannot be read
// as what its kind says. It does not happen with a real API server.
func badObject(err error) admission.Response {
	return admission.Errored(http.StatusBadRequest, err)
}
