// Package pullsecrets finds the registry credentials of a pod as the kubelet
// would pull its images with: the pod's imagePullSecrets, then those of its
// service account, then the webhook's own keychain (its docker config).
//
// Secrets and service accounts are read from informer caches, never with a
// GET per admission request; package imageinspect uses the keychain for one
// inspection (imageinspect.UsingKeychain) and keeps what it resolves to apart
// from other credentials.
//
// # RBAC
//
// Reading pull secrets needs, cluster-wide (a ClusterRole bound to the
// webhook's service account):
//
//	rules:
//	- apiGroups: [""]
//	  resources: ["secrets", "serviceaccounts"]
//	  verbs: ["get", "list", "watch"]
//
// Where reading secrets is not acceptable, run without it (serve
// --pull-secrets=false, Disabled): only the webhook's own credentials are
// used, and private images of pods fail to be read (ErrUnauthorized).
//
// Credentials never appear in logs, errors or metrics: secrets are named by
// namespace/name only.
package pullsecrets
