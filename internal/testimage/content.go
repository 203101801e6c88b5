package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a test layer: a directory when Name ends in
// "/", a symbolic link when Link is set, else a regular file of Size zero
// bytes. Mode 0 is 0755 for directories and 0644 for files.
type Entry struct {
	Name     string
	Size     int64
	Link     string
	Mode     int64
	UID, GID int
}

// Dir is a directory entry with its owner and mode.
func Dir(name string, mode int64, uid, gid int) Entry {
	return Entry{Name: strings.TrimSuffix(name, "/") + "/", Mode: mode, UID: uid, GID: gid}
}

// File is a regular file of size bytes.
func File(name string, size int64) Entry { return Entry{Name: name, Size: size} }

// Layer returns a gzipped tar layer of entries, in order.
func Layer(entries ...Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(e.Name, "/"):
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.Size
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing the header of %q: %w", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.CopyN(tw, zeros{}, e.Size); err != nil {
				return nil, fmt.Errorf("writing %q: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the tar: %w", err)
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// WithContent returns a linux/amd64 image declaring volumes, made of one
// layer per element of layers, base first: what the tests of content
// scanning need, with files under the VOLUME paths.
func WithContent(volumes []string, layers ...[]Entry) (v1.Image, error) {
	img := empty.Image
	for k, entries := range layers {
		l, err := Layer(entries...)
		if err != nil {
			return nil, fmt.Errorf("making layer %d: %w", k+1, err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return nil, fmt.Errorf("appending layer %d: %w", k+1, err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Volumes = map[string]struct{}{}
	for _, v := range volumes {
		cfg.Config.Volumes[v] = struct{}{}
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("declaring volumes %v: %w", volumes, err)
	}
	return img, nil
}
