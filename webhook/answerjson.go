package webhook

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// marshalAnswer encodes the AdmissionReview carrying resp as json.Marshal
// does, byte for byte, without its reflection: with the patch encoded
// directly, encoding the review was the largest remaining encoding/json
// cost of a mutated answer (docs/benchmarks.md). A status of a shape other
// than the ones handlers build goes through encoding/json.
func marshalAnswer(resp *admissionv1.AdmissionResponse) ([]byte, error) {
	n := 256 + base64.StdEncoding.EncodedLen(len(resp.Patch))
	for _, w := range resp.Warnings {
		n += len(w) + 8
	}
	for k, v := range resp.AuditAnnotations {
		n += len(k) + len(v) + 16
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":`...)
	buf = appendJSONString(buf, string(resp.UID))
	buf = append(buf, `,"allowed":`...)
	buf = strconv.AppendBool(buf, resp.Allowed)
	if resp.Result != nil {
		buf = append(buf, `,"status":`...)
		var err error
		if buf, err = appendStatus(buf, resp.Result); err != nil {
			return nil, err
		}
	}
	if len(resp.Patch) > 0 {
		buf = append(buf, `,"patch":"`...)
		buf = base64.StdEncoding.AppendEncode(buf, resp.Patch)
		buf = append(buf, '"')
	}
	if resp.PatchType != nil {
		buf = append(buf, `,"patchType":`...)
		buf = appendJSONString(buf, string(*resp.PatchType))
	}
	if len(resp.AuditAnnotations) > 0 {
		buf = append(buf, `,"auditAnnotations":{`...)
		keys := make([]string, 0, len(resp.AuditAnnotations))
		for k := range resp.AuditAnnotations {
			keys = append(keys, k)
		}
		slices.Sort(keys) // as encoding/json orders map keys
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSONString(buf, resp.AuditAnnotations[k])
		}
		buf = append(buf, '}')
	}
	if len(resp.Warnings) > 0 {
		buf = append(buf, `,"warnings":[`...)
		for i, w := range resp.Warnings {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, w)
		}
		buf = append(buf, ']')
	}
	return append(buf, "}}"...), nil
}

// appendStatus writes s directly when it has only the fields admission
// responses set (status, message, reason, code).
func appendStatus(buf []byte, s *metav1.Status) ([]byte, error) {
	if s.TypeMeta != (metav1.TypeMeta{}) || s.ListMeta != (metav1.ListMeta{}) || s.Details != nil {
		b, err := json.Marshal(s)
		return append(buf, b...), err
	}
	buf = append(buf, `{"metadata":{}`...)
	if s.Status != "" {
		buf = append(buf, `,"status":`...)
		buf = appendJSONString(buf, s.Status)
	}
	if s.Message != "" {
		buf = append(buf, `,"message":`...)
		buf = appendJSONString(buf, s.Message)
	}
	if s.Reason != "" {
		buf = append(buf, `,"reason":`...)
		buf = appendJSONString(buf, string(s.Reason))
	}
	if s.Code != 0 {
		buf = append(buf, `,"code":`...)
		buf = strconv.AppendInt(buf, int64(s.Code), 10)
	}
	return append(buf, '}'), nil
}
