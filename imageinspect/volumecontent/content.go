package volumecontent

import (
	"encoding/json"
	"fmt"
)

// State says what an image ships under a path.
type State string

const (
	// Populated: entries exist beneath the path. A path that is a file (or
	// another non-directory) is populated with itself: see KindFile.
	Populated State = "populated"
	// Empty: the path is a directory with nothing beneath it.
	Empty State = "empty"
	// Absent: no such path in the image.
	Absent State = "absent"
	// Unknown: the layers could not be read to the end of the question (the
	// byte budget or the caller's deadline ran out, a layer was unreadable
	// or hostile). Never a guess.
	Unknown State = "unknown"
)

// Kind is what the runtime finds at a path once it has followed symbolic
// links, as containerd does (it resolves the volume path inside the rootfs
// and stats it).
type Kind string

const (
	// KindDirectory: the runtime copies the directory's entries, owner and
	// mode into the anonymous volume.
	KindDirectory Kind = "directory"
	// KindFile: a regular file (or a hard link to one). No volume can be
	// mounted there: containerd fails to create the container (its copy
	// stops at "source is not directory"), Docker fails reading it as a
	// directory, and runc refuses to mount a directory on a file. Mutating
	// does not help; the pod does not start either way.
	KindFile Kind = "file"
	// KindOther: a device node, fifo or socket; the runtimes fail as for
	// KindFile.
	KindOther Kind = "other"
)

// Content is what an image ships at one path, as the union of its layers
// presents it to a container.
type Content struct {
	// Path is the path asked about, absolute and clean ("/var/lib/mysql").
	Path  string
	State State
	// Reason says why the State is Unknown; empty otherwise. Err is the
	// same as an error, for errors.Is: ErrBudgetExhausted, ErrTooLarge,
	// ErrHostileLayer, ErrDigestMismatch, context.DeadlineExceeded, ...
	Reason string
	Err    error

	// Kind is set when the path exists (State Populated or Empty).
	Kind Kind
	// LinkTarget is set when the path itself is a symbolic link: the link
	// as stored in the layer. The runtime follows it (containerd resolves
	// it inside the rootfs, runc mounts the volume on the target), so the
	// rest of Content describes ResolvedPath.
	LinkTarget string
	// ResolvedPath is where the path leads after following symbolic links
	// in it or in a parent directory, when that differs from Path.
	ResolvedPath string

	// Entries counts files, directories and links beneath the path, not the
	// path itself. A hard link counts as an entry of 0 bytes.
	Entries int64
	// Bytes is the sum of the sizes of the regular files beneath the path
	// (of the file itself for KindFile).
	Bytes int64

	// UID, GID and Mode are those of the path itself when it exists. Mode
	// holds the permission bits with setuid, setgid and sticky (07777).
	UID, GID int64
	Mode     uint32
	// Implicit: no layer has an entry for the directory itself, only for
	// things beneath it; the runtime's unpacker creates it 0755 root:root,
	// which UID, GID and Mode then say.
	Implicit bool
}

// Exists reports whether the path exists in the image: UID, GID, Mode and
// Kind are meaningful only then.
func (c Content) Exists() bool {
	return c.State == Populated || c.State == Empty
}

// OctalMode renders Mode as the contract does: "0750", "1777", "4755".
func (c Content) OctalMode() string {
	return fmt.Sprintf("%04o", c.Mode&0o7777)
}

// jsonContent is the contract's "content" object: state, entries, bytes,
// and uid, gid and mode of the directory when it exists; the other fields
// are additions, omitted when empty.
type jsonContent struct {
	State        State  `json:"state"`
	Entries      int64  `json:"entries"`
	Bytes        int64  `json:"bytes"`
	UID          *int64 `json:"uid,omitempty"`
	GID          *int64 `json:"gid,omitempty"`
	Mode         string `json:"mode,omitempty"`
	Kind         Kind   `json:"kind,omitempty"`
	LinkTarget   string `json:"linkTarget,omitempty"`
	ResolvedPath string `json:"resolvedPath,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// MarshalJSON writes the contract's "content" object. Path is left out:
// the finding that carries the content names it.
func (c Content) MarshalJSON() ([]byte, error) {
	j := jsonContent{
		State: c.State, Entries: c.Entries, Bytes: c.Bytes,
		Kind: c.Kind, LinkTarget: c.LinkTarget, ResolvedPath: c.ResolvedPath, Reason: c.Reason,
	}
	if c.Exists() {
		uid, gid := c.UID, c.GID
		j.UID, j.GID, j.Mode = &uid, &gid, c.OctalMode()
	}
	return json.Marshal(j)
}
