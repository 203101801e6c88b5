package crirun

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Kind is what an Entry puts into a layer.
type Kind int

const (
	KindDir      Kind = iota
	KindFile          // a regular file with Content
	KindSymlink       // a symlink to Target
	KindWhiteout      // .wh.NAME: removes Path from the layers below
	KindOpaque        // .wh..wh..opq in Path: hides what the layers below hold in the directory
)

// Entry is one tar entry of a layer. Path is absolute or relative to the
// image root; Mode holds permission bits with setuid, setgid and sticky.
type Entry struct {
	Path     string
	Kind     Kind
	Mode     int64
	UID, GID int
	Content  string
	Target   string
}

// Dir is a directory entry.
func Dir(p string, mode int64, uid, gid int) Entry {
	return Entry{Path: p, Kind: KindDir, Mode: mode, UID: uid, GID: gid}
}

// File is a regular file entry.
func File(p string, mode int64, uid, gid int, content string) Entry {
	return Entry{Path: p, Kind: KindFile, Mode: mode, UID: uid, GID: gid, Content: content}
}

// Symlink is a symbolic link entry.
func Symlink(p, target string, uid, gid int) Entry {
	return Entry{Path: p, Kind: KindSymlink, Mode: 0o777, UID: uid, GID: gid, Target: target}
}

// Whiteout deletes p, as an upper layer's `RUN rm p` does.
func Whiteout(p string) Entry { return Entry{Path: p, Kind: KindWhiteout} }

// Opaque hides the lower layers' content of directory p.
func Opaque(p string) Entry { return Entry{Path: p, Kind: KindOpaque} }

// layerEpoch is every entry's mtime (Unix seconds): images built twice are the same image.
const layerEpoch = 1700000000

// Layer builds an uncompressed tar of entries, in order, into a layer. It
// stays uncompressed in the registry too (containerd unpacks a plain tar
// layer as well): a test image holding a 35 MiB binary then costs no gzip.
func Layer(entries ...Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h, err := header(e)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing the tar header of %s: %w", e.Path, err)
		}
		if _, err := io.WriteString(tw, e.Content); err != nil {
			return nil, fmt.Errorf("writing %s: %w", e.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the layer tar: %w", err)
	}
	return static.NewLayer(buf.Bytes(), types.DockerUncompressedLayer), nil
}

func header(e Entry) (*tar.Header, error) {
	name := strings.TrimPrefix(path.Clean("/"+e.Path), "/")
	if name == "" {
		return nil, fmt.Errorf("entry %q: the image root is not an entry", e.Path)
	}
	h := &tar.Header{Name: name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: time.Unix(layerEpoch, 0), Format: tar.FormatPAX}
	switch e.Kind {
	case KindDir:
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case KindFile:
		h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Content))
	case KindSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Target
	case KindWhiteout:
		h.Typeflag, h.Mode = tar.TypeReg, 0o644
		h.Name = path.Join(path.Dir(name), ".wh."+path.Base(name))
	case KindOpaque:
		h.Typeflag, h.Mode = tar.TypeReg, 0o644
		h.Name = path.Join(name, ".wh..wh..opq")
	default:
		return nil, fmt.Errorf("entry %q: unknown kind %d", e.Path, e.Kind)
	}
	if e.Kind != KindFile && e.Content != "" {
		return nil, fmt.Errorf("entry %q: only files have content", e.Path)
	}
	return h, nil
}
