package policy

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

func TestQuotePath(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		{"/data", "/data"},
		{"/var/lib/mysql/", "/var/lib/mysql/"},
		{"data", "data"},
		{"/données/日本", "/données/日本"},
		{"/a:b#c,d[e]{f}", "/a:b#c,d[e]{f}"},
		{"", `""`},
		{"/data\nvolumeguard: all clear", `"/data\nvolumeguard: all clear"`},
		{"/x\x1b[2K\r", `"/x\x1b[2K\r"`},
		{"/tab\there", `"/tab\there"`},
		{" /lead", `" /lead"`},
		{"/trail ", `"/trail "`},
		{"/my data", `"/my data"`},
		{`"/quoted"`, `"\"/quoted\""`},
		{"-rf", `"-rf"`},
		{"/key:", `"/key:"`},
		{"/rtl\u202egpj.exe", `"/rtl\u202egpj.exe"`},
		{"/line\u2028sep", `"/line\u2028sep"`},
		{"/nbsp\u00a0x", `"/nbsp\u00a0x"`},
		{"/bad\xff", `"/bad\xff"`},
		{"/nul\x00", `"/nul\x00"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := QuotePath(tt.path)
			if got != tt.want {
				t.Errorf("QuotePath(%q) = %s, want %s", tt.path, got, tt.want)
			}
			assertQuoteRoundTrip(t, tt.path, got)
		})
	}
}

// assertQuoteRoundTrip checks what makes QuotePath safe to print: one line
// of printable UTF-8, and either the path itself or its Go quoting.
func assertQuoteRoundTrip(t *testing.T, p, q string) {
	t.Helper()
	if !utf8.ValidString(q) {
		t.Errorf("QuotePath(%q) = %q is not valid UTF-8", p, q)
	}
	if i := strings.IndexFunc(q, func(r rune) bool { return !strconv.IsPrint(r) }); i >= 0 {
		t.Errorf("QuotePath(%q) = %q holds an unprintable character at %d", p, q, i)
	}
	if q == p {
		if strings.HasPrefix(q, `"`) {
			t.Errorf("QuotePath(%q) is bare but reads as quoted", p)
		}
		return
	}
	if u, err := strconv.Unquote(q); err != nil || u != p {
		t.Errorf("QuotePath(%q) = %s unquotes to %q, %v", p, q, u, err)
	}
}

// TestFixYAMLParsesBackExactly feeds hostile paths and container names to
// FixYAML and parses the fix as a pod spec: every path and name must come
// back exactly, and match what Mutate adds.
func TestFixYAMLParsesBackExactly(t *testing.T) {
	tests := []struct {
		container, path string
	}{
		{"zk", "/data"},
		{"zk", "/data\nvolumes: []"},
		{"zk", "/a: b"},
		{"zk", "/a #comment"},
		{"zk", "/x\x1b[2J"},
		{"zk", "/ lead"},
		{"zk", "/trail "},
		{"zk", `/"q"`},
		{"zk", "/'q'"},
		{"zk", "/\u2028\u0085\ufeff"},
		{"zk", "/日本/😀"},
		{"zk", `/a\b`},
		{"zk", "/{x: [y]}"},
		{"zk", "/key:"},
		{"zk", "/&anchor *alias !tag"},
		{"no", "/data"},
		{"123", "/data"},
		{"true", "/data"},
		{"2001-12-14", "/data"},
		{"- x", "/data"},
		{"a: b", "/data"},
		{"~", "/data"},
		{"", "/data"},
	}
	limit := resource.MustParse("1Gi")
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.container+" "+tt.path), func(t *testing.T) {
			assertFixYAMLRoundTrip(t, tt.container, tt.path, limit)
		})
	}
}

