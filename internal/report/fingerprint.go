package report

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// fingerprint identifies a finding across runs and machines: its rule,
// file (relative to the root), object, container and path, and not its
// line, so that an edit above it does not make a new issue of an old one.
func fingerprint(rule Rule, file string, at Subject, containerType, container, path string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		rule.ID, file, at.Kind, at.Namespace, at.Name, containerType, container, path,
	}, "\x00")))
	return hex.EncodeToString(sum[:])
}
