package manifestedit

import "strings"

// Suggestion is the YAML to add by hand for mounts, where Edit cannot (a
// Helm template, a document it refused): the pod spec's volumes, then each
// container's volumeMounts, in kubectl's indentation, with comments saying
// where each part goes.
func Suggestion(mounts []Mount) string {
	d := &document{style: style{seq: 0, item: 2, mapping: 2, eol: "\n"}}
	var b strings.Builder
	b.WriteString("# in the pod spec, add to volumes:\nvolumes:\n")
	volumes := make([]entry, len(mounts))
	for i, m := range mounts {
		volumes[i] = volumeEntry(m)
	}
	b.WriteString(d.blockItems(volumes, 0, 2, "\n"))
	type key struct{ list, name string }
	var order []key
	byContainer := map[key][]entry{}
	for _, m := range mounts {
		k := key{m.List, m.Container}
		if _, ok := byContainer[k]; !ok {
			order = append(order, k)
		}
		byContainer[k] = append(byContainer[k], mountEntry(m))
	}
	for _, k := range order {
		b.WriteString("# in " + k.list + ", to the container named " + jsonString(k.name) + ", add to volumeMounts:\nvolumeMounts:\n")
		b.WriteString(d.blockItems(byContainer[k], 0, 2, "\n"))
	}
	return b.String()
}
