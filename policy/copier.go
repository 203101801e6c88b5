package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// PopulatedCopy's design (docs/runtime-semantics.md): an install init
// container runs volumeguard's own image and copies its static binary into a
// small shared emptyDir (the tools volume); then, for each container with
// populated paths, a copy init container runs that container's own image,
// with its securityContext, and `copy-up`s each path into the new emptyDir,
// mounted at a staging path. The copy container's image declares the same
// VOLUMEs, so the runtime gives it anonymous volumes holding the image's
// content there: exactly the source to copy.
const (
	// CopierBinary is where volumeguard's image holds its binary (the
	// Dockerfile's COPY).
	CopierBinary = "/volumeguard"
	// CopierToolsDir is where the install container puts the copier and the
	// copy containers run it from.
	CopierToolsDir = "/volumeguard-tools"
	// CopierStagingDir holds the copy container's mount of each new
	// emptyDir: CopierStagingDir/0, /1, ... in the order of its pairs.
	CopierStagingDir = "/volumeguard-copy"

	installPrefix   = "vg-copier"
	copyPrefix      = "vg-copy-"
	toolsVolumeName = "vg-copier-tools"
)

// installedCopier is the copier in the tools volume: `copy-up --install DIR`
// writes DIR/volumeguard.
const installedCopier = CopierToolsDir + "/volumeguard"

// toolsSizeLimit bounds the tools volume: it holds one static binary (about
// 35 MiB stripped, 48 MiB not), and a sizeLimit keeps even it accounted.
const toolsSizeLimit = 128 << 20

func installCommand() []string {
	return []string{CopierBinary, "copy-up", "--install", CopierToolsDir}
}

// stagingPath is where the k-th pair's emptyDir is mounted in a copy
// container.
func stagingPath(k int) string {
	return CopierStagingDir + "/" + strconv.Itoa(k)
}

// copierOwns reports whether a VOLUME path lies where a copy container
// mounts the copier's own volumes: a mount there would hide the source.
func copierOwns(mountPath string) bool {
	for _, dir := range []string{CopierToolsDir, CopierStagingDir} {
		if mountPath == dir || strings.HasPrefix(mountPath, dir+"/") {
			return true
		}
	}
	return false
}

// copySource is what a copy container takes from its app container: it
// must run with the same privileges (no more, so that it stays valid under
// the namespace's PodSecurity level; no less, so that it may set the owners
// the app could), and be admitted by the same quotas and limit ranges.
type copySource struct {
	securityContext *corev1.SecurityContext
	resources       corev1.ResourceRequirements
	pullPolicy      corev1.PullPolicy
}

// sourceOf copies what a copy container takes from c, or nil when c sets
// none of it.
func sourceOf(c *corev1.Container) *copySource {
	s := &copySource{securityContext: c.SecurityContext.DeepCopy(), pullPolicy: c.ImagePullPolicy}
	c.Resources.DeepCopyInto(&s.resources)
	// A claim names a device the app container uses; the copy needs none.
	s.resources.Claims = nil
	if s.securityContext == nil && s.pullPolicy == "" && len(s.resources.Limits) == 0 && len(s.resources.Requests) == 0 {
		return nil
	}
	return s
}

// copyPair is one path to copy: the VOLUME path, and the emptyDir that
// the app container mounts there.
type copyPair struct {
	src, volume string
}

// copyPlan is what one app container needs copied.
type copyPlan struct {
	key   containerKey
	image string
	from  *copySource
	pairs []copyPair
}

// copyContainerName is the deterministic name of the copy container for an
// app container: readable, then a hash of its type and name.
func copyContainerName(k containerKey) string {
	sum := sha256.Sum256([]byte(string(k.t) + "\x00" + k.name))
	hash := hex.EncodeToString(sum[:])[:8]
	readable := copyPrefix + slug(k.name)
	if max := maxVolumeName - len(hash) - 1; len(readable) > max {
		readable = readable[:max]
	}
	return strings.TrimRight(readable, "-") + "-" + hash
}

// restrictedContext is the install container's securityContext: what
// PodSecurity restricted demands, and no more is needed to copy a file.
func restrictedContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		RunAsNonRoot:             new(true),
		ReadOnlyRootFilesystem:   new(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func toolsVolume(name string) corev1.Volume {
	limit := resource.NewQuantity(toolsSizeLimit, resource.BinarySI)
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: limit}}}
}

// installContainer copies the copier from image into the tools volume. It
// takes the first copy's resources, so that quotas demanding limits admit
// it as they admit the app.
func installContainer(name, image, tools string, from *copySource) corev1.Container {
	c := corev1.Container{
		Name:            name,
		Image:           image,
		Command:         installCommand(),
		VolumeMounts:    []corev1.VolumeMount{{Name: tools, MountPath: CopierToolsDir}},
		SecurityContext: restrictedContext(),
	}
	if from != nil {
		from.resources.DeepCopyInto(&c.Resources)
	}
	return c
}

// copyContainer copies each pair's VOLUME path into its emptyDir, mounted
// at a staging path, running the copier from the tools volume (read-only)
// in the app's image with the app's securityContext.
func copyContainer(name string, p copyPlan, tools string) corev1.Container {
	c := corev1.Container{
		Name:         name,
		Image:        p.image,
		Command:      []string{installedCopier, "copy-up"},
		VolumeMounts: []corev1.VolumeMount{{Name: tools, MountPath: CopierToolsDir, ReadOnly: true}},
	}
	for k, pair := range p.pairs {
		c.Command = append(c.Command, pair.src, stagingPath(k))
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: pair.volume, MountPath: stagingPath(k)})
	}
	if p.from != nil {
		c.SecurityContext = p.from.securityContext.DeepCopy()
		p.from.resources.DeepCopyInto(&c.Resources)
		c.ImagePullPolicy = p.from.pullPolicy
	}
	return c
}

// cleanAbsolute reports whether p is an absolute path in its clean form.
func cleanAbsolute(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p
}
