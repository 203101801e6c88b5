package crirun

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// layout names every path of one private containerd under dir.
type layout struct {
	dir string
}

func (l layout) config() string   { return filepath.Join(l.dir, "config.toml") }
func (l layout) root() string     { return filepath.Join(l.dir, "root") }
func (l layout) state() string    { return filepath.Join(l.dir, "state") }
func (l layout) socket() string   { return filepath.Join(l.dir, "containerd.sock") }
func (l layout) hosts() string    { return filepath.Join(l.dir, "certs.d") }
func (l layout) runcRoot() string { return filepath.Join(l.dir, "runc") }
func (l layout) tmp() string      { return filepath.Join(l.dir, "tmp") }
func (l layout) logs() string     { return filepath.Join(l.dir, "logs") }
func (l layout) cniConf() string  { return filepath.Join(l.dir, "cni") }
func (l layout) log() string      { return filepath.Join(l.dir, "containerd.log") }

// criRoot is the CRI plugin's root, where anonymous volumes live:
// containers/<id>/volumes/<random>.
func (l layout) criRoot() string { return filepath.Join(l.root(), "io.containerd.grpc.v1.cri") }

// configSettings is what varies between runs of one containerd.
type configSettings struct {
	registry     string // host:port of the loopback registry
	sandboxImage string
	snapshotter  string
	runc         string // runc binary
}

// writeConfig writes containerd's config.toml and the registry's hosts.toml.
func writeConfig(l layout, s configSettings) error {
	for _, d := range []string{l.hosts(), l.tmp(), l.logs(), l.cniConf()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("making %s: %w", d, err)
		}
	}
	if err := os.WriteFile(l.config(), []byte(renderConfig(l, s)), 0o600); err != nil {
		return fmt.Errorf("writing containerd's config: %w", err)
	}
	// containerd 1.6 reads <config_path>/<host:port>/hosts.toml; an http://
	// server is spoken to in plain HTTP. The older registry.mirrors table does
	// the same but is deprecated, and cannot be combined with config_path.
	hostDir := filepath.Join(l.hosts(), s.registry)
	if err := os.MkdirAll(hostDir, 0o700); err != nil {
		return fmt.Errorf("making %s: %w", hostDir, err)
	}
	server := "http://" + s.registry
	hosts := fmt.Sprintf("server = %s\n\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n", q(server), q(server))
	if err := os.WriteFile(filepath.Join(hostDir, "hosts.toml"), []byte(hosts), 0o600); err != nil {
		return fmt.Errorf("writing the registry's hosts.toml: %w", err)
	}
	return nil
}

// renderConfig is containerd 1.6's config (version 2) for one private
// instance. Why each setting is there:
//   - disabled_plugins: the opt plugin would create /opt/containerd; the
//     snapshotters other than overlayfs and native only log errors here.
//   - restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and runc fails
//     ("can't get final child's PID from pipe") when asked to lower the score.
//   - stream_server_port 0: several instances may run at once.
//   - disable_apparmor: no profile is loaded for the containers here.
//   - runc options Root: keeps runc's state out of /run/containerd/runc.
//   - cni conf_dir: an empty directory; pods use the host network.
func renderConfig(l layout, s configSettings) string {
	lines := []string{
		`version = 2`,
		`root = ` + q(l.root()),
		`state = ` + q(l.state()),
		`disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]`,
		`[grpc]`,
		`  address = ` + q(l.socket()),
		`[ttrpc]`,
		`  address = ` + q(l.socket()+".ttrpc"),
		`[plugins."io.containerd.grpc.v1.cri"]`,
		`  sandbox_image = ` + q(s.sandboxImage),
		`  stream_server_address = "127.0.0.1"`,
		`  stream_server_port = "0"`,
		`  restrict_oom_score_adj = true`,
		`  disable_apparmor = true`,
		`  [plugins."io.containerd.grpc.v1.cri".containerd]`,
		`    snapshotter = ` + q(s.snapshotter),
		`    default_runtime_name = "runc"`,
		`    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]`,
		`      runtime_type = "io.containerd.runc.v2"`,
		`      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`,
		`        BinaryName = ` + q(s.runc),
		`        Root = ` + q(l.runcRoot()),
		`        SystemdCgroup = false`,
		`  [plugins."io.containerd.grpc.v1.cri".cni]`,
		`    conf_dir = ` + q(l.cniConf()),
		`  [plugins."io.containerd.grpc.v1.cri".registry]`,
		`    config_path = ` + q(l.hosts()),
	}
	return strings.Join(lines, "\n") + "\n"
}

// q quotes a TOML basic string; Go's quoting agrees with TOML for the paths
// and names written here.
func q(s string) string { return strconv.Quote(s) }
