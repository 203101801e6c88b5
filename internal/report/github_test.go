package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestGitHubWriter(t *testing.T) {
	var out, summary bytes.Buffer
	writeCI(t, NewGitHubWriter[ciRow, ciProblem](&out, WithRoot("/repo"), WithStepSummary(&summary)))
	golden(t, "report.github", out.Bytes())
	golden(t, "summary.github.md", summary.Bytes())

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("want 7 annotations and a count, one line each:\n%s", out.String())
	}
	for _, want := range []string{
		"::error file=deploy/zk.yaml,line=14,col=16,title=VG001 uncovered-image-volume::Deployment default/zk: container \"zk\"",
		"::error file=rendered out%2Cv1.yaml,line=30,col=18,title=VG002 near-miss-mount::StatefulSet db/pg (from pg/templates/sts.yaml): ",
		// stdin: no file; the image's path cannot end the message or forge a command.
		"::error title=VG001 uncovered-image-volume::Pod web: container \"web\" (image \"web:1\") declares VOLUME \"/cache%251,a:b\\r\\nX\"",
		"::error file=/elsewhere/job.yaml,line=12,col=16,title=VG001",
		"::error file=deploy/ghost.yaml,line=7,col=12,title=VG003 image-unreadable::Pod ghost: container \"ghost\": reading manifest: not found",
		"::error file=deploy/bad.yaml,title=VG005 manifest-unreadable::/repo/deploy/bad.yaml (document 2)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("annotations lack %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(lines[0], "%0AFix: add an emptyDir") {
		t.Errorf("the annotation does not carry the fix on an escaped line: %s", lines[0])
	}
	if lines[7] != "5 findings in 4 objects, 2 errors" {
		t.Errorf("last line %q, want the counts", lines[7])
	}
	for _, want := range []string{
		"5 findings in 4 objects, 2 errors.",
		"| `deploy/zk.yaml:14:16` | Deployment default/zk | zk | `zookeeper:3.4.13` | `/data` | VG001 |",
		"| `rendered out,v1.yaml:30:18` | StatefulSet db/pg (from pg/templates/sts.yaml) |",
		"|  | Pod web | web | `web:1` | `\"/cache%1,a:b\\r\\nX\"` | VG001 |",
		"- `deploy/ghost.yaml:7:12`: Pod ghost: container \"ghost\": reading manifest: not found",
	} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}
}

func TestGitHubEscaping(t *testing.T) {
	tests := []struct {
		in, data, property string
	}{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"k=v,x:y", "k=v,x:y", "k=v%2Cx%3Ay"},
		{"%0A", "%250A", "%250A"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := escapeData(tt.in); got != tt.data {
				t.Errorf("escapeData(%q) = %q, want %q", tt.in, got, tt.data)
			}
			if got := escapeProperty(tt.in); got != tt.property {
				t.Errorf("escapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
			}
		})
	}
}

func TestMarkdownCell(t *testing.T) {
	tests := []struct{ in, text, code string }{
		{"zk:1", "zk:1", "`zk:1`"},
		{"a|b", `a\|b`, "`a\\|b`"},
		{"x`y", "x\\`y", "x\\`y"},
		{"<script>\n", `\<script\> `, `\<script\> `},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := markdownText(tt.in); got != tt.text {
				t.Errorf("markdownText(%q) = %q, want %q", tt.in, got, tt.text)
			}
			if got := markdownCode(tt.in); got != tt.code {
				t.Errorf("markdownCode(%q) = %q, want %q", tt.in, got, tt.code)
			}
		})
	}
}
