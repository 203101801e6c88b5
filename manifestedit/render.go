package manifestedit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// field is one key of a mapping to write: its value is a string or a
// mapping ([]field). Mappings keep their keys in the order written.
type field struct {
	key   string
	value any
}

// entry is one list item to write: a mapping.
type entry = []field

func volumeEntry(m Mount) entry {
	return entry{{"name", m.VolumeName}, {"emptyDir", []field{{"sizeLimit", m.SizeLimit}}}}
}

func mountEntry(m Mount) entry {
	return entry{{"name", m.VolumeName}, {"mountPath", m.MountPath}}
}

// blockItems writes items as a block sequence whose dashes sit dash
// columns in, each item item columns right of its dash, one line ending in
// eol per line.
func (d *document) blockItems(items []entry, dash, item int, eol string) string {
	var b strings.Builder
	for _, it := range items {
		first := strings.Repeat(" ", dash) + "-" + strings.Repeat(" ", item-1)
		d.blockFields(&b, it, first, dash+item, eol)
	}
	return b.String()
}

// blockFields writes a block mapping whose keys sit indent columns in; the
// first line starts with first instead of the indentation.
func (d *document) blockFields(b *strings.Builder, fields []field, first string, indent int, eol string) {
	for i, f := range fields {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(f.key + ":")
		switch v := f.value.(type) {
		case string:
			b.WriteString(" " + yamlScalar(v) + eol)
		case []field:
			b.WriteString(eol)
			d.blockFields(b, v, strings.Repeat(" ", indent+d.style.mapping), indent+d.style.mapping, eol)
		}
	}
}

// flowValue writes one mapping as a flow or JSON entry. A JSON entry in a
// collection that spans lines (step is set) is indented as json.MarshalIndent
// would, its lines after the first starting with indent.
func (d *document) flowValue(fields []field, indent, step string) string {
	var b strings.Builder
	switch {
	case d.json && step != "":
		d.jsonIndented(&b, fields, indent, step)
	case d.json:
		b.WriteString("{")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(d.comma())
			}
			b.WriteString(jsonString(f.key) + d.colon())
			if v, ok := f.value.(string); ok {
				b.WriteString(jsonString(v))
			} else {
				b.WriteString(d.flowValue(f.value.([]field), "", ""))
			}
		}
		b.WriteString("}")
	default:
		b.WriteString("{")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.key + ": ")
			if v, ok := f.value.(string); ok {
				b.WriteString(yamlScalar(v))
			} else {
				b.WriteString(d.flowValue(f.value.([]field), "", ""))
			}
		}
		b.WriteString("}")
	}
	return b.String()
}

func (d *document) jsonIndented(b *strings.Builder, fields []field, indent, step string) {
	eol := d.style.eol
	b.WriteString("{" + eol)
	for i, f := range fields {
		b.WriteString(indent + step + jsonString(f.key) + d.colon())
		if v, ok := f.value.(string); ok {
			b.WriteString(jsonString(v))
		} else {
			d.jsonIndented(b, f.value.([]field), indent+step, step)
		}
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString(eol)
	}
	b.WriteString(indent + "}")
}

// flowList writes items as a flow or JSON list, indented as flowValue.
func (d *document) flowList(items []entry, indent, step string) string {
	if d.json && step != "" {
		eol := d.style.eol
		var b strings.Builder
		b.WriteString("[" + eol)
		for i, it := range items {
			b.WriteString(indent + step)
			d.jsonIndented(&b, it, indent+step, step)
			if i < len(items)-1 {
				b.WriteString(",")
			}
			b.WriteString(eol)
		}
		b.WriteString(indent + "]")
		return b.String()
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = d.flowValue(it, "", "")
	}
	return "[" + strings.Join(texts, d.comma()) + "]"
}

func (d *document) key(k string) string {
	if d.json {
		return jsonString(k)
	}
	return k
}

func (d *document) colon() string {
	if d.json && !d.style.jsonSpaced {
		return ":"
	}
	return ": "
}

func (d *document) comma() string {
	if d.json && !d.style.jsonSpaced {
		return ","
	}
	return ", "
}

// plainSafe matches what is written plain: volume names, absolute paths
// and quantities of letters, digits and a few punctuation marks, which
// YAML 1.1 and 1.2 both read as the same string. The rest is quoted.
var (
	plainSafe = regexp.MustCompile(`^(/[A-Za-z0-9._/@+=-]*|[a-z][a-z0-9-]*|[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m))$`)
	// YAML 1.1 reads these as booleans or null.
	yamlWords = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true, "null": true}
)

func yamlScalar(s string) string {
	if plainSafe.MatchString(s) && !yamlWords[s] {
		return s
	}
	return jsonString(s)
}

// jsonString is s as a JSON string, which YAML reads as the same
// double-quoted string. HTML characters stay as they are.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
