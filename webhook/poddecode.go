package webhook

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
)

// admissionPod is the part of a Pod that pod admission reads: annotations
// (mirror pods, size limit), the containers' names, images, mounts and
// devices, the volume names (mutation avoids them), the platform pins and
// the pull credentials. Decoding just these costs about 60 % of decoding the whole
// Pod, with a third of the allocations, on the API server's hot path
// (docs/benchmarks.md). The patch appends to the pod as sent, so nothing
// left out here is lost; the generic diff fallback decodes the whole pod.
type admissionPod struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		InitContainers      []admissionContainer `json:"initContainers"`
		Containers          []admissionContainer `json:"containers"`
		EphemeralContainers []admissionContainer `json:"ephemeralContainers"`
		Volumes             []struct {
			Name string `json:"name"`
			// EmptyDir is kept as present or not: policy counts the
			// emptyDirs an earlier pass added against MaxAddedVolumes.
			EmptyDir *json.RawMessage `json:"emptyDir"`
		} `json:"volumes"`
		NodeSelector             map[string]string             `json:"nodeSelector"`
		Affinity                 *corev1.Affinity              `json:"affinity"`
		ImagePullSecrets         []corev1.LocalObjectReference `json:"imagePullSecrets"`
		ServiceAccountName       string                        `json:"serviceAccountName"`
		DeprecatedServiceAccount string                        `json:"serviceAccount"`
	} `json:"spec"`
}

// admissionContainer: the volumeDevices are paths mutation must not mount
// over (the API server refuses a volumeMount at a device's path). The
// securityContext, pull policy and resources are
// what populated-volumes=copy gives the copy init container of the
// container, so that it runs with no more privilege than the app (and
// passes PodSecurity restricted when the app does). The securityContext and
// resources are kept as sent, for the answer memo's key (memokey.go), and
// decoded from there.
type admissionContainer struct {
	Name            string                `json:"name"`
	Image           string                `json:"image"`
	VolumeMounts    []corev1.VolumeMount  `json:"volumeMounts"`
	VolumeDevices   []corev1.VolumeDevice `json:"volumeDevices"`
	SecurityContext json.RawMessage       `json:"securityContext"`
	ImagePullPolicy corev1.PullPolicy     `json:"imagePullPolicy"`
	Resources       json.RawMessage       `json:"resources"`
}

// decodePod decodes the fields of admissionPod into a corev1.Pod; every
// other field is left zero.
func decodePod(raw []byte) (*corev1.Pod, error) {
	p, err := decodeAdmissionPod(raw)
	if err != nil {
		return nil, err
	}
	return p.pod()
}

func decodeAdmissionPod(raw []byte) (*admissionPod, error) {
	p := &admissionPod{}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, err
	}
	return p, nil
}

// pod is p as a corev1.Pod.
func (p *admissionPod) pod() (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	pod.Annotations = p.Metadata.Annotations
	spec := &pod.Spec
	var err error
	if spec.InitContainers, err = containers(p.Spec.InitContainers); err != nil {
		return nil, err
	}
	if spec.Containers, err = containers(p.Spec.Containers); err != nil {
		return nil, err
	}
	for _, c := range p.Spec.EphemeralContainers {
		spec.EphemeralContainers = append(spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: c.Name, Image: c.Image, VolumeMounts: c.VolumeMounts},
		})
	}
	for _, v := range p.Spec.Volumes {
		vol := corev1.Volume{Name: v.Name}
		if v.EmptyDir != nil {
			vol.EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
		spec.Volumes = append(spec.Volumes, vol)
	}
	spec.NodeSelector = p.Spec.NodeSelector
	spec.Affinity = p.Spec.Affinity
	spec.ImagePullSecrets = p.Spec.ImagePullSecrets
	spec.ServiceAccountName = p.Spec.ServiceAccountName
	spec.DeprecatedServiceAccount = p.Spec.DeprecatedServiceAccount
	return pod, nil
}

func containers(in []admissionContainer) ([]corev1.Container, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]corev1.Container, len(in))
	for i, c := range in {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, VolumeMounts: c.VolumeMounts, VolumeDevices: c.VolumeDevices, ImagePullPolicy: c.ImagePullPolicy}
		// Skipped where decoding leaves the field as it is: absent, null, and
		// the {} of a container without resources (a {} securityContext
		// is not nil).
		if s := string(c.SecurityContext); s != "" && s != "null" {
			if err := json.Unmarshal(c.SecurityContext, &out[i].SecurityContext); err != nil {
				return nil, err
			}
		}
		if s := string(c.Resources); s != "" && s != "null" && s != "{}" {
			if err := json.Unmarshal(c.Resources, &out[i].Resources); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// decodeWholePod decodes every field of the pod.
func decodeWholePod(raw []byte) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, pod); err != nil {
		return nil, err
	}
	return pod, nil
}
