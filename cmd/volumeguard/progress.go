package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// statusLine is one progress line redrawn on stderr when it is a terminal;
// nil (every method then does nothing) when it is not, so that logs get
// no carriage returns.
type statusLine struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool
}

func newStatusLine(w io.Writer) *statusLine {
	if !isTerminal(w) {
		return nil
	}
	return &statusLine{w: w}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress returns the callback that redraws "label: done/total", or nil.
func (l *statusLine) progress(label string) func(done, total int) {
	if l == nil {
		return nil
	}
	return func(done, total int) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintf(l.w, "\r%s: %d/%d", label, done, total)
		l.shown = true
	}
}

// clear erases the line, if it is shown.
func (l *statusLine) clear() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
}

func (l *statusLine) clearLocked() {
	if l.shown {
		fmt.Fprint(l.w, "\r\033[K")
		l.shown = false
	}
}

// clearingWriter is out, erasing the line before each write when out is a
// terminal too (the same one, as a rule), so that a report written while
// the line is shown does not start in its middle.
func (l *statusLine) clearingWriter(out io.Writer) io.Writer {
	if l == nil || !isTerminal(out) {
		return out
	}
	return &clearingWriter{line: l, w: out}
}

type clearingWriter struct {
	line *statusLine
	w    io.Writer
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	c.line.mu.Lock()
	defer c.line.mu.Unlock()
	c.line.clearLocked()
	return c.w.Write(p)
}
