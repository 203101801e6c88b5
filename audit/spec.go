package audit

import (
	"encoding/json"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

// containerKey names a container within a pod spec.
type containerKey struct {
	typ  policy.ContainerType
	name string
}

// analysedSpec keeps of a pod what the analysis reads: each container's
// name, image and mount paths, the platform pins, and what the pull
// credentials depend on. Images are pinned to the digest the container
// runs, where its status reports one. Pods of one workload with equal
// analysed specs are analysed once. images maps each container to its image
// as the spec writes it, for the report.
func analysedSpec(pod *corev1.Pod) (spec *corev1.PodSpec, images map[containerKey]string) {
	in := &pod.Spec
	spec = &corev1.PodSpec{
		NodeSelector:             in.NodeSelector,
		ImagePullSecrets:         in.ImagePullSecrets,
		ServiceAccountName:       in.ServiceAccountName,
		DeprecatedServiceAccount: in.DeprecatedServiceAccount,
	}
	if in.Affinity != nil && in.Affinity.NodeAffinity != nil {
		spec.Affinity = &corev1.Affinity{NodeAffinity: in.Affinity.NodeAffinity}
	}
	images = map[containerKey]string{}
	reduce := func(typ policy.ContainerType, name, image string, mounts []corev1.VolumeMount, statuses []corev1.ContainerStatus) corev1.Container {
		images[containerKey{typ, name}] = image
		c := corev1.Container{Name: name, Image: runningImage(image, imageIDOf(statuses, name))}
		for _, m := range mounts {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{MountPath: m.MountPath})
		}
		return c
	}
	for _, c := range in.InitContainers {
		spec.InitContainers = append(spec.InitContainers, reduce(policy.InitContainer, c.Name, c.Image, c.VolumeMounts, pod.Status.InitContainerStatuses))
	}
	for _, c := range in.Containers {
		spec.Containers = append(spec.Containers, reduce(policy.Container, c.Name, c.Image, c.VolumeMounts, pod.Status.ContainerStatuses))
	}
	for _, c := range in.EphemeralContainers {
		r := reduce(policy.EphemeralContainer, c.Name, c.Image, c.VolumeMounts, pod.Status.EphemeralContainerStatuses)
		spec.EphemeralContainers = append(spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: r.Name, Image: r.Image, VolumeMounts: r.VolumeMounts,
		}})
	}
	return spec, images
}

// signature identifies an analysed spec. encoding/json sorts map keys, so
// equal specs have equal signatures.
func signature(spec *corev1.PodSpec) string {
	b, err := json.Marshal(spec)
	if err != nil {
		// A PodSpec always marshals; should it ever not, the pod is
		// analysed on its own rather than merged with another.
		return err.Error()
	}
	return string(b)
}

func imageIDOf(statuses []corev1.ContainerStatus, name string) string {
	for _, s := range statuses {
		if s.Name == name {
			return s.ImageID
		}
	}
	return ""
}

// runningImage pins image to the digest of imageID, the image the runtime
// pulled: "docker-pullable://repo@sha256:…" (Docker) or "repo@sha256:…"
// (containerd). The repository stays the spec's, so that mirrors and
// credentials apply as they do to the spec's image. An imageID without a
// repository digest (a bare image ID, "sha256:…", names the config, which
// no registry serves by that name) leaves image as it is.
func runningImage(image, imageID string) string {
	at := strings.LastIndex(imageID, "@")
	if at < 0 || image == "" {
		return image
	}
	digest := imageID[at+1:]
	if _, err := v1.NewHash(digest); err != nil {
		return image
	}
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	// A ":" after the last "/" starts a tag; before it, a registry port.
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + "@" + digest
}
