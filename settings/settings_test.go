package settings

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // "" for none
	}{
		{"empty", "", ""},
		{"full", "defaultSizeLimit: 2Gi\nignore:\n- images: ['docker.io/library/postgres:*']\n  paths: [/var/lib/postgresql/data]\n", ""},
		{"a typo at the top", "ignroe: []\n", `unknown field "ignroe"`},
		{"a typo in a rule", "ignore:\n- image: [x]\n  paths: [/a]\n", `unknown field "image"`},
		{"a repeated key", "defaultSizeLimit: 1Gi\ndefaultSizeLimit: 2Gi\n", "defaultSizeLimit"},
		{"a bad size", "defaultSizeLimit: lots\n", "quantities must match"},
		{"a zero size", "defaultSizeLimit: 0\n", "defaultSizeLimit must be positive"},
		{"a rule without paths", "ignore:\n- images: [x]\n", "ignore[0]: wants images and paths"},
		{"an empty pattern", "ignore:\n- images: ['']\n  paths: [/a]\n", "ignore[0]: an empty image pattern"},
		{"an empty path", "ignore:\n- images: [x]\n  paths: ['']\n", "ignore[0]: an empty path"},
		{"not a mapping", "- a\n", "decoding settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Parse error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIgnoredPaths(t *testing.T) {
	s, err := Parse([]byte(`
ignore:
- images: ["docker.io/library/postgres:*"]
  paths: [/var/lib/postgresql/data/]
- images: ["*/sonarqube*"]
  paths: [/opt/sonarqube/logs]
- images: ["registry.local:5000/team/app"]
  paths: [/cache]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		image string
		want  []string
	}{
		{"postgres:16", []string{"/var/lib/postgresql/data"}},
		{"docker.io/library/postgres:16-alpine", []string{"/var/lib/postgresql/data"}},
		{"index.docker.io/library/postgres", []string{"/var/lib/postgresql/data"}}, // :latest
		{"mypostgres:16", nil},
		{"sonarqube:10", []string{"/opt/sonarqube/logs"}},
		{"ghcr.io/acme/sonarqube-lts@sha256:" + strings.Repeat("a", 64), []string{"/opt/sonarqube/logs"}},
		{"registry.local:5000/team/app:1", []string{"/cache"}}, // a repository pattern covers every tag
		{"registry.local:5000/team/app-other:1", nil},
		{"not a reference!", nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := s.IgnoredPaths(tt.image); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("IgnoredPaths = %v, want %v", got, tt.want)
			}
		})
	}
	var none *Settings
	if got := none.IgnoredPaths("postgres"); got != nil {
		t.Errorf("nil settings ignore %v", got)
	}
}

func TestPolicyOptions(t *testing.T) {
	s, err := Parse([]byte("ignore:\n- images: [zk*]\n  paths: [/datalog]\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: "zk:3"}, {Name: "db", Image: "db:1"}}}
	facts := func(vs ...string) policy.ImageFacts {
		return policy.ImageFacts{Platforms: []policy.PlatformVolumes{{Platform: policy.Platform{OS: "linux", Architecture: "amd64"}, Volumes: vs}}}
	}
	images := map[string]policy.ImageFacts{"zk:3": facts("/data", "/datalog", "/logs"), "db:1": facts("/data", "/logs")}
	tests := []struct {
		name        string
		annotations []map[string]string
		want        []string
	}{
		{"the file alone", nil, []string{"zk:/data", "zk:/logs", "db:/data", "db:/logs"}},
		{"and a pod annotation", []map[string]string{{policy.IgnoreAnnotation: "/logs"}}, []string{"zk:/data", "db:/data"}},
		{"and a workload's and a template's", []map[string]string{{policy.IgnoreAnnotation: "/logs"}, {policy.IgnoreAnnotation: " /data/ "}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			for _, f := range policy.Findings(spec, images, s.PolicyOptions(spec, tt.annotations...)...) {
				got = append(got, f.Container+":"+f.Path)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "deploy", "prod")
	for _, d := range []string{filepath.Join(root, ".git"), sub} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("ignore: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := Discover(sub); err != nil || got != "" {
		t.Errorf("no file: Discover = %q, %v", got, err)
	}
	write(filepath.Join(root, FileName))
	if got, _ := Discover(sub); got != filepath.Join(root, FileName) {
		t.Errorf("Discover = %q, want the repository root's", got)
	}
	write(filepath.Join(sub, FileName))
	if got, _ := Discover(sub); got != filepath.Join(sub, FileName) {
		t.Errorf("Discover = %q, want the working directory's", got)
	}
}
