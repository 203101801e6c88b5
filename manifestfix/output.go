package manifestfix

import (
	"bytes"
	"io"
)

// WriteFixed writes the fixed content of files to w, every file whole,
// changed or not, so that `volumeguard fix x.yaml > y.yaml` loses nothing.
// Files after the first are separated by a `---` line, as one stream of
// documents.
func WriteFixed(w io.Writer, files []File) error {
	for i, f := range files {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(f.Fixed); err != nil {
			return err
		}
		if i < len(files)-1 && len(f.Fixed) > 0 && !bytes.HasSuffix(f.Fixed, []byte("\n")) {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteDiff writes the unified diff of every changed file to w.
func WriteDiff(w io.Writer, files []File) error {
	for _, f := range files {
		if !f.Changed() {
			continue
		}
		if _, err := io.WriteString(w, UnifiedDiff(f.Name, f.Original, f.Fixed)); err != nil {
			return err
		}
	}
	return nil
}
