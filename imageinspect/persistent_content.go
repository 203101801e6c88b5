package imageinspect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
)

// What a platform image ships under some paths never changes (its manifest
// digest names its layers), so a definite scan is kept in the persistent
// cache like a config: a CLI re-run then reads no layer and sends nothing.
// The answer is stored as a content-addressed blob, found through a "tag"
// whose name holds the manifest digest and the paths: its age does not
// matter. Unknown answers are not kept; they depend on the budget and the
// deadline of the run.

// persistedContent is one path's definite answer, as stored.
type persistedContent struct {
	Path         string              `json:"path"`
	State        volumecontent.State `json:"state"`
	Kind         volumecontent.Kind  `json:"kind,omitempty"`
	LinkTarget   string              `json:"linkTarget,omitempty"`
	ResolvedPath string              `json:"resolvedPath,omitempty"`
	Entries      int64               `json:"entries"`
	Bytes        int64               `json:"bytes"`
	UID          int64               `json:"uid"`
	GID          int64               `json:"gid"`
	Mode         uint32              `json:"mode"`
	Implicit     bool                `json:"implicit,omitempty"`
}

// scanKey names the stored scan of paths in the image manifestDigest.
func scanKey(manifestDigest string, paths []string) string {
	sum := sha256.Sum256([]byte(strings.Join(paths, "\x00")))
	return "volumeguard-content-scan/" + manifestDigest + "/" + hex.EncodeToString(sum[:])
}

// persistedScan is the stored scan of paths in manifestDigest, if any.
func (i *Inspector) persistedScan(manifestDigest string, paths []string) ([]volumecontent.Content, bool) {
	s := i.opts.persistent
	if s == nil {
		return nil, false
	}
	digest, _, ok := s.Tag(scanKey(manifestDigest, paths))
	if !ok {
		return nil, false
	}
	raw, ok := s.Blob(digest)
	if !ok {
		return nil, false
	}
	var stored []persistedContent
	if json.Unmarshal(raw, &stored) != nil || len(stored) != len(paths) {
		return nil, false
	}
	out := make([]volumecontent.Content, len(stored))
	for k, p := range stored {
		if p.Path != paths[k] || (p.State != volumecontent.Populated && p.State != volumecontent.Empty && p.State != volumecontent.Absent) {
			return nil, false
		}
		out[k] = volumecontent.Content{Path: p.Path, State: p.State, Kind: p.Kind, LinkTarget: p.LinkTarget, ResolvedPath: p.ResolvedPath,
			Entries: p.Entries, Bytes: p.Bytes, UID: p.UID, GID: p.GID, Mode: p.Mode, Implicit: p.Implicit}
	}
	return out, true
}

// persistScan keeps contents when every path has a definite answer.
func (i *Inspector) persistScan(manifestDigest string, paths []string, contents []volumecontent.Content) {
	s := i.opts.persistent
	if s == nil || len(contents) != len(paths) {
		return
	}
	stored := make([]persistedContent, len(contents))
	for k, c := range contents {
		if c.State == volumecontent.Unknown {
			return
		}
		stored[k] = persistedContent{Path: c.Path, State: c.State, Kind: c.Kind, LinkTarget: c.LinkTarget, ResolvedPath: c.ResolvedPath,
			Entries: c.Entries, Bytes: c.Bytes, UID: c.UID, GID: c.GID, Mode: c.Mode, Implicit: c.Implicit}
	}
	raw, err := json.Marshal(stored)
	if err != nil {
		return
	}
	sum := sha256.Sum256(raw)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	// A cache that cannot be written costs the next run a scan, nothing else.
	if s.PutBlob(digest, raw) == nil {
		_ = s.PutTag(scanKey(manifestDigest, paths), digest)
	}
}
