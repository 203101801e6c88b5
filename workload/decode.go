package workload

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// maxListDepth bounds Lists inside Lists: kubectl never nests them, and the
// bound keeps recursion on hostile input shallow.
const maxListDepth = 8

// Decode reads every document of a multi-document YAML or JSON stream with
// the default options. See Decoder.Decode.
func Decode(file string, r io.Reader) ([]Object, []error) {
	return NewDecoder().Decode(file, r)
}

// FromJSON decodes one object with the default options. See Decoder.FromJSON.
func FromJSON(raw []byte) (Object, error) {
	return NewDecoder().FromJSON(raw)
}

// Decode reads every document of a multi-document YAML or JSON stream (a
// JSON array of objects counts too), expands `List` kinds (kind "List" and
// any kind ending in "List" with an `items` array, e.g. DeploymentList), and
// returns the objects that carry pod specs. Non-workload documents (Service,
// ConfigMap, ...) and empty documents (comments only, `---` alone, null) are
// skipped silently. A document that is not an object (a scalar, a list),
// invalid YAML, an object without kind/apiVersion, or a pod spec with the
// wrong shape gives an *Error and decoding continues with the next document
// where the stream allows it (a JSON syntax error or a read error ends the
// file with an error; the objects before it are kept). Every error is an
// *Error.
func (d *Decoder) Decode(file string, r io.Reader) ([]Object, []error) {
	objs, errs, _ := d.decode(file, r)
	return objs, errs
}

// decode is Decode that also counts the documents that were not empty:
// objects of any kind, and documents that could not be read.
func (d *Decoder) decode(file string, r io.Reader) (objs []Object, errs []error, documents int) {
	return d.decodeSized(file, r, readBufferSize)
}

// decodeSized is decode with a read buffer of bufSize bytes: a stream
// whose length is known needs no more.
func (d *Decoder) decodeSized(file string, r io.Reader, bufSize int) (objs []Object, errs []error, documents int) {
	if r == nil {
		return nil, []error{&Error{File: file, Err: errors.New("reading: no input")}}, 0
	}
	for doc := range d.documents(r, bufSize) {
		if doc.err != nil {
			documents++
			errs = append(errs, &Error{File: file, Document: doc.n, Err: doc.err})
			continue
		}
		v, tree, err := d.parse(doc)
		if err != nil {
			documents++
			errs = append(errs, &Error{File: file, Document: doc.n, Line: errorLine(err, doc), Err: err})
			continue
		}
		if v != nil {
			documents++
		}
		o, e := d.expand(file, doc.n, v, doc.isJSON)
		if len(o) > 0 {
			locateObjects(o, doc, tree)
		}
		for _, err := range e {
			if we, ok := err.(*Error); ok && we.Line == 0 {
				we.Line = doc.lineOffset + 1
			}
		}
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return objs, errs, documents
}

// parse turns a document into JSON values, and returns yaml.v3's tree of
// a YAML document.
func (d *Decoder) parse(doc document) (any, *yaml3.Node, error) {
	if !doc.isJSON {
		return yamlValue(doc.data, doc.lineOffset, aliasExpansionFactor*d.maxDocumentSize())
	}
	var v any
	if err := utiljson.Unmarshal(doc.data, &v); err != nil {
		return nil, nil, fmt.Errorf("decoding JSON: %w", err)
	}
	return v, nil, nil
}

// expand returns the objects with pod specs in one document's value.
func (d *Decoder) expand(file string, n int, v any, isJSON bool) ([]Object, []error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return d.objects(file, n, v, nil, 0)
	case []any:
		if isJSON {
			return d.items(file, n, v, nil, 0)
		}
	}
	return nil, []error{errorf(file, n, "expected an object, got %s", describeValue(jsonKind(v), ""))}
}

// items reads the objects of a List's items or of a JSON array; where is the
// path of the array in its document.
func (d *Decoder) items(file string, n int, items []any, where []string, depth int) ([]Object, []error) {
	var objs []Object
	var errs []error
	for i, item := range items {
		at := append(slices.Clip(where), "["+strconv.Itoa(i)+"]")
		m, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, errorf(file, n, "%s: expected an object, got %s", dotted(at), describeValue(jsonKind(item), "")))
			continue
		}
		o, e := d.objects(file, n, m, at, depth)
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return objs, errs
}

