package volumecontent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	whiteoutPrefix = ".wh."
	// whiteoutMetaPrefix marks aufs bookkeeping (".wh..wh.plnk"), which
	// the unpackers skip.
	whiteoutMetaPrefix = whiteoutPrefix + whiteoutPrefix
	opaqueMarker       = whiteoutMetaPrefix + ".opq"
)

// readLimits bound what reading one layer may hold.
type readLimits struct {
	maxIndexBytes int64    // table kept whole up to this; then narrowed to scope
	scope         []string // the paths a narrowed table keeps
}

// indexTar reads a tar stream's headers into a layer index, discarding
// contents as it goes. A table that outgrows maxIndexBytes is narrowed to
// what concerns scope, and reading goes on keeping only that; one that
// outgrows it even so is ErrTooLarge.
func indexTar(ctx context.Context, r io.Reader, lim readLimits) (*layerIndex, error) {
	x := &layerIndex{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar header %d: %w", x.headers+1, err)
		}
		x.headers++
		if x.headers%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		e, ok, err := entryOf(hdr)
		if err != nil {
			return nil, fmt.Errorf("tar header %d: %w", x.headers, err)
		}
		if !ok || (x.scope != nil && !relevant(e.name, x.scope)) {
			continue
		}
		x.entries = append(x.entries, e)
		x.bytes += e.cost()
		if x.bytes <= lim.maxIndexBytes {
			continue
		}
		if x.scope != nil {
			return nil, fmt.Errorf("%w: more than %d bytes of entries under %s", ErrTooLarge, lim.maxIndexBytes, quoted(lim.scope))
		}
		x.narrow(lim.scope)
		if x.bytes > lim.maxIndexBytes {
			return nil, fmt.Errorf("%w: more than %d bytes of entries under %s", ErrTooLarge, lim.maxIndexBytes, quoted(lim.scope))
		}
	}
	x.finish()
	return x, nil
}

// entryOf turns a tar header into an index entry, reading its name as the
// unpackers do: "./a/b", "a/b" and "/a/b" are the same path. ok is false
// for headers that change nothing (aufs bookkeeping).
func entryOf(hdr *tar.Header) (e entry, ok bool, err error) {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return entry{}, false, err
	}
	e = entry{name: name, size: hdr.Size, uid: int64(hdr.Uid), gid: int64(hdr.Gid), mode: uint32(hdr.Mode) & 0o7777}
	if base := path.Base("/" + name); strings.HasPrefix(base, whiteoutPrefix) {
		dir := parent(name)
		switch {
		case base == opaqueMarker:
			return entry{name: dir, kind: kindOpaque}, true, nil
		case strings.HasPrefix(base, whiteoutMetaPrefix):
			return entry{}, false, nil
		}
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." {
			return entry{}, false, fmt.Errorf("%w: whiteout %q names no file", ErrHostileLayer, hdr.Name)
		}
		return entry{name: path.Join(dir, target), kind: kindWhiteout}, true, nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.kind, e.size = kindDir, 0
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		e.kind = kindFile
	case tar.TypeSymlink:
		e.kind, e.link, e.size = kindSymlink, hdr.Linkname, 0
	case tar.TypeLink:
		e.kind, e.link, e.size = kindHardlink, hdr.Linkname, 0
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		e.kind, e.size = kindOther, 0
	default:
		// containerd fails the whole layer on an unknown type.
		return entry{}, false, fmt.Errorf("%w: entry %q of unknown type %q", ErrHostileLayer, hdr.Name, hdr.Typeflag)
	}
	if e.size < 0 {
		return entry{}, false, fmt.Errorf("%w: entry %q of negative size", ErrHostileLayer, hdr.Name)
	}
	if e.name == "" && e.kind != kindDir {
		return entry{}, false, fmt.Errorf("%w: the root is a %s", ErrHostileLayer, kindName(e.kind))
	}
	return e, true, nil
}

// cleanName returns a tar name relative to the root, cleaned. A name that
// climbs out of the root ("../x", "a/../../x") is refused: Docker refuses
// the layer, containerd writes it at the root instead, so no answer would
// hold for both.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: entry name %q holds a NUL byte", ErrHostileLayer, name)
	}
	c := path.Clean(strings.TrimLeft(name, "/"))
	switch {
	case c == ".":
		return "", nil
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", fmt.Errorf("%w: entry %q escapes the root", ErrHostileLayer, name)
	}
	return c, nil
}

func kindName(k entryKind) string {
	switch k {
	case kindDir:
		return "directory"
	case kindFile, kindHardlink:
		return "file"
	case kindSymlink:
		return "symbolic link"
	}
	return "device or fifo"
}

func quoted(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = fmt.Sprintf("%q", "/"+p)
	}
	return strings.Join(q, ", ")
}
