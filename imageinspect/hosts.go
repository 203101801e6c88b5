package imageinspect

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// An authenticated transport (ping done, token held) is reused this long
// for its repository and credentials. Bearer tokens expiring before that are
// refreshed by the transport itself on the registry's 401.
const transportTTL = 30 * time.Minute

// host is one place a repository may be read from.
type host struct {
	repo   name.Repository // the repository, named as on that host
	mirror bool
}

// endpoint is a host ready to be asked: credentials resolved, authenticated.
type endpoint struct {
	repo  name.Repository
	creds *creds
	rt    http.RoundTripper
}

// hostsFor lists where repo is read from: its registry's mirrors in order,
// then the registry itself, as containerd's hosts.toml sends pulls.
func (i *Inspector) hostsFor(repo name.Repository) []host {
	var out []host
	for _, m := range i.opts.network.mirrors[repo.RegistryStr()] {
		path := repo.RepositoryStr()
		if m.prefix != "" {
			path = m.prefix + "/" + path
		}
		opts := []name.Option{name.WeakValidation}
		if m.insecure || i.opts.insecure[m.registry] {
			opts = append(opts, name.Insecure)
		}
		r, err := name.NewRepository(m.registry+"/"+path, opts...)
		if err != nil {
			continue // WithMirrors kept only valid hosts; a path it cannot name is skipped
		}
		out = append(out, host{repo: r, mirror: true})
	}
	return append(out, host{repo: repo})
}

// onHosts runs op against the hosts of repo until one succeeds. A mirror gets
// at most half the time left, so that the origin still has its chance when a
// mirror hangs. All failing, the first error is returned, as containerd
// does, naming the hosts tried after it.
func (i *Inspector) onHosts(ctx context.Context, lk *lookup, repo name.Repository, op func(context.Context, *endpoint) error) error {
	hosts := i.hostsFor(repo)
	var first error
	var others []string
	for k, h := range hosts {
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok && h.mirror {
			hctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		}
		err := i.tryHost(hctx, lk, h, op)
		cancel()
		if err == nil {
			return nil
		}
		if h.mirror {
			i.log.V(1).Info("mirror failed, trying the next host", "mirror", h.repo.RegistryStr(), "repository", repo.Name(), "reason", Reason(err))
			err = fmt.Errorf("mirror %s: %w", h.repo.RegistryStr(), err)
		}
		if first == nil {
			first = err
		} else {
			others = append(others, fmt.Sprintf("%s: %s", h.repo.RegistryStr(), err))
		}
		if ctx.Err() != nil || k == len(hosts)-1 {
			break
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%w (then tried %s)", first, strings.Join(others, "; "))
	}
	return first
}

// tryHost runs op against h within one of h's slots, unless h's circuit is
// open, and tells the circuit how it went.
func (i *Inspector) tryHost(ctx context.Context, lk *lookup, h host, op func(context.Context, *endpoint) error) error {
	done, err := i.enterHost(ctx, h.repo.RegistryStr())
	if err != nil {
		return err
	}
	// Slots are taken tenant first, host second, never the other way.
	ctx = holdingSlots(ctx)
	err = i.withCreds(ctx, lk, h.repo, func(c *creds) error {
		ep, err := i.endpoint(ctx, h, c)
		if err != nil {
			return err
		}
		return op(ctx, ep)
	})
	done(ctx, err)
	return err
}

func transportKey(repo name.Repository, c *creds) string {
	return repo.Registry.Scheme() + "://" + repo.Name() + "\x00" + c.fp
}

// endpoint returns h authenticated with c, pinging it and fetching a token
// only the first time (and once for concurrent callers).
func (i *Inspector) endpoint(ctx context.Context, h host, c *creds) (*endpoint, error) {
	key := transportKey(h.repo, c)
	if rt, ok := i.transports.Get(key); ok {
		return &endpoint{repo: h.repo, creds: c, rt: rt}, nil
	}
	v, err := i.shared(ctx, "auth\x00"+key, func(ctx context.Context) (any, error) {
		rt, err := ggcrtransport.NewWithContext(ctx, h.repo.Registry, c.authenticator(), i.stack, []string{h.repo.Scope(ggcrtransport.PullScope)})
		if err != nil {
			return nil, err
		}
		i.transports.Add(key, rt, 1024, transportTTL)
		return rt, nil
	})
	if err != nil {
		return nil, fmt.Errorf("contacting %s: %w", h.repo.RegistryStr(), transport.RedactError(err))
	}
	return &endpoint{repo: h.repo, creds: c, rt: v.(http.RoundTripper)}, nil
}
