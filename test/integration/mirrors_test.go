package integration

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// TestMirrors: lookups of the origin's images go to its mirror, a second
// registry, as containerd's hosts.toml sends pulls; the origin is asked
// only when the mirror fails.
func TestMirrors(t *testing.T) {
	cert := newTestCert(t)
	originReg := startRegistry(t, cert)
	mirrorReg := startRegistry(t, cert)
	origin := startProxy(t, originReg.host, cert)  // counts what the origin is asked
	failing := startProxy(t, mirrorReg.host, cert) // a mirror that fails as told
	originReg.push(t, "team/app:1", "/origin")
	mirrorReg.push(t, "team/app:1", "/mirror")
	image := origin.host + "/team/app:1"
	kc := keychain{origin.host: creds(), mirrorReg.host: creds(), failing.host: creds()}

	for _, tc := range []struct {
		name       string
		mirrors    []string
		fault      *fault
		want       string
		originUsed bool
	}{
		{name: "the mirror answers; the origin is not asked", mirrors: []string{mirrorReg.host}, want: "/mirror"},
		{name: "a failing mirror, then the next", mirrors: []string{failing.host, mirrorReg.host},
			fault: newFault(manifestGET, 100, status(503, nil)), want: "/mirror"},
		{name: "every mirror failing: the origin", mirrors: []string{failing.host},
			fault: newFault(manifestGET, 100, status(503, nil)), want: "/origin", originUsed: true},
		{name: "a hanging mirror gets half the deadline: the origin", mirrors: []string{failing.host},
			fault: newFault(manifestGET, 100, hang), want: "/origin", originUsed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failing.setFault(tc.fault)
			defer failing.setFault(nil)
			origin.take()
			in := newInspector(t, imageinspect.WithRegistryCAs(cert.pool), imageinspect.WithKeychain(kc),
				imageinspect.WithMirrors(map[string][]string{origin.host: tc.mirrors}))
			img, err := within(t, 30*time.Second, func() (*imageinspect.Image, error) {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				return in.Inspect(ctx, image, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Platforms[0].Volumes; !reflect.DeepEqual(got, []string{tc.want}) {
				t.Errorf("volumes = %v, want [%s]", got, tc.want)
			}
			asked := origin.take()
			delete(asked, "GET ping")
			if used := len(asked) > 0; used != tc.originUsed {
				t.Errorf("origin asked %v, want used: %v", asked, tc.originUsed)
			}
		})
	}
}
