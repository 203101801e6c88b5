package check

import (
	"io"

	"github.com/volumeguard/volumeguard/internal/report"
)

// Writer writes check's report as Run makes it: report.Writer over check's
// rows.
type Writer = report.Writer[Finding, Problem]

// NewJSONWriter writes the report to w as JSON.
func NewJSONWriter(w io.Writer) Writer {
	return report.NewJSONWriter[Finding, Problem](w)
}
