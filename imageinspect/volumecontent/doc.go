// Package volumecontent tells what a container image ships under a path
// (its VOLUME paths, in practice), reading only the tar headers of its
// layers: whether the path is populated, empty or absent, how many entries
// and bytes lie beneath it, and its owner and mode. That is what containerd
// and Docker copy into the anonymous volume they create there, and what an
// emptyDir mounted at the path would hide.
//
// It knows nothing of pods or registries: a Layer is a digest, a size and a
// function opening its compressed stream.
//
// Layers are read from the top down, and only until every path is decided:
// a layer that whites the path out, makes it opaque, replaces it or a parent
// with a non-directory ends the walk. Each layer is streamed once, its
// contents discarded, its bytes hashed against its digest.
//
// What a read keeps. A layer's table of contents (name, type, size, owner,
// mode and link of every entry, ~100 bytes each) is kept by digest in a
// bounded cache, so a base layer shared by many images is read once and then
// answers any path for any of them. Keeping only the counts beneath the
// paths asked so far would be smaller, but the next image asking another
// path of the same base layer would stream it again, and counts cannot be
// merged across layers (an upper layer's whiteout or a file present in two
// layers needs the names). So the whole table is kept while it stays under a
// bound (8 MiB, ~80,000 entries); a larger layer keeps only the entries at,
// above and beneath the paths it was read for, and is read again when asked
// about other paths.
//
// Limits. A Scan reads at most a byte budget of compressed bytes and a cap of
// tar bytes, within the caller's ctx; when any runs out, or a layer is
// unreadable or hostile (a name escaping the root, an unknown entry type),
// the undecided paths are Unknown with the reason: never a guess.
//
// Symbolic links are followed as the runtime follows them: containerd
// resolves the volume path inside the rootfs and copies what the link leads
// to, and runc mounts the volume on the target. A regular file at the path
// makes every runtime fail the container (Content.Kind says so).
//
// Known limits: hard links count as entries of 0 bytes; an upper layer
// writing beneath a name that a lower layer makes a symbolic link (which the
// unpacker would write through the link) is reported Unknown when it
// concerns the path's parents, and not detected elsewhere; extended
// attributes (file capabilities) are not read.
package volumecontent
