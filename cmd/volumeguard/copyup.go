package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/volumeguard/volumeguard/copyup"
	"github.com/volumeguard/volumeguard/policy"
)

func newCopyUpCommand(s streams) *cobra.Command {
	var install string
	cmd := &cobra.Command{
		Use:   "copy-up SRC DST [SRC DST...] | copy-up --install DIR",
		Short: "Copy what an image ships at VOLUME paths into emptyDirs, as the runtime would (mutate's copy policy)",
		Long: `copy-up copies each SRC directory into the empty directory DST as the container
runtime copies an image's content into an anonymous volume: contents, modes,
symbolic links, and owners where permitted. It never writes outside DST nor
follows a link out of SRC. It prints one line per pair to stderr.

--install DIR copies this binary to DIR/volumeguard (mode 0555): mutate's
install init container runs it from volumeguard's image into a shared emptyDir.`,
		Example: "  volumeguard copy-up /var/lib/app /volumeguard-copy/0\n  volumeguard copy-up --install /volumeguard-tools",
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case install != "" && len(args) > 0:
				return errors.New("--install takes no SRC DST pairs")
			case install == "" && (len(args) == 0 || len(args)%2 != 0):
				return fmt.Errorf("want SRC DST pairs, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if install != "" {
				return installSelf(install)
			}
			for i := 0; i < len(args); i += 2 {
				src, dst := args[i], args[i+1]
				stats, err := copyup.Copy(cmd.Context(), src, dst)
				if err != nil {
					return fmt.Errorf("copying %s to %s: %w", src, dst, err)
				}
				fmt.Fprintln(s.err, copySummary(src, dst, stats))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&install, "install", "", "copy this binary to `DIR`/volumeguard and exit")
	return cmd
}

// installSelf copies the running binary to dir/volumeguard, through a
// temporary file renamed into place, so that an init container run again
// (its pod's sandbox recreated) replaces it whole.
func installSelf(dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary: %w", err)
	}
	in, err := os.Open(exe)
	if err != nil {
		return fmt.Errorf("opening %s: %w", exe, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".volumeguard-*")
	if err != nil {
		return fmt.Errorf("installing into %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o555)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, "volumeguard"))
	}
	if err != nil {
		return fmt.Errorf("installing into %s: %w", dir, err)
	}
	return nil
}

// copySummary is one line: what was copied, and what could not be kept as
// the image has it.
func copySummary(src, dst string, st copyup.Stats) string {
	head := "copy-up " + policy.QuotePath(src) + " -> " + policy.QuotePath(dst) + ": "
	switch {
	case st.AlreadyCopied:
		return head + "already copied, nothing done"
	case st.SourceMissing:
		return head + "no such source, nothing to copy"
	}
	parts := []string{fmt.Sprintf("%d directories, %d files, %d symlinks, %d hard links, %d fifos and sockets, %s",
		st.Directories, st.Files, st.Symlinks, st.Hardlinks, st.Specials, policy.HumanBytes(st.Bytes))}
	for _, c := range []struct {
		n    int
		what string
	}{
		{st.OwnersNotKept, "owners not kept"}, {st.ModesNotKept, "modes not kept"}, {st.Unreadable, "unreadable"},
		{st.DevicesSkipped, "devices not made"}, {st.MountPoints, "mount points left empty"},
		{st.TimesNotKept, "times not kept"}, {st.XattrsNotKept, "xattrs not kept"},
	} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", c.what, c.n))
		}
	}
	if st.Resumed {
		parts = append(parts, "a copy cut short was redone")
	}
	if st.Unmarked {
		parts = append(parts, "no marker kept (a second run will refuse this destination)")
	}
	if len(st.Notes) > 0 {
		notes := make([]string, len(st.Notes))
		for i, n := range st.Notes {
			notes[i] = printable(n)
		}
		parts = append(parts, "notes: "+strings.Join(notes, "; "))
	}
	return head + strings.Join(parts, "; ")
}

// printable keeps a note on one line: names come from the image.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
