// Package workload finds the pod specs inside Kubernetes objects.
//
// It understands Pods, PodTemplates, the built-in workload kinds (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob),
// Lists of any of them, and custom kinds that follow the spec.template.spec
// convention (Argo Rollouts, OpenKruise CloneSets, ...).
//
// Objects come from manifest streams (multi-document YAML, JSON, for
// `volumeguard check`) through Decode and ReadPaths, or from one JSON object
// (an AdmissionReview's request.object) through FromJSON. Reading is bounded:
// a document may not exceed a size limit as written nor, once YAML aliases are
// expanded, a multiple of it, so hostile input costs little memory and time.
//
// Objects decoded from streams carry where they are written: their document's
// byte range and Helm template, and the line and column of each pod spec,
// container and image (Object.Position, PodSpec.Containers), so that a
// finding can point at the `image:` line. ReadFiles also keeps each file's
// bytes, for callers that edit them in place.
//
// The package is silent: it returns errors, callers decide what to print.
package workload
