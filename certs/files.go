package certs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the files WriteFiles writes, as the TLS server and kubectl expect them.
const (
	CACertFile = "ca.crt"
	CertFile   = "tls.crt"
	KeyFile    = "tls.key"
)

// WriteFiles writes serving's certificate and key and the CA bundle to dir
// as tls.crt, tls.key and ca.crt, and reports whether any file changed. Each
// file is replaced atomically (a temporary file renamed over it), so a
// reader such as controller-runtime's certwatcher never sees half a file;
// it may briefly see a new key beside the old certificate, which it rejects
// and reads again on the next event. Unchanged files are not touched, so
// watchers see no event.
func WriteFiles(dir string, caBundle []byte, serving KeyPair) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating certificate directory: %w", err)
	}
	changed := false
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		// Key first: the certificate's event is then the one that completes the pair.
		{KeyFile, serving.KeyPEM, 0o600},
		{CertFile, serving.CertPEM, 0o644},
		{CACertFile, caBundle, 0o644},
	} {
		wrote, err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode)
		if err != nil {
			return changed, err
		}
		changed = changed || wrote
	}
	return changed, nil
}

func writeFileAtomic(path string, data []byte, mode fs.FileMode) (bool, error) {
	current, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(current, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	return true, nil
}
