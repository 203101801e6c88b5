package policy

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// nearIndex finds, for an uncovered path, the mounts of the same container
// strictly inside or strictly above it, in time logarithmic in the mounts
// plus the path's depth and the answer, so that a container with many
// mounts and an image with many VOLUMEs stays linear.
type nearIndex struct {
	mounted map[string]bool
	sorted  []string
}

func newNearIndex(mounted map[string]bool) *nearIndex {
	sorted := make([]string, 0, len(mounted))
	for m := range mounted {
		sorted = append(sorted, m)
	}
	slices.Sort(sorted)
	return &nearIndex{mounted: mounted, sorted: sorted}
}

// around returns the mount targets strictly inside or strictly above p (a
// clean absolute path), sorted.
func (x *nearIndex) around(p string) []string {
	var out []string
	prefix := strings.TrimSuffix(p, "/") + "/"
	for i := sort.SearchStrings(x.sorted, prefix); i < len(x.sorted) && strings.HasPrefix(x.sorted[i], prefix); i++ {
		out = append(out, x.sorted[i])
	}
	for a := p; a != "/"; {
		a = path.Dir(a)
		if x.mounted[a] {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// nearSplit sorts the finding's near mounts into those inside its path and
// those above it.
func (f Finding) nearSplit() (inside, above []string) {
	p := path.Clean(f.Path)
	for _, m := range f.NearMounts {
		if strings.HasPrefix(m, strings.TrimSuffix(p, "/")+"/") {
			inside = append(inside, m)
		} else {
			above = append(above, m)
		}
	}
	return inside, above
}

// NearMiss says in words what the near-miss mounts do not do, and how to
// fix it; "" when the finding has none. For postgres 18 (VOLUME
// /var/lib/postgresql) with a chart's mount at /var/lib/postgresql/data:
// "the volumeMount at /var/lib/postgresql/data lies inside it: what the
// container writes elsewhere under /var/lib/postgresql goes to an anonymous
// volume (lost when the container is recreated); mount at
// /var/lib/postgresql itself".
func (f Finding) NearMiss() string {
	if len(f.NearMounts) == 0 {
		return ""
	}
	p := QuotePath(path.Clean(f.Path))
	inside, above := f.nearSplit()
	var parts []string
	if len(inside) > 0 {
		parts = append(parts, mountsPhrase(inside)+" inside it: what the container writes elsewhere under "+p+
			" goes to an anonymous volume (lost when the container is recreated)")
	}
	if len(above) > 0 {
		parts = append(parts, mountsPhrase(above)+" above it, and the runtime mounts an anonymous volume at "+p+
			" on top: what the container writes under "+p+" goes to that anonymous volume (lost when the container is recreated), not to "+
			theVolumes(above))
	}
	return strings.Join(parts, "; ") + "; mount at " + p + " itself"
}

// mountsPhrase: "the volumeMount at /a lies", "the volumeMounts at /a and /b lie".
func mountsPhrase(paths []string) string {
	quoted := make([]string, len(paths))
	for i, m := range paths {
		quoted[i] = QuotePath(m)
	}
	if len(quoted) == 1 {
		return "the volumeMount at " + quoted[0] + " lies"
	}
	return "the volumeMounts at " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1] + " lie"
}

// theVolumes: "the volume at /var", "the volumes at /a and /b".
func theVolumes(paths []string) string {
	phrase := mountsPhrase(paths)
	phrase = strings.TrimSuffix(strings.TrimSuffix(phrase, " lies"), " lie")
	return strings.Replace(phrase, "volumeMount", "volume", 1)
}
