package volumecontent

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// Errors that make an answer Unknown, usable with errors.Is.
var (
	// ErrBudgetExhausted: the image's byte budget ran out before the layers
	// that decide the answer were read.
	ErrBudgetExhausted = errors.New("byte budget exhausted")
	// ErrTooLarge: a layer expands to more tar bytes than allowed, or holds
	// more entries under the asked paths than are kept in memory.
	ErrTooLarge = errors.New("too large")
	// ErrHostileLayer: a layer holds what no image builder writes (an entry
	// that escapes the root, an unknown entry type, a malformed whiteout).
	// Runtimes differ on such layers (Docker refuses them, containerd
	// clamps names to the root), so no answer can be faithful.
	ErrHostileLayer = errors.New("hostile layer")
)

const (
	// zstd frames ask for the window they were written with. Image
	// builders (buildkit, go-containerregistry, containerd) write 8 MiB or
	// less; 64 MiB still admits `zstd --long=26`, and keeps a hostile frame
	// from making us allocate the 512 MiB klauspost allows by default.
	maxZstdWindow = 64 << 20

	gzipMagic = "\x1f\x8b"
	zstdMagic = "\x28\xb5\x2f\xfd"
)

// meter counts what a scan reads, against its limits, for every layer the
// scan reads. It is shared with the goroutine that reads a layer on behalf
// of concurrent scans, hence atomics.
type meter struct {
	compressed   atomic.Int64
	tar          atomic.Int64
	maxBytes     int64 // compressed bytes per image
	maxTarBytes  int64 // uncompressed tar bytes per image
	layersRead   atomic.Int64
	layersCached atomic.Int64
}

// compressedLeft is what remains of the byte budget.
func (m *meter) compressedLeft() int64 { return m.maxBytes - m.compressed.Load() }

// countingReader reads r within a limit shared by every layer of the scan,
// and stops as soon as ctx ends: a registry stream may not watch ctx.
type countingReader struct {
	ctx   context.Context
	r     io.Reader
	count *atomic.Int64
	limit int64
	err   error // returned once the limit is passed
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	left := c.limit - c.count.Load()
	if left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > left+1 {
		// One byte more than allowed tells a stream that ends exactly at
		// the limit from one that goes over it.
		p = p[:left+1]
	}
	n, err := c.r.Read(p)
	c.count.Add(int64(n))
	if c.count.Load() > c.limit {
		return n, c.err
	}
	return n, err
}

// decompressor returns the tar stream inside r, whichever of gzip, zstd or
// nothing it is compressed with (read from its first bytes, as containerd
// does), and a function releasing the decoder.
func decompressor(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("reading the layer's first bytes: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte(gzipMagic)):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("reading gzip header: %w", err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case bytes.HasPrefix(head, []byte(zstdMagic)):
		// Concurrency 1 decodes on the caller's goroutine: no goroutine
		// outlives a scan that stops early.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("reading zstd header: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
