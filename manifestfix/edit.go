package manifestfix

import (
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/manifestedit"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/settings"
	"github.com/volumeguard/volumeguard/workload"
)

// fileFixer fixes one file: it collects the mounts each document needs,
// then edits the documents.
type fileFixer struct {
	file         File
	defaultLimit resource.Quantity
	docs         []*docEdits
	errors       []Problem
	notes        []string
}

// docEdits are the pod spec edits of one document.
type docEdits struct {
	at       workload.ByteRange
	template string
	specs    []specEdit
}

// specEdit is what one pod spec needs.
type specEdit struct {
	object Object
	at     workload.Position
	edit   manifestedit.SpecEdit
	added  []Added
}

// object covers the findings of one object's pod specs, as mode mutate
// would.
func (f *fileFixer) object(o workload.Object, results []analysis.Result) {
	obj := objectOf(o)
	for j, ps := range o.PodSpecs {
		res := results[j]
		for _, ie := range res.Errors {
			f.errors = append(f.errors, Problem{
				File: o.File, At: ps.ImagePosition(ie.ContainerType, ie.Container), Object: describe(obj),
				Message: fmt.Sprintf("%s %q, image %q: %v", ie.ContainerType, ie.Container, ie.Image, ie.Err),
			})
		}
		if len(res.Errors) == 0 { // with an image unread, an ignored path may be its
			if note := settings.UnusedIgnoresNote(settings.UnusedIgnores(res.Ignored, ps.ObjectAnnotations, ps.Annotations)); note != "" {
				f.notes = append(f.notes, fmt.Sprintf("%s: %s: %s", where(o.File, ps.Position), describe(obj), note))
			}
		}
		if len(res.Findings) == 0 {
			continue
		}
		limit, note := policy.SizeLimitFor(f.defaultLimit, ps.Annotations)
		if note != "" {
			f.notes = append(f.notes, fmt.Sprintf("%s: %s: %s", where(o.File, ps.Position), describe(obj), note))
		}
		m := policy.Mutate(ps.Spec.DeepCopy(), res.Findings, limit)
		// A path the image ships files under (or whose content is not
		// known) is left as it is: an emptyDir would start empty and hide
		// them. The note says what it holds and how to cover it.
		for _, sk := range m.Skipped {
			at := ps.ImagePosition(sk.Finding.ContainerType, sk.Finding.Container)
			f.file.Left = append(f.file.Left, Left{Object: obj, At: at, Skipped: sk})
			f.notes = append(f.notes, fmt.Sprintf("%s: %s: %s %q: left VOLUME %s as it is: %s", where(o.File, ps.Position), describe(obj),
				sk.Finding.ContainerType, sk.Finding.Container, policy.QuotePath(sk.Finding.Path), sk.Reason))
		}
		for _, u := range m.Unfixable {
			at := ps.ImagePosition(u.Finding.ContainerType, u.Finding.Container)
			f.file.Unfixable = append(f.file.Unfixable, Unfixable{Object: obj, At: at, Unfixable: u})
		}
		if len(m.Added) == 0 {
			continue
		}
		se := specEdit{object: obj, at: ps.Position, edit: manifestedit.SpecEdit{ObjectPath: o.Path, SpecPath: ps.Path}}
		for _, a := range m.Added {
			se.edit.Mounts = append(se.edit.Mounts, manifestedit.Mount{
				List: listOf(a.Finding.ContainerType), Container: a.Finding.Container,
				VolumeName: a.VolumeName, MountPath: a.MountPath, SizeLimit: limit.String(),
			})
			at := ps.ImagePosition(a.Finding.ContainerType, a.Finding.Container)
			se.added = append(se.added, Added{Object: obj, At: at, Added: a, SizeLimit: limit})
		}
		d := f.document(o.DocumentRange, o.Template)
		d.specs = append(d.specs, se)
	}
}

// document is the edits of the document at r, made when first needed.
func (f *fileFixer) document(r workload.ByteRange, template string) *docEdits {
	for _, d := range f.docs {
		if d.at == r {
			return d
		}
	}
	d := &docEdits{at: r, template: template}
	f.docs = append(f.docs, d)
	return d
}

// edit makes the file's edits, document by document; the bytes between
// documents are kept as they are.
func (f *fileFixer) edit() {
	if len(f.docs) == 0 {
		return
	}
	slices.SortFunc(f.docs, func(a, b *docEdits) int { return int(a.at.Start - b.at.Start) })
	orig := f.file.Original
	var out []byte
	var at int64
	for _, d := range f.docs {
		if d.at.Start < at || d.at.End > int64(len(orig)) {
			continue // cannot happen: documents do not overlap
		}
		out = append(out, orig[at:d.at.Start]...)
		out = append(out, f.editDocument(d, orig[d.at.Start:d.at.End])...)
		at = d.at.End
	}
	out = append(out, orig[at:]...)
	if len(f.file.Added) > 0 {
		f.file.Fixed = out
	}
}

// editDocument edits one document, all its pod specs at once, else one by
// one, so that one pod spec that cannot be edited in place (a List item
// reached through an alias) does not hold back the others.
func (f *fileFixer) editDocument(d *docEdits, data []byte) []byte {
	if d.template != "" {
		for _, se := range d.specs {
			f.suggest(se, "rendered by Helm from "+d.template+", which is where the fix belongs")
		}
		return data
	}
	all := make([]manifestedit.SpecEdit, len(d.specs))
	for i, se := range d.specs {
		all[i] = se.edit
	}
	if out, _, err := manifestedit.Edit(data, all); err == nil {
		for _, se := range d.specs {
			f.file.Added = append(f.file.Added, se.added...)
		}
		return out
	}
	for _, se := range d.specs {
		out, _, err := manifestedit.Edit(data, []manifestedit.SpecEdit{se.edit})
		if err != nil {
			f.suggest(se, reason(err))
			continue
		}
		data = out
		f.file.Added = append(f.file.Added, se.added...)
	}
	return data
}

func (f *fileFixer) suggest(se specEdit, why string) {
	f.file.Suggestions = append(f.file.Suggestions, Suggestion{
		Object: se.object, At: se.at, Reason: why, Mounts: se.edit.Mounts,
		YAML: manifestedit.Suggestion(se.edit.Mounts),
	})
}

func reason(err error) string {
	var ne *manifestedit.NotEditableError
	if errors.As(err, &ne) {
		return "it cannot be edited in place: " + ne.Reason
	}
	return err.Error()
}