// assertFixYAMLRoundTrip parses the fix for one finding back as a pod spec
// and compares it with what Mutate does to a pod running that container.
func assertFixYAMLRoundTrip(t *testing.T, container, p string, limit resource.Quantity) {
	t.Helper()
	images := map[string]ImageFacts{"img": single("sha256:a", p)}
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: container, Image: "img"}}}
	findings := Findings(spec, images)
	m := Mutate(spec, findings, limit)
	fix := FixYAML(findings, limit)
	if len(findings) != 1 || !findings[0].Fixable() {
		if len(m.Added) != 0 || fix != "" {
			t.Errorf("unfixable path %q: Mutate added %v, fix %q", p, m.Added, fix)
		}
		return
	}
	var got corev1.PodSpec
	if err := yaml.UnmarshalStrict([]byte(fix), &got); err != nil {
		t.Fatalf("the fix for %q does not parse: %v\n%s", p, err, fix)
	}
	if len(got.Containers) != 1 || len(got.Containers[0].VolumeMounts) != 1 || len(got.Volumes) != 1 {
		t.Fatalf("the fix for %q is not one volume and one mount:\n%s", p, fix)
	}
	mount := got.Containers[0].VolumeMounts[0]
	if got.Containers[0].Name != container || mount.MountPath != m.Added[0].MountPath || mount.Name != m.Added[0].VolumeName || got.Volumes[0].Name != mount.Name {
		t.Errorf("the fix for %q parses to container %q, mount %+v, volume %q; Mutate added %+v to container %q",
			p, got.Containers[0].Name, mount, got.Volumes[0].Name, m.Added[0], container)
	}
	if strings.ContainsFunc(fix, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		t.Errorf("the fix for %q holds a control character:\n%q", p, fix)
	}
}

// TestOrdinaryFixIsUnchanged pins the text of an ordinary fix byte for
// byte: docs, tests and users' scripts rely on it.
func TestOrdinaryFixIsUnchanged(t *testing.T) {
	f := Finding{Container: "zk", ContainerType: Container, Image: "zookeeper:3.4.13", Path: "/data"}
	want := `add an emptyDir with a sizeLimit mounted at /data to the pod spec:
  volumes:
  - name: vg-zk-data-1b0f6d50
    emptyDir:
      sizeLimit: 1Gi
  containers:
  - name: zk
    volumeMounts:
    - name: vg-zk-data-1b0f6d50
      mountPath: /data
`
	if got := f.Fix(resource.MustParse("1Gi")); got != want {
		t.Errorf("Fix() =\n%s\nwant\n%s", got, want)
	}
	wantProblem := `container "zk" (image "zookeeper:3.4.13") declares VOLUME /data and no volumeMount of this container covers it: the runtime creates an anonymous volume there that escapes ephemeral-storage limits`
	if got := f.Problem(); got != wantProblem {
		t.Errorf("Problem() = %q, want %q", got, wantProblem)
	}
}

func TestMessagesQuoteHostilePaths(t *testing.T) {
	limit := resource.MustParse("1Gi")
	for _, f := range []Finding{
		{Container: "zk", ContainerType: Container, Image: "img", Path: "/data\n\x1b[32mvolumeguard: no findings"},
		{Container: "zk", ContainerType: EphemeralContainer, Image: "img", Path: "/data\r\nok"},
		{Container: "zk", ContainerType: Container, Image: "img", Path: "rel\nok", Relative: true},
		{Container: "zk", ContainerType: Container, Image: "img", Path: "/..\x1b"},
		{Container: "zk", ContainerType: Container, Image: "img", Path: "/\x00\n", Platforms: []Platform{{OS: "linux", Architecture: "amd64\x1b[0m"}}},
	} {
		t.Run(strconv.Quote(f.Path), func(t *testing.T) {
			if p := f.Problem(); strings.ContainsFunc(p, unicode.IsControl) {
				t.Errorf("Problem() holds a control character: %q", p)
			}
			// Fix spans lines (the YAML), but none may be forged.
			for _, line := range strings.Split(f.Fix(limit), "\n") {
				if strings.ContainsFunc(line, unicode.IsControl) {
					t.Errorf("Fix() line holds a control character: %q", line)
				}
			}
		})
	}
}
