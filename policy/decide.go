package policy

import (
	"path"
)

// action is how Mutate covers one finding.
type action int

const (
	actPlain action = iota // an emptyDir, starting empty
	actCopy                // an emptyDir filled by a copy init container
	actSkip                // left to the runtime: a Skipped entry
	actDeny                // a Denied entry
)

// decide picks the action for a fixable finding from what the image ships
// at its path, and the reason for a skip or a denial.
func (o options) decide(f Finding) (action, string) {
	c := f.Content
	if c == nil {
		// Not scanned: the caller chose not to know, as before content
		// scanning existed.
		return actPlain, ""
	}
	switch c.State {
	case ContentEmpty, ContentAbsent:
		return actPlain, ""
	case ContentPopulated:
		switch o.populated {
		case PopulatedDeny:
			return actDeny, f.deniedReason()
		case PopulatedCopy:
			switch {
			case o.copierImage == "":
				return actSkip, f.skippedReason("populated-volumes=copy needs volumeguard's copier image, and none is configured")
			case copierOwns(path.Clean(f.Path)):
				return actSkip, f.skippedReason("the path lies where volumeguard's copier mounts its own volumes (" + CopierToolsDir + ", " + CopierStagingDir + ")")
			}
			return actCopy, ""
		}
		return actSkip, f.skippedReason("")
	}
	if o.unknown == UnknownMutate {
		return actPlain, ""
	}
	return actSkip, f.unknownReason()
}

// shipsAt is "the image ships 3 files, 1.1 KiB at /opt/app/data".
func (f Finding) shipsAt() string {
	return "the image " + f.Content.Summary() + " at " + QuotePath(path.Clean(f.Path))
}

// Hides says what an emptyDir at a populated path would do, for texts
// that offer one: "an emptyDir at /p starts empty and would hide the 3
// files (1.1 KiB) the image ships there"; "" unless the path is populated.
func (f Finding) Hides() string {
	if f.Content == nil || f.Content.State != ContentPopulated || f.Content.NotDirectory() {
		return ""
	}
	return "an emptyDir at " + QuotePath(path.Clean(f.Path)) + " starts empty and would hide the " + f.Content.Files() +
		" (" + HumanBytes(f.Content.Bytes) + ") the image ships there"
}

// copyAlternative is the fix for a populated path, in words.
func (f Finding) copyAlternative() string {
	return "mount a volume that holds them at " + QuotePath(path.Clean(f.Path)) +
		", or have volumeguard copy them into an emptyDir before the container starts (annotation volumeguard.io/populated-volumes=copy, in mode mutate)"
}

// skippedReason: why a populated path was left to the runtime.
func (f Finding) skippedReason(why string) string {
	s := f.shipsAt() + ": an emptyDir starts empty and would hide them, so volumeguard left this path to the runtime's anonymous volume"
	if why != "" {
		return s + " (" + why + ")"
	}
	return s + "; to cover it, " + f.copyAlternative()
}

// unknownReason: why a path of unknown content was left to the runtime.
func (f Finding) unknownReason() string {
	// Said alike by the webhook and fix: the reason says why it is not
	// known (a scan still running in the background, a budget, an error).
	s := "what the image ships at " + QuotePath(path.Clean(f.Path)) + " is not known"
	if f.Content.Reason != "" {
		s += " (" + f.Content.Reason + ")"
	}
	return s + ": an emptyDir would hide whatever it ships, so volumeguard left this path to the runtime's anonymous volume"
}

// deniedReason: why PopulatedDeny refuses the pod, and the fixes.
func (f Finding) deniedReason() string {
	return f.shipsAt() + ", and populated-volumes=deny refuses a pod that leaves such a path to the runtime's anonymous volume: " +
		f.Hides() + "; fix: " + f.copyAlternative()
}
