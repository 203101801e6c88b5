package policy

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestIgnoreOptions(t *testing.T) {
	images := map[string]ImageFacts{
		"zk":  single("sha256:z", "/data", "/datalog", "/logs/"),
		"app": single("sha256:a", "/data", "/var/lib/mysql", "cache"),
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{
		container("zk", "zk"),
		container("app", "app", "/data"),
	}}
	tests := []struct {
		name        string
		opts        []Option
		wantKept    []string
		wantIgnored []string
	}{
		{"no option", nil,
			[]string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs/", "container/app:/var/lib/mysql", "container/app:cache(relative)"}, nil},
		{"paths for every container, compared cleaned",
			[]Option{WithIgnoredPaths("/logs", "/data/", " /var/lib/mysql ")},
			[]string{"container/zk:/datalog", "container/app:cache(relative)"},
			[]string{"container/zk:/data", "container/zk:/logs/", "container/app:/var/lib/mysql"}},
		{"a parent path ignores nothing below it",
			[]Option{WithIgnoredPaths("/var/lib", "/")},
			[]string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs/", "container/app:/var/lib/mysql", "container/app:cache(relative)"}, nil},
		{"paths of one image",
			[]Option{WithIgnoredImagePaths("zk", "/datalog"), WithIgnoredImagePaths("app", "/datalog", "cache")},
			[]string{"container/zk:/data", "container/zk:/logs/", "container/app:/var/lib/mysql"},
			[]string{"container/zk:/datalog", "container/app:cache(relative)"}},
		{"a covered path is no finding, ignored or not",
			[]Option{WithIgnoredImagePaths("app", "/data")},
			[]string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs/", "container/app:/var/lib/mysql", "container/app:cache(relative)"}, nil},
		{"blank paths ignore nothing", []Option{WithIgnoredPaths("", " "), WithIgnoredImagePaths("zk", "")},
			[]string{"container/zk:/data", "container/zk:/datalog", "container/zk:/logs/", "container/app:/var/lib/mysql", "container/app:cache(relative)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(Findings(spec, images, tt.opts...)); !reflect.DeepEqual(got, tt.wantKept) {
				t.Errorf("Findings = %v, want %v", got, tt.wantKept)
			}
			got := IgnoredFindings(spec, images, tt.opts...)
			if len(got) != len(tt.wantIgnored) || (len(got) > 0 && !reflect.DeepEqual(keys(got), tt.wantIgnored)) {
				t.Errorf("IgnoredFindings = %v, want %v", keys(got), tt.wantIgnored)
			}
		})
	}
}

func TestParseIgnoreAnnotation(t *testing.T) {
	tests := map[string][]string{
		"":                   nil,
		"/logs":              {"/logs"},
		" /logs , /cache ,,": {"/logs", "/cache"},
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := ParseIgnoreAnnotation(in); !reflect.DeepEqual(got, want) {
				t.Errorf("ParseIgnoreAnnotation(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
