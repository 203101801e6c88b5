package workload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// step is one thing the walk of ReadPaths' paths found, in input order.
type step struct {
	kind stepKind
	// file to read, found under root, the path given (stepStopped: the
	// root whose walk ctx cut short, with its cause)
	file    string
	root    string
	cause   error
	open    func() (io.ReadCloser, error)
	regular bool  // a regular file: its reads return, so it needs no goroutine to be cancelled
	size    int64 // of a regular file when walked
	// stepError
	err *Error
	// stepSkipped
	skipped string
	// stepPathEnd: ErrNoObjects for path when the steps from noObjectsFrom
	// on read no document and met no error
	path          string
	noObjectsFrom int
}

type stepKind int

const (
	stepFile stepKind = iota
	stepError
	stepSkipped
	stepPathEnd
	stepStopped
)

// fileRead is what reading one file gave.
type fileRead struct {
	objs    []Object
	errs    []error
	docs    int
	data    []byte // the file's content, for ReadFiles
	failed  error  // the file could not be opened or read whole: one error for it
	notRead error  // ctx was done before the file was opened
}

// smallFile is the largest file read whole before decoding: manifests are
// kilobytes; a larger file streams through a 64 KiB buffer.
const smallFile = 1 << 20

// readPlan reads the files of plan and puts everything together in plan
// order, handing each object to the callback each (when set) as soon as it and
// everything before it is read. Regular files are read and decoded by a
// worker per core. Stdin and other files that may block (named pipes) are
// read alone, after what comes before them and before what comes after, so
// that a blocked read holds up the rest until ctx is done, which then
// reports each of them.
func (d *Decoder) readPlan(ctx context.Context, plan []step, keep bool, each func(Object)) Input {
	reads := make([]fileRead, len(plan))
	ready := make([]chan struct{}, len(plan))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	go d.readSteps(ctx, plan, reads, ready, keep)
	a := assembler{each: each, found: make([]int, len(plan)+1)}
	for i, st := range plan {
		<-ready[i]
		a.add(i, st, reads[i])
	}
	return a.in
}

// readSteps reads the files of plan into reads, closing each step's ready
// channel when it is done.
func (d *Decoder) readSteps(ctx context.Context, plan []step, reads []fileRead, ready []chan struct{}, keep bool) {
	blocking := func(st step) bool { return st.kind == stepFile && !st.regular }
	for i := 0; i < len(plan); {
		if blocking(plan[i]) {
			reads[i] = d.readFile(ctx, plan[i], keep)
			close(ready[i])
			i++
			continue
		}
		j := i
		for j < len(plan) && !blocking(plan[j]) {
			j++
		}
		d.readAll(ctx, plan[i:j], reads[i:j], ready[i:j], keep)
		i = j
	}
}

// readAll reads the regular files of plan into reads, a worker per core.
func (d *Decoder) readAll(ctx context.Context, plan []step, reads []fileRead, ready []chan struct{}, keep bool) {
	var files []int
	for i, st := range plan {
		if st.kind == stepFile {
			files = append(files, i)
		} else {
			close(ready[i])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				n := int(next.Add(1)) - 1
				if n >= len(files) {
					return
				}
				i := files[n]
				reads[i] = d.readFile(ctx, plan[i], keep)
				close(ready[i])
			}
		})
	}
	wg.Wait()
}

// readFile reads and decodes one file, or stdin.
func (d *Decoder) readFile(ctx context.Context, st step, keep bool) fileRead {
	if ctx.Err() != nil {
		return fileRead{notRead: context.Cause(ctx)}
	}
	if !st.regular {
		rc := openCancelable(ctx, st.open)
		defer rc.Close()
		fr := d.decodeFile(st.file, rc, keep)
		if rc.openErr != nil {
			return fileRead{failed: rc.openErr}
		}
		return fr
	}
	// Opened without blocking and checked again: a file walked as regular
	// that has since become a named pipe would block the open, or its
	// reads, past ctx. It is read as pipes are.
	f, err := os.OpenFile(st.file, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return fileRead{failed: err}
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		st.regular = false
		return d.readFile(ctx, st, keep)
	}
	if keep || st.size > smallFile {
		return d.decodeFile(st.file, f, keep)
	}
	// Read whole, into a buffer of the file's size: most files are a few
	// hundred bytes. One that grew since the walk streams on.
	buf := bytes.NewBuffer(make([]byte, 0, st.size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, smallFile+1)); err != nil {
		return fileRead{failed: fmt.Errorf("reading: %w", err)}
	}
	if buf.Len() > smallFile {
		return d.decodeFile(st.file, io.MultiReader(buf, f), false)
	}
	return d.decodeCached(st.file, buf.Bytes())
}

