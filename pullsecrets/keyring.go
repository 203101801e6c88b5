package pullsecrets

import (
	"encoding/json"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

// keyring holds the credentials of a pod's pull secrets by registry
// location, and finds those matching an image as the kubelet's keyring
// (k8s.io/kubernetes/pkg/credentialprovider) does: every match, the most
// specific locations first, and for one location the secrets in the pod's
// order.
type keyring struct {
	index []string // locations, reverse-sorted: "quay.io/team" before "quay.io"
	creds map[string][]authn.AuthConfig
}

func (k *keyring) add(auths map[string]authn.AuthConfig) {
	if k.creds == nil {
		k.creds = map[string][]authn.AuthConfig{}
	}
	// Map order would make the order of a secret's locations random; the
	// index sorts them anyway.
	for _, registry := range slices.Sorted(maps.Keys(auths)) {
		loc, err := location(registry)
		if err != nil {
			continue // dockerConfig refused such secrets already
		}
		if _, ok := k.creds[loc]; !ok {
			k.index = append(k.index, loc)
		}
		cfg := auths[registry]
		cfg.Auth = "" // decoded into Username and Password already
		k.creds[loc] = append(k.creds[loc], cfg)
	}
	slices.Sort(k.index)
	slices.Reverse(k.index)
}

// lookup returns the credentials matching target, in the order to try them.
// A Docker Hub image is matched as the kubelet spells it
// ("docker.io/library/nginx") and as go-containerregistry does
// ("index.docker.io/library/nginx"), so that secrets written for
// "docker.io" and for "https://index.docker.io/v1/" both serve it.
func (k *keyring) lookup(target authn.Resource) []authn.AuthConfig {
	targets := []string{target.String()}
	if target.RegistryStr() == name.DefaultRegistry {
		targets = []string{"docker.io" + strings.TrimPrefix(target.String(), name.DefaultRegistry), target.String()}
	}
	var out []authn.AuthConfig
	seen := map[string]bool{}
	for _, t := range targets {
		for _, loc := range k.index {
			if !seen[loc] && locationMatches(loc, t) {
				seen[loc] = true
				out = append(out, k.creds[loc]...)
			}
		}
	}
	return out
}

// location is the key of a docker config entry: host and path, without
// scheme, "/v1/" or "/v2/" ("https://index.docker.io/v1/" is
// "index.docker.io"), as docker and the kubelet read it.
func location(registry string) (string, error) {
	v := registry
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", err
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, nil
	}
	return u.Host + p, nil
}

// locationMatches reports whether the location glob matches target: same
// port, same number of host labels each matching as a path.Match glob
// ("*.example.com"), and the glob's path a prefix of the target's.
func locationMatches(glob, target string) bool {
	g, err := url.Parse("https://" + glob)
	if err != nil {
		return false
	}
	t, err := url.Parse("https://" + target)
	if err != nil {
		return false
	}
	gLabels, gPort := splitHost(g.Host)
	tLabels, tPort := splitHost(t.Host)
	if gPort != tPort || len(gLabels) != len(tLabels) || !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i, label := range gLabels {
		if ok, err := filepath.Match(label, tLabels[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHost(hostport string) (labels []string, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	return strings.Split(host, "."), port
}

// dockerConfig reads the registry credentials of a pull secret, or says why
// it cannot serve as one. The reason never quotes the secret's content: a
// JSON error can show a byte of it.
func dockerConfig(s *corev1.Secret) (map[string]authn.AuthConfig, string) {
	var raw []byte
	var auths map[string]authn.AuthConfig
	var into any
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		cfg := &struct {
			Auths *map[string]authn.AuthConfig `json:"auths"`
		}{Auths: &auths}
		raw, into = s.Data[corev1.DockerConfigJsonKey], cfg
	case corev1.SecretTypeDockercfg:
		raw, into = s.Data[corev1.DockerConfigKey], &auths
	default:
		return nil, "its type is " + string(s.Type) + ", not " + string(corev1.SecretTypeDockerConfigJson) + " or " + string(corev1.SecretTypeDockercfg)
	}
	if len(raw) == 0 {
		return nil, "it has no docker config"
	}
	if json.Unmarshal(raw, into) != nil {
		return nil, "its docker config is not valid JSON (or an auth field is not base64)"
	}
	for registry := range auths {
		if _, err := location(registry); err != nil {
			return nil, "a registry in its docker config is not a valid host or URL"
		}
	}
	return auths, ""
}
