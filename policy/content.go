package policy

import (
	"encoding/json"
	"fmt"
)

// ContentState says what an image ships under a declared VOLUME path. The
// values are the contract's "state" and those of imageinspect/volumecontent.
type ContentState string

const (
	// ContentPopulated: entries exist beneath the path (or the path is a
	// file: see ContentKind). The runtime copies them into the anonymous
	// volume; an emptyDir would start empty and hide them.
	ContentPopulated ContentState = "populated"
	// ContentEmpty: the path is a directory with nothing beneath it.
	ContentEmpty ContentState = "empty"
	// ContentAbsent: no such path in the image.
	ContentAbsent ContentState = "absent"
	// ContentUnknown: the layers were not read to the end (budget, deadline,
	// an unreadable or hostile layer). Never a guess.
	ContentUnknown ContentState = "unknown"
)

// ContentKind is what the runtime finds at the path once it has followed
// symbolic links.
type ContentKind string

const (
	KindDirectory ContentKind = "directory"
	// KindFile and KindOther (a device, fifo or socket): no runtime can
	// mount a volume there, so the container never starts, with or without
	// an emptyDir.
	KindFile  ContentKind = "file"
	KindOther ContentKind = "other"
)

// Content is what an image ships at one declared VOLUME path: the facts the
// caller reads from the image's layers (imageinspect/volumecontent) and
// hands to Findings through PlatformVolumes.Content.
type Content struct {
	State ContentState
	// Entries counts files, directories and links beneath the path, not the
	// path itself; Bytes sums the sizes of the regular files.
	Entries, Bytes int64
	// UID, GID and Mode (permission bits with setuid, setgid and sticky:
	// 07777) are those of the path itself, meaningful when Exists.
	UID, GID int64
	Mode     uint32
	// Kind is set when the path exists; "" reads as KindDirectory.
	Kind ContentKind
	// Reason says why the State is ContentUnknown.
	Reason string
}

// Exists reports whether the path exists in the image.
func (c Content) Exists() bool {
	return c.State == ContentPopulated || c.State == ContentEmpty
}

// NotDirectory reports whether the path exists and is not a directory: no
// runtime can create the container then, whatever the pod mounts.
func (c Content) NotDirectory() bool {
	return c.Exists() && c.Kind != "" && c.Kind != KindDirectory
}

// OctalMode renders Mode as the contract does: "0750", "1777", "4755".
func (c Content) OctalMode() string {
	return fmt.Sprintf("%04o", c.Mode&0o7777)
}

// Summary says in words what the image ships at the path, to follow "the
// image": "ships 3 files, 1.1 KiB". Like ls, it calls every entry a file:
// directories and links count too.
func (c Content) Summary() string {
	switch {
	case c.NotDirectory() && c.Kind == KindFile:
		return "has a regular file there, not a directory"
	case c.NotDirectory():
		return "has a device, fifo or socket there, not a directory"
	case c.State == ContentPopulated:
		return "ships " + c.Files() + ", " + HumanBytes(c.Bytes)
	case c.State == ContentEmpty:
		return fmt.Sprintf("ships an empty directory there (mode %s, owner %d:%d)", c.OctalMode(), c.UID, c.GID)
	case c.State == ContentAbsent:
		return "ships nothing there"
	}
	return "ships something not known yet"
}

// shipsWhat is Summary for a clause that names the place itself ("where
// the image ships nothing"), for the states Finding.Problem words so.
func (c Content) shipsWhat() string {
	switch c.State {
	case ContentEmpty:
		return fmt.Sprintf("ships an empty directory (mode %s, owner %d:%d)", c.OctalMode(), c.UID, c.GID)
	case ContentAbsent:
		return "ships nothing"
	}
	return c.Summary()
}

// Files is Entries in words: "1 file", "3 files".
func (c Content) Files() string {
	if c.Entries == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", c.Entries)
}

// HumanBytes renders n in binary units with one decimal: "512 B", "1.1 KiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// jsonContent is the contract's "content" object: state, entries, bytes,
// and uid, gid and mode of the directory when it exists; kind and reason
// are additions, omitted when they say nothing new.
type jsonContent struct {
	State   ContentState `json:"state"`
	Entries int64        `json:"entries"`
	Bytes   int64        `json:"bytes"`
	UID     *int64       `json:"uid,omitempty"`
	GID     *int64       `json:"gid,omitempty"`
	Mode    string       `json:"mode,omitempty"`
	Kind    ContentKind  `json:"kind,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// MarshalJSON writes the contract's "content" object, so that check and
// audit can carry a *Content as it is.
func (c Content) MarshalJSON() ([]byte, error) {
	j := jsonContent{State: c.State, Entries: c.Entries, Bytes: c.Bytes, Reason: c.Reason}
	if c.Exists() {
		uid, gid := c.UID, c.GID
		j.UID, j.GID, j.Mode = &uid, &gid, c.OctalMode()
		if c.NotDirectory() {
			j.Kind = c.Kind
		}
	}
	return json.Marshal(j)
}

// mergeContent folds what the considered platforms of an image ship at one
// path into the one answer a finding carries, erring toward what an emptyDir
// could break:
//   - a non-directory on any platform wins (the container cannot start
//     there);
//   - else populated on any platform wins, with the facts of the platform
//     shipping the most entries (the first of equals, in platform order);
//   - else unknown if any platform is unknown (the first one's reason);
//   - else empty if any is empty, else absent.
//
// So mutate never puts an empty emptyDir over content that some platform
// the pod may run on ships.
func mergeContent(cs []Content) Content {
	best := -1
	rank := func(c Content) int {
		switch {
		case c.NotDirectory():
			return 4
		case c.State == ContentPopulated:
			return 3
		case c.State == ContentEmpty:
			return 1
		case c.State == ContentAbsent:
			return 0
		}
		return 2 // unknown, or a state this build does not know
	}
	for i, c := range cs {
		switch {
		case best < 0 || rank(c) > rank(cs[best]):
			best = i
		case rank(c) == 3 && rank(cs[best]) == 3 && c.Entries > cs[best].Entries:
			best = i
		}
	}
	if best < 0 {
		return Content{State: ContentUnknown, Reason: "no platform was scanned"}
	}
	return cs[best]
}
