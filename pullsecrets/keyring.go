package pullsecrets

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

var errUnreadable = errors.New("a pull secret is not valid docker config JSON")

// unusable says why a secret cannot serve as a pull secret, or "". It never
// quotes the secret's content: a JSON error can show a byte of it.
func unusable(s *corev1.Secret) string {
	var raw []byte
	var into any
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		raw, into = s.Data[corev1.DockerConfigJsonKey], &struct {
			Auths map[string]authn.AuthConfig `json:"auths"`
		}{}
	case corev1.SecretTypeDockercfg:
		raw, into = s.Data[corev1.DockerConfigKey], &map[string]authn.AuthConfig{}
	default:
		return "its type is " + string(s.Type) + ", not " + string(corev1.SecretTypeDockerConfigJson) + " or " + string(corev1.SecretTypeDockercfg)
	}
	if len(raw) == 0 {
		return "it has no docker config"
	}
	if json.Unmarshal(raw, into) != nil {
		return "its docker config is not valid JSON (or an auth field is not base64)"
	}
	if !registriesParse(into) {
		return "a registry in its docker config is not a valid host or URL"
	}
	return ""
}

// registriesParse checks what go-containerregistry's keyring will parse.
func registriesParse(cfg any) bool {
	var auths map[string]authn.AuthConfig
	switch c := cfg.(type) {
	case *map[string]authn.AuthConfig:
		auths = *c
	case *struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}:
		auths = c.Auths
	}
	for registry := range auths {
		v := registry
		if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
			v = "https://" + v
		}
		if _, err := url.Parse(v); err != nil {
			return false
		}
	}
	return true
}

// dockerHubAliases lets pull secrets written for "docker.io" serve images of
// Docker Hub, which go-containerregistry names "index.docker.io" (kubectl
// create secret docker-registry writes https://index.docker.io/v1/, which
// matches already; many tools write docker.io). The kubelet accepts both.
type dockerHubAliases struct{ inner authn.Keychain }

func (k dockerHubAliases) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k dockerHubAliases) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	auth, err := authn.Resolve(ctx, k.inner, target)
	if err != nil || auth != authn.Anonymous || target.RegistryStr() != name.DefaultRegistry {
		return auth, err
	}
	return authn.Resolve(ctx, k.inner, alias{target})
}

// alias names a Docker Hub resource "docker.io/...".
type alias struct{ authn.Resource }

func (a alias) RegistryStr() string { return "docker.io" }

func (a alias) String() string {
	return "docker.io" + strings.TrimPrefix(a.Resource.String(), a.Resource.RegistryStr())
}
