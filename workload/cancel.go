package workload

import (
	"context"
	"io"
)

// cancelableReader opens and reads a file on a goroutine of its own, so that
// Read returns as soon as ctx is done even while the open or a read blocks:
// a pipe whose writer never closes it, a named pipe that no one opens for
// writing. Such a blocked goroutine cannot be stopped; it ends with the
// blocked call, which in the CLI is when the process exits.
//
// The goroutine reads one chunk ahead into its own buffer and waits for
// Read to take it, so a reader given up on never writes into a caller's
// buffer.
type cancelableReader struct {
	ctx     context.Context
	chunks  chan chunk    // the goroutine's next chunk, or why there is none
	resume  chan struct{} // Read took the last chunk: the buffer is free
	closed  chan struct{}
	pending []byte
	err     error // once set, every Read returns it
	taken   bool  // a chunk was taken, so the goroutine waits for resume
	openErr error // why the file could not be opened; set with err
}

type chunk struct {
	data    []byte
	err     error
	opening bool // err is the open's
}

func openCancelable(ctx context.Context, open func() (io.ReadCloser, error)) *cancelableReader {
	r := &cancelableReader{
		ctx:    ctx,
		chunks: make(chan chunk, 1),
		resume: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	go r.pump(open)
	return r
}

func (r *cancelableReader) pump(open func() (io.ReadCloser, error)) {
	rc, err := open()
	if err != nil {
		r.chunks <- chunk{err: err, opening: true}
		return
	}
	defer rc.Close()
	buf := make([]byte, readBufferSize)
	for {
		n, err := rc.Read(buf)
		r.chunks <- chunk{data: buf[:n], err: err}
		if err != nil {
			return
		}
		select {
		case <-r.resume:
		case <-r.closed:
			return
		case <-r.ctx.Done():
			return
		}
	}
}

func (r *cancelableReader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.taken {
			r.resume <- struct{}{} // never blocks: one resume per chunk taken
		}
		select {
		case c := <-r.chunks:
			r.taken = true
			r.pending, r.err = c.data, c.err
			if c.opening {
				r.openErr = c.err
			}
		case <-r.ctx.Done():
			r.err = context.Cause(r.ctx)
			return 0, r.err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	if len(r.pending) == 0 && r.err != nil {
		return n, r.err
	}
	return n, nil
}

// Close lets the goroutine end and close the file once its current read
// returns.
func (r *cancelableReader) Close() error {
	select {
	case <-r.closed:
	default:
		close(r.closed)
	}
	return nil
}