// decodeCached decodes a file read whole, through the decoder's object
// cache when it has one.
func (d *Decoder) decodeCached(name string, data []byte) fileRead {
	var fr fileRead
	cache := d.opts.cache
	if cache != nil {
		if objs, docs, ok := cache.get(name, data); ok {
			return fileRead{objs: objs, docs: docs}
		}
	}
	fr.objs, fr.errs, fr.docs = d.decodeSized(name, bytes.NewReader(data), len(data)+1)
	if cache != nil && len(fr.errs) == 0 {
		cache.put(data, fr.objs, fr.docs)
	}
	return fr
}

// decodeFile decodes a stream, or with keep reads it whole first (up to
// maxFileFactor times the document size limit) and keeps it.
func (d *Decoder) decodeFile(name string, r io.Reader, keep bool) fileRead {
	var fr fileRead
	if !keep {
		fr.objs, fr.errs, fr.docs = d.decode(name, r)
		return fr
	}
	limit := maxFileFactor * d.maxDocumentSize()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		fr.failed = fmt.Errorf("reading: %w", err)
	case int64(len(data)) > limit:
		fr.failed = fmt.Errorf("%w: the file holds more than %d bytes", ErrDocumentTooLarge, limit)
	default:
		fr.objs, fr.errs, fr.docs = d.decodeSized(name, bytes.NewReader(data), len(data)+1)
		fr.data = data
	}
	return fr
}

// assembler puts the plan's steps and reads together into an Input, in
// plan order. Files ctx stopped before they were read are one error for
// the path given that holds them.
type assembler struct {
	in   Input
	each func(Object)
	// found[i] counts documents and errors before step i: a path's end
	// compares it with its own count.
	found []int
	// root is the path given whose files are being put together; some of
	// them were read (rootRead), ctx stopped the rest (stopped).
	root              string
	rootRead, stopped bool
}

func (a *assembler) add(i int, st step, fr fileRead) {
	in := &a.in
	a.found[i] = in.Documents + len(in.Errors)
	switch st.kind {
	case stepError:
		in.Errors = append(in.Errors, st.err)
	case stepSkipped:
		in.Skipped = append(in.Skipped, st.skipped)
	case stepPathEnd:
		if a.found[st.noObjectsFrom] == a.found[i] {
			in.Errors = append(in.Errors, pathError(st.path, ErrNoObjects))
		}
	case stepStopped:
		a.stop(st.root, st.cause)
	case stepFile:
		switch {
		case fr.notRead != nil:
			a.stop(st.root, fr.notRead)
			return
		case fr.failed != nil:
			in.Errors = append(in.Errors, pathError(st.file, fr.failed))
		default:
			in.Objects = append(in.Objects, fr.objs...)
			in.Errors = append(in.Errors, fr.errs...)
			in.Documents += fr.docs
			if fr.data != nil {
				in.Files = append(in.Files, File{Name: st.file, Data: fr.data})
			}
			if a.each != nil {
				for _, o := range fr.objs {
					a.each(o)
				}
			}
		}
		a.enter(st.root)
		a.rootRead = true
	}
}

// enter starts putting root's files together, unless it is the current
// root.
func (a *assembler) enter(root string) {
	if root != a.root {
		a.root, a.rootRead, a.stopped = root, false, false
	}
}

// stop reports, once per path given, that ctx stopped it before all of it
// was read.
func (a *assembler) stop(root string, cause error) {
	a.enter(root)
	if !a.stopped {
		a.stopped = true
		a.in.Errors = append(a.in.Errors, notRead(root, a.rootRead, cause))
	}
}

// notRead is the error for a path given whose files ctx stopped before
// they were all read.
func notRead(root string, partly bool, cause error) *Error {
	if partly {
		return pathError(root, fmt.Errorf("not read completely: %w", cause))
	}
	return pathError(root, fmt.Errorf("not read: %w", cause))
}
