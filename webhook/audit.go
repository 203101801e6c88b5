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
func (o *outcome) auditAnnotations() map[string]string {
	if len(o.findings) == 0 && len(o.errors) == 0 {
		return nil
	}
	a := map[string]string{AuditMode: string(o.mode)}
	if len(o.findings) > 0 {
		items := make([]any, len(o.findings))
		for i, f := range o.findings {
			items[i] = auditFinding{f.Container, f.ContainerType, f.Image, f.Path}
		}
		setBounded(a, AuditFindings, AuditFindingsOmitted, items)
	}
	if len(o.errors) > 0 {
		items := make([]any, len(o.errors))
		for i, e := range o.errors {
			items[i] = auditImageError{e.Container, e.Image, errorReason(e.Err), oneLine(e.Err.Error(), 256)}
		}
		setBounded(a, AuditImageErrors, AuditErrorsOmitted, items)
	}
	return a
}

// setBounded stores the JSON array of as many items as fit in
// maxAuditValue under key, and the number left out under omittedKey.
func setBounded(a map[string]string, key, omittedKey string, items []any) {
	buf := []byte{'['}
	n := 0
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil || len(buf)+len(b)+2 > maxAuditValue {
			break
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		n++
	}
	a[key] = string(append(buf, ']'))
	if omitted := len(items) - n; omitted > 0 {
		a[omittedKey] = strconv.Itoa(omitted)
	}
}
