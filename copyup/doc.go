// Package copyup copies what an image ships at a VOLUME path into the
// emptyDir that mutate mounts there, before the application starts, so that
// the container sees what the runtime's own copy into an anonymous volume
// would have shown it (containerd: copyExistingContents -> continuity
// fs.CopyDir; Docker: populateVolume).
//
// What is copied, as containerd copies it: directories, regular files with
// their contents (holes kept), symbolic links as links with their target
// unchanged, hard links as hard links, fifos and sockets; owner (when
// permitted), mode including setuid, setgid and sticky (when permitted),
// access and modification times, and extended attributes but
// security.selinux (when permitted). Directory times are set before their
// entries are made, as containerd sets them, so a directory's modification
// time ends as the time of the copy unless it is empty. Device nodes are not
// made (containerd makes them as root; under PodSecurity restricted there is
// no CAP_MKNOD, and a device node in a writable volume is a privilege the
// pod did not ask for): they are counted and named in Stats.
//
// Safety. Every name is opened or made relative to its parent directory's
// descriptor, one component at a time, never following a symbolic link:
// the copy cannot write outside DST, nor read outside SRC through a link in
// SRC. SRC itself is found as the runtime finds the volume path: symbolic
// links in SRC's own path are followed, inside WithSourceRoot when given.
// Directories on another filesystem beneath SRC (mount points) are made
// empty: what the image holds there is hidden from the copier.
//
// Restarts. containerd copies only into a volume it has just made. An init
// container runs again when its pod's sandbox is recreated, and the emptyDir
// is kept with whatever the application wrote since, so Copy records its
// progress in a marker (an extended attribute on DST, or WithMarkerFile):
// "started" before the first entry, "done" after the last. On a later run,
// "done" means nothing is copied (Stats.AlreadyCopied); "started" means a
// copy was cut short, and since the application starts only after this init
// container succeeds, nothing but that copy wrote there: DST is emptied and
// copied again. A DST that is not empty and has no marker is refused: it
// cannot be told from data Copy must not touch. Where the filesystem keeps no
// marker, a first copy still works, but a second run refuses a non-empty DST.
package copyup
