package runtime

import (
	"testing"

	"github.com/volumeguard/volumeguard/internal/crirun"
)

// TestContainerdImageVolumes runs the cases against containerd with the
// overlayfs snapshotter, what nodes run, and the content cases also with
// native, which applies whiteouts itself instead of leaving them to the
// overlay mount: both ways of reading the image's layers are proven. Which
// mounts cover a volume does not depend on the snapshotter.
func TestContainerdImageVolumes(t *testing.T) {
	app := crirun.BuildApp(t)
	for _, snapshotter := range []string{"overlayfs", "native"} {
		t.Run(snapshotter, func(t *testing.T) {
			rt := crirun.Start(t, crirun.WithSnapshotter(snapshotter), crirun.WithApp(app))
			pod := rt.RunPod(t, "volumes")
			if snapshotter == "overlayfs" {
				t.Run("coverage", func(t *testing.T) { testCoverage(t, rt, pod) })
				t.Run("copy-up", func(t *testing.T) { testCopyUp(t, rt) })
			}
			t.Run("content", func(t *testing.T) { testContent(t, rt, pod) })
			t.Run("file at a volume path", func(t *testing.T) { testFileAtVolumePath(t, rt, pod) })
		})
	}
}
