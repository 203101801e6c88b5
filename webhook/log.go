package webhook

import (
	"strings"

	"github.com/go-logr/logr"
)

// stdLogWriter sends what net/http logs (TLS handshake errors) to logr.
type stdLogWriter struct{ log logr.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}
