package webhook

import (
	"encoding/json"
	"strconv"

	"github.com/volumeguard/volumeguard/policy"
)

// Audit annotation keys. The API server stores each as
// "<webhook name>/<key>" and drops keys that contain a "/" themselves, so
// these are plain names: "pods.volumeguard.io/findings" in the audit log
// for a webhook named pods.volumeguard.io.
const (
	AuditMode            = "mode"
	AuditFindings        = "findings"
	AuditFindingsOmitted = "findings-omitted"
	AuditImageErrors     = "image-errors"
	AuditErrorsOmitted   = "image-errors-omitted"
)

// maxAuditValue bounds each annotation value: audit events are written for
// every request, and a pod with dozens of findings must not bloat them.
const maxAuditValue = 2048

type auditFinding struct {
	Container     string               `json:"container"`
	ContainerType policy.ContainerType `json:"containerType"`
	Image         string               `json:"image"`
	Path          string               `json:"path"`
}

type auditImageError struct {
	Container string `json:"container"`
	Image     string `json:"image"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
}

// auditAnnotations records the findings and unreadable images of a request
// as JSON arrays, bounded in size, with the count of entries left out.
// Findings are written directly, in auditFinding's encoding/json form: they
// are on every mutated answer, where json.Marshal per finding showed in the
// profile (docs/benchmarks.md).
func (o *outcome) auditAnnotations() map[string]string {
	if len(o.findings) == 0 && len(o.errors) == 0 && len(o.ignored) == 0 {
		return nil
	}
	a := map[string]string{AuditMode: string(o.mode)}
	if len(o.findings) > 0 {
		setBounded(a, AuditFindings, AuditFindingsOmitted, len(o.findings), func(buf []byte, i int) []byte {
			return appendAuditFinding(buf, &o.findings[i])
		})
	}
	if len(o.errors) > 0 {
		setBounded(a, AuditImageErrors, AuditErrorsOmitted, len(o.errors), func(buf []byte, i int) []byte {
			e := o.errors[i]
			b, _ := json.Marshal(auditImageError{e.Container, e.Image, errorReason(e.Err), oneLine(e.Err.Error(), 256)}) // strings always encode
			return append(buf, b...)
		})
	}
	o.ignoredAudit(a)
	return a
}

// appendAuditFinding appends f to buf as auditFinding encodes it.
func appendAuditFinding(buf []byte, f *policy.Finding) []byte {
	buf = append(buf, `{"container":`...)
	buf = appendJSONString(buf, f.Container)
	buf = append(buf, `,"containerType":`...)
	buf = appendJSONString(buf, string(f.ContainerType))
	buf = append(buf, `,"image":`...)
	buf = appendJSONString(buf, f.Image)
	buf = append(buf, `,"path":`...)
	buf = appendJSONString(buf, f.Path)
	return append(buf, '}')
}

// setBounded stores the JSON array of as many of the n items (appended by
// item) as fit in maxAuditValue under key, and the number left out under
// omittedKey.
func setBounded(a map[string]string, key, omittedKey string, n int, item func(buf []byte, i int) []byte) {
	buf := make([]byte, 1, 256)
	buf[0] = '['
	kept := 0
	for i := range n {
		mark, comma := len(buf), 0
		if kept > 0 {
			buf, comma = append(buf, ','), 1
		}
		buf = item(buf, i)
		// Room for a comma and the closing bracket, as always counted.
		if len(buf)-comma+2 > maxAuditValue {
			buf = buf[:mark]
			break
		}
		kept++
	}
	a[key] = string(append(buf, ']'))
	if omitted := n - kept; omitted > 0 {
		a[omittedKey] = strconv.Itoa(omitted)
	}
}
