package workload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestCancelableReaderPassesEverythingThrough(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\n"), 3*readBufferSize/16)
	tests := []struct {
		name string
		wrap func(io.Reader) io.Reader // how the consumer reads
		open func() (io.ReadCloser, error)
		want error
	}{
		{"large reads", func(r io.Reader) io.Reader { return r }, openBytes(data), nil},
		{"one byte at a time", iotest.OneByteReader, openBytes(data), nil},
		{"half reads", iotest.HalfReader, openBytes(data), nil},
		{"an error after data", func(r io.Reader) io.Reader { return r },
			func() (io.ReadCloser, error) {
				return io.NopCloser(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errBroken))), nil
			}, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openCancelable(context.Background(), tt.open)
			defer r.Close()
			got, err := io.ReadAll(tt.wrap(r))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("read %d bytes, want the %d written", len(got), len(data))
			}
		})
	}
}

func TestCancelableReaderOpenError(t *testing.T) {
	r := openCancelable(context.Background(), func() (io.ReadCloser, error) { return nil, errBroken })
	defer r.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, errBroken) || !errors.Is(r.openErr, errBroken) {
		t.Errorf("read error %v, open error %v; want %v for both", err, r.openErr, errBroken)
	}
}

var errBroken = errors.New("broken")

func openBytes(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
