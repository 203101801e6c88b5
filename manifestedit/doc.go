// Package manifestedit adds emptyDir volumes and their volumeMounts to the
// pod specs of Kubernetes manifests as they are written. It edits the bytes
// at the positions of the nodes instead of serialising the objects again,
// so comments, key order, quoting, spacing, line endings, anchors and flow
// style stay as they were, and so does every byte it does not add.
//
// New block lines follow the indentation of the document (how far its lists
// sit under their keys, how far nested mappings are indented); flow
// collections get flow entries, on their own lines when the collection
// spans lines; JSON gets JSON, indented like its neighbours. Every edit is
// checked by parsing the result: when the edited document would mean
// anything but the original plus the additions (an anchor shared with
// another object, a merge key, a construct the editor misjudged), Edit
// refuses with a *NotEditableError and the caller shows the change instead.
//
// The package knows nothing of images or policy: it is told what to add.
package manifestedit
