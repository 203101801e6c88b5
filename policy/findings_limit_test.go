package policy

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestFindingsUpToBuildsAtMostLimitAndCountsTheRest(t *testing.T) {
	images := map[string]ImageFacts{
		"zk":   single("sha256:zk", "/data", "/datalog", "/logs"),
		"many": single("sha256:many", "/a", "/b", "/c", "/d"),
	}
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{container("init", "zk", "/logs")},
		Containers:     []corev1.Container{container("zk", "zk"), container("m1", "many", "/b"), container("m2", "many"), container("gone", "unread")},
	}
	all := Findings(spec, images) // 2 + 3 + 3 + 4
	if len(all) != 12 {
		t.Fatalf("Findings: %d, want 12: %q", len(all), keys(all))
	}
	for _, limit := range []int{-1, 0, 1, 2, 5, 11, 12, 13, 1000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			got, omitted := FindingsUpTo(spec, images, limit)
			want := all
			if limit >= 0 && limit < len(all) {
				want = all[:limit]
			}
			if !reflect.DeepEqual(keys(got), keys(want)) {
				t.Errorf("findings %q, want the first %d of Findings: %q", keys(got), len(want), keys(want))
			}
			if len(got)+omitted != len(all) {
				t.Errorf("%d built + %d omitted, want %d in all", len(got), omitted, len(all))
			}
		})
	}
}

// Findings of containers sharing an image on some platforms only name
// those platforms for each container, though they are computed once.
func TestFindingsOfContainersSharingAnImage(t *testing.T) {
	images := map[string]ImageFacts{"multi": {Digest: "sha256:m", Platforms: []PlatformVolumes{
		{Platform: amd64, Volumes: []string{"/data", "/amd"}},
		{Platform: arm64, Volumes: []string{"/data"}},
	}}}
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("a", "multi"), container("b", "multi", "/amd")}}
	want := []string{"container/a:/amd[linux/amd64]", "container/a:/data", "container/b:/data"}
	if got := keys(Findings(spec, images)); !reflect.DeepEqual(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}