// objects reads one object, at path where of its document, expanding it if
// it is a List.
func (d *Decoder) objects(file string, n int, m map[string]any, where []string, depth int) ([]Object, []error) {
	o, bad := newObject(file, n, m, dotted(where))
	o.Path = where
	if bad != nil {
		return nil, []error{bad}
	}
	if items, isList, err := listItems(m); isList {
		if err != nil {
			return nil, []error{o.errorf("%w", err)}
		}
		if depth >= maxListDepth {
			return nil, []error{o.errorf("Lists nested more than %d deep", maxListDepth)}
		}
		return d.items(file, n, items, append(slices.Clip(where), "items"), depth+1)
	}

	specs, err := Find(m)
	if err != nil {
		return nil, []error{o.errorf("%w", err)}
	}
	if len(specs) == 0 {
		return nil, nil
	}
	o.PodSpecs = specs
	if err := o.readMetadata(m); err != nil {
		return nil, []error{o.errorf("%w", err)}
	}
	return []Object{o}, nil
}

// listItems reports whether m is a List and returns its items: kind "List"
// (items may be missing: an empty List), or a kind ending in "List" with an
// items array.
func listItems(m map[string]any) ([]any, bool, error) {
	kind, _ := m["kind"].(string)
	if !strings.HasSuffix(kind, "List") {
		return nil, false, nil
	}
	raw, present := m["items"]
	items, ok := raw.([]any)
	switch {
	case ok:
		return items, true, nil
	case kind != "List":
		return nil, false, nil
	case !present || raw == nil:
		return nil, true, nil
	}
	return nil, true, fmt.Errorf("items: expected a list, got %s", describeValue(jsonKind(raw), ""))
}

// newObject starts the Object for m, which must name its kind and apiVersion.
func newObject(file string, n int, m map[string]any, where string) (Object, *Error) {
	o := Object{File: file, Document: n}
	o.Kind, _ = m["kind"].(string)
	o.APIVersion, _ = m["apiVersion"].(string)
	if meta, ok := m["metadata"].(map[string]any); ok {
		o.Name, _ = meta["name"].(string)
		if o.Name == "" {
			o.Name, _ = meta["generateName"].(string)
		}
	}
	for _, f := range []struct{ key, value string }{{"kind", o.Kind}, {"apiVersion", o.APIVersion}} {
		if f.value != "" {
			continue
		}
		msg := "missing " + f.key
		if v, ok := m[f.key]; ok && v != nil {
			msg = fmt.Sprintf("%s: expected a string, got %s", f.key, describeValue(jsonKind(v), ""))
		}
		if where != "" {
			msg = where + ": " + msg
		}
		return o, o.errorf("%s", msg)
	}
	return o, nil
}

// readMetadata reads the namespace and name of m, the object as decoded,
// checking their types: the object is reported under them.
func (o *Object) readMetadata(m map[string]any) error {
	raw, ok := m["metadata"]
	if !ok || raw == nil {
		return nil
	}
	var meta struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
		Namespace    string `json:"namespace"`
	}
	if err := decodeInto([]string{"metadata"}, raw, &meta); err != nil {
		return err
	}
	o.Namespace, o.Name = meta.Namespace, meta.Name
	if o.Name == "" {
		o.Name = meta.GenerateName
	}
	return nil
}

// errorf builds an *Error about the object.
func (o *Object) errorf(format string, args ...any) *Error {
	return &Error{File: o.File, Document: o.Document, Kind: o.Kind, Name: o.Name, Err: fmt.Errorf(format, args...)}
}

// FromJSON decodes one object (e.g. an AdmissionReview's request.object) and
// finds its pod specs. The Object has no pod specs when the kind carries
// none. Unlike Decode it does not require kind and apiVersion: the webhook
// knows them from the request. The error is an *Error.
func (d *Decoder) FromJSON(raw []byte) (Object, error) {
	if max := d.maxDocumentSize(); int64(len(raw)) > max {
		return Object{}, &Error{Err: fmt.Errorf("%w: more than %d bytes", ErrDocumentTooLarge, max)}
	}
	var v any
	if err := utiljson.Unmarshal(raw, &v); err != nil {
		return Object{}, &Error{Err: fmt.Errorf("decoding JSON: %w", err)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Object{}, &Error{Err: fmt.Errorf("expected an object, got %s", describeValue(jsonKind(v), ""))}
	}
	o, _ := newObject("", 0, m, "")
	specs, err := Find(m)
	if err != nil {
		return Object{}, o.errorf("%w", err)
	}
	o.PodSpecs = specs
	if err := o.readMetadata(m); err != nil {
		return Object{}, o.errorf("%w", err)
	}
	return o, nil
}
