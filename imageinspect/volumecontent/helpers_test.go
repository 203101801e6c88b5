package volumecontent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// tarEntry is one header of a layer built in a test; files get size zero
// bytes of content.
type tarEntry struct {
	hdr tar.Header
}

func dir(name string, mode int64, uid, gid int) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode, Uid: uid, Gid: gid}}
}

func file(name string, size int64) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}}
}

func symlink(name, target string) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}}
}

func fifo(name string) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeFifo, Mode: 0o600}}
}

// whiteout deletes name from the layers below.
func whiteout(name string) tarEntry {
	d, b := splitName(name)
	return file(d+".wh."+b, 0)
}

// opaque hides what the layers below hold beneath the directory d ("x/").
func opaque(d string) tarEntry { return file(d+".wh..wh..opq", 0) }

func splitName(name string) (string, string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i+1], name[i+1:]
		}
	}
	return "", name
}

func tarBytes(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	return tarWithData(t, nil, entries)
}

// tarWithData is tarBytes with files' contents taken from data (repeated),
// or zeros when data is nil.
func tarWithData(t testing.TB, data []byte, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var cursor int64
	for _, e := range entries {
		h := e.hdr
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing header %q: %v", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			var content io.Reader = zeros{}
			if data != nil {
				// Each file goes on where the last stopped: no repeats
				// within gzip's window.
				off := cursor % int64(len(data))
				cursor += h.Size
				content = io.MultiReader(bytes.NewReader(data[off:]), bytes.NewReader(data))
			}
			if _, err := io.CopyN(tw, content, h.Size); err != nil {
				t.Fatalf("writing %q: %v", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// memLayer is a layer held in memory that counts how often it is opened.
type memLayer struct {
	digest  string
	data    []byte
	size    int64
	opens   atomic.Int32
	openErr error
}

func newMemLayer(data []byte) *memLayer {
	sum := sha256.Sum256(data)
	return &memLayer{digest: "sha256:" + hex.EncodeToString(sum[:]), data: data, size: int64(len(data))}
}

// layer is a gzip layer of entries.
func layer(t testing.TB, entries ...tarEntry) *memLayer {
	return newMemLayer(gzipBytes(t, tarBytes(t, entries...)))
}

func (l *memLayer) Digest() string { return l.digest }
func (l *memLayer) Size() int64    { return l.size }
func (l *memLayer) Open(ctx context.Context) (io.ReadCloser, error) {
	l.opens.Add(1)
	if l.openErr != nil {
		return nil, l.openErr
	}
	return io.NopCloser(bytes.NewReader(l.data)), nil
}

func layers(ls ...*memLayer) []Layer {
	out := make([]Layer, len(ls))
	for i, l := range ls {
		out[i] = l
	}
	return out
}

func scanOne(t *testing.T, s *Scanner, ls []Layer, p string) Content {
	t.Helper()
	got, _ := s.Scan(context.Background(), ls, []string{p})
	return got[0]
}

var errOpen = errors.New("registry said no")
