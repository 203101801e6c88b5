package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/policy"
)

// What one answer may carry. Warnings (messages.go) and audit annotations
// (audit.go) are bounded where they are made; these bound the rest, so
// that a hostile pod (many containers of an image declaring hundreds of
// VOLUMEs, or absurdly long paths) costs neither megabytes of answer nor
// the API server's patience.
const (
	// maxPatchBytes bounds the JSON patch of one pod: thousands of emptyDirs,
	// far past any real pod, while the patched pod still fits etcd's
	// 1.5 MiB. A mutation that needs more is denied, saying why.
	maxPatchBytes = 512 << 10
	// maxDenialBytes bounds a denial message: its ten details and the fix
	// fit many times over unless paths or references are absurdly long.
	maxDenialBytes = 32 << 10
	// maxAnswerBytes bounds the encoded AdmissionReview: the patch (base64,
	// 4/3 of maxPatchBytes), the denial, the warnings and the audit
	// annotations fit with room to spare, so passing it is a bug here.
	maxAnswerBytes = 1 << 20
	// maxFindingsPerPod bounds the findings built for one pod spec; the
	// rest are only counted (analysis.MaxFindings). Eight times what
	// mutation can cover (policy.MaxAddedVolumes), far more than a
	// message shows: the decision is the same, and a pod of thousands of
	// containers of an image at the VOLUME cap, a few hundred KB, costs
	// kilobytes instead of a gigabyte and its deadline.
	maxFindingsPerPod = 1024
)

// patchBytes is the size of resp's JSON patch as it will be sent.
func patchBytes(resp admission.Response) int {
	if len(resp.Patch) > 0 || len(resp.Patches) == 0 {
		return len(resp.Patch)
	}
	b, err := json.Marshal(resp.Patches)
	if err != nil {
		return maxPatchBytes + 1 // cannot be sent either
	}
	return len(b)
}

// refusePatch turns mutation m, whose patch would be size bytes, into a
// denial: in mode mutate a pod is admitted with its VOLUMEs covered, and
// these cannot be within one answer. Its "added" warnings go, as nothing
// is added.
func (o *outcome) refusePatch(m policy.Mutation, limit resource.Quantity, size int) {
	added := make(map[string]bool, len(m.Added))
	for _, a := range m.Added {
		added[o.addedWarning(a, limit)] = true
		o.deny = append(o.deny, denial{finding: a.Finding, sizeLimit: limit})
	}
	o.warnings = slices.DeleteFunc(o.warnings, func(w string) bool { return added[w] })
	o.reason = fmt.Sprintf("covering its %d uncovered VOLUME paths would take a patch of %d bytes, over volumeguard's limit of %d; "+
		"cover them in the pod spec, or use images that declare fewer VOLUMEs", len(m.Added), size, maxPatchBytes)
}

// capText cuts s to at most limit bytes, on a rune boundary, saying so.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	suffix := fmt.Sprintf("\n... (cut at %d bytes; run `volumeguard check` on the manifest for the full text)", limit)
	if len(suffix) > limit {
		suffix = ""
	}
	cut := limit - len(suffix)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}

// encodeAnswer encodes resp, as admission.Webhook completed it, as the
// AdmissionReview answering req. An answer over maxAnswerBytes, which the
// bounds above should make impossible, is replaced by an internal error:
// HTTP 500, so that the webhook's failurePolicy decides, rather than
// megabytes sent to the API server.
func encodeAnswer(req admission.Request, resp admission.Response) (admission.Response, []byte) {
	body, err := marshalAnswer(&resp.AdmissionResponse)
	if err == nil && len(body) <= maxAnswerBytes {
		return resp, body
	}
	if err == nil {
		err = fmt.Errorf("the answer would be %d bytes, over the limit of %d", len(body), maxAnswerBytes)
	}
	resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the answer: %w", err))
	resp.UID = req.UID
	body, _ = json.Marshal(&admissionv1.AdmissionReview{TypeMeta: reviewType, Response: &resp.AdmissionResponse}) // a short status: cannot fail
	return resp, body
}
