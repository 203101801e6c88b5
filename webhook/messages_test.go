package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
)

// manyVolumes is a pod whose image declares n VOLUMEs, with a long image
// reference so that warnings hit the length limit too.
func manyVolumes(env *testEnv, n int) *corev1.Pod {
	image := "registry.example/" + strings.Repeat("very-long-repository-name/", 8) + "app:1"
	var vols []string
	for i := range n {
		vols = append(vols, fmt.Sprintf("/var/lib/app/data-%02d", i))
	}
	env.inspector.volumes[image] = vols
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
}

func TestWarningLimits(t *testing.T) {
	env := newEnv(ModeAudit, nil)
	resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "default", manyVolumes(env, 15), nil))
	if len(resp.Warnings) != maxWarnings {
		t.Fatalf("%d warnings, want %d: %q", len(resp.Warnings), maxWarnings, resp.Warnings)
	}
	if last := resp.Warnings[maxWarnings-1]; !strings.Contains(last, "... and 6 more") {
		t.Errorf("last warning = %q, want it to count the 6 left out", last)
	}
	for i, w := range resp.Warnings {
		if path := fmt.Sprintf("/var/lib/app/data-%02d", i); i < maxWarnings-1 && !strings.Contains(w, path) {
			t.Errorf("warning %d does not name %s: %q", i, path, w)
		}
		if n := utf8.RuneCountInString(w); n > maxWarningRunes {
			t.Errorf("warning of %d runes: %q", n, w)
		}
		if strings.ContainsAny(w, "\n\r\t") {
			t.Errorf("warning is not one line: %q", w)
		}
	}
	if !strings.HasSuffix(resp.Warnings[0], "…") {
		t.Errorf("an over-long warning is cut without a mark: %q", resp.Warnings[0])
	}
}

func TestAuditAnnotationsBounded(t *testing.T) {
	env := newEnv(ModeAudit, nil)
	resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "default", manyVolumes(env, 60), nil))
	findings := resp.AuditAnnotations[AuditFindings]
	if len(findings) > maxAuditValue {
		t.Errorf("findings annotation is %d bytes, over %d", len(findings), maxAuditValue)
	}
	var entries []auditFinding
	if err := json.Unmarshal([]byte(findings), &entries); err != nil {
		t.Fatalf("findings annotation is not a JSON array: %v\n%s", err, findings)
	}
	omitted := resp.AuditAnnotations[AuditFindingsOmitted]
	if omitted != fmt.Sprint(60-len(entries)) {
		t.Errorf("%d entries and %s omitted, want 60 in all", len(entries), omitted)
	}
}

func TestDenialBounded(t *testing.T) {
	env := newEnv(ModeEnforce, nil)
	resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "default", manyVolumes(env, 15), nil))
	msg := resultMessage(resp)
	if resp.Allowed || !strings.Contains(msg, "... and 5 more") {
		t.Errorf("denial of 15 findings should detail %d and count the rest:\n%s", maxDeniedDetails, msg)
	}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		query   string
		want    time.Duration
		invalid bool
	}{
		{query: "", want: 8 * time.Second},
		{query: "?timeout=10s", want: 8 * time.Second},
		{query: "?timeout=5s", want: 4500 * time.Millisecond},
		{query: "?timeout=1s", want: 900 * time.Millisecond},
		{query: "?timeout=soon", want: 8 * time.Second, invalid: true},
		{query: "?timeout=-1s", want: 8 * time.Second, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "https://volumeguard/validate"+tt.query, nil)
			got, err := budget(r, 8*time.Second)
			if got != tt.want || (err != nil) != tt.invalid {
				t.Errorf("budget = %s, %v; want %s, error %v", got, err, tt.want, tt.invalid)
			}
		})
	}
}

// TestMessagesQuoteImagePaths: a VOLUME path holding a newline or an ESC
// sequence is printed quoted in warnings and denials, never raw, and a path
// that cleans to / is never mounted.
func TestMessagesQuoteImagePaths(t *testing.T) {
	const hostile = "/data\n\x1b[32mvolumeguard: ok"
	pod := func(env *testEnv) *corev1.Pod {
		env.inspector.volumes["hostile:1"] = []string{hostile, "/.."}
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "hostile:1"}}}}
	}
	quoted := `"/data\n\x1b[32mvolumeguard: ok"`
	for _, mode := range []Mode{ModeAudit, ModeMutate, ModeEnforce} {
		t.Run(string(mode), func(t *testing.T) {
			env := newEnv(mode, nil)
			endpoint := Validating
			if mode == ModeMutate {
				endpoint = Mutating
			}
			resp := env.handle(t, endpoint, request(t, admissionv1.Create, podKind, "default", pod(env), nil))
			texts := append([]string{resultMessage(resp)}, resp.Warnings...)
			all := strings.Join(texts, "\n")
			if !strings.Contains(all, quoted) {
				t.Errorf("no message names the path quoted as %s:\n%s", quoted, all)
			}
			if strings.Contains(all, "\x1b") || strings.Contains(all, "\nvolumeguard: ok") {
				t.Errorf("a message prints the path raw:\n%q", all)
			}
			if !strings.Contains(all, "a mount at / would hide") {
				t.Errorf("no message says why VOLUME /.. is not covered:\n%s", all)
			}
			if patch := string(mustJSON(t, resp.Patches)); strings.Contains(patch, `"mountPath":"/"`) {
				t.Errorf("mutation mounts at /: %s", patch)
			}
		})
	}
}
