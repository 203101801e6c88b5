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
// The package is silent: it returns errors, callers decide what to print.
package workload
