package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckOutputFile: one run writes -o to stdout and each --output-file
// to its path, the same report as a run with that -o would print.
func TestCheckOutputFile(t *testing.T) {
	ref := pushPostgres18(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pod.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers: [{name: db, image: " + ref + "}]\n"
	if err := os.WriteFile(manifest, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
		root.SetArgs(append(append([]string{"check", "--no-cache", "--path-root", dir}, args...), manifest))
		err := root.ExecuteContext(context.Background())
		var exit exitError
		switch {
		case err == nil:
			return out.String(), 0
		case errors.As(err, &exit):
			return out.String(), exit.code
		}
		t.Fatalf("check %v: %v\n%s", args, err, errOut.String())
		return "", 0
	}
	want := map[string]string{}
	for _, format := range []string{"sarif", "json", "gitlab", "text"} {
		out, code := run("-o", format)
		if code != 1 {
			t.Fatalf("-o %s: exit %d, want 1 (findings)", format, code)
		}
		want[format] = out
	}

	sarif, gitlab := filepath.Join(dir, "vg.sarif"), filepath.Join(dir, "gl-code-quality.json")
	if err := os.WriteFile(sarif, []byte("an older log"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run("-o", "json", "--output-file", "sarif="+sarif, "--output-file", "gitlab="+gitlab)
	if code != 1 || out != want["json"] {
		t.Errorf("stdout (exit %d) is not -o json's:\n%s", code, out)
	}
	for path, format := range map[string]string{sarif: "sarif", gitlab: "gitlab"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want[format] {
			t.Errorf("%s is not what -o %s prints:\n%s", path, format, got)
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", path, info.Mode(), err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestCheckOutputFileBadUsage: every bad --output-file is named, exit 2,
// before any registry request and without touching a file.
func TestCheckOutputFileBadUsage(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "svc.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec, wantErr string
	}{
		{"volumeguard.sarif", `want FORMAT=PATH`},
		{"sarif=", `want FORMAT=PATH`},
		{"github=annotations.txt", `use -o github`},
		{"yaml=x.yaml", `FORMAT must be text, json, sarif or gitlab`},
		{"json=-", `stdout is -o's`},
		{"sarif=" + dir, `is a directory`},
		{"sarif=" + filepath.Join(dir, "missing", "x.sarif"), `--output-file`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := runCommand(t, "check", "--no-cache", "--output-file", tt.spec, manifest)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one with %q", err, tt.wantErr)
			}
		})
	}
	abs, err := filepath.Abs("a.sarif")
	if err != nil {
		t.Fatal(err)
	}
	real, link := filepath.Join(dir, "vg.sarif"), filepath.Join(dir, "link.sarif")
	if err := os.WriteFile(real, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"a.sarif", "./a.sarif"}, {"a.sarif", abs}, {real, link}} {
		_, err := runCommand(t, "check", "--no-cache", "--output-file", "sarif="+pair[0], "--output-file", "json="+pair[1], manifest)
		if err == nil || !strings.Contains(err.Error(), "named twice") {
			t.Errorf("%s and %s: err = %v, want the same path named twice", pair[0], pair[1], err)
		}
	}
}

// TestReportFileReplacesOnlyWhenComplete: an interrupted or failed run
// leaves the file as it was, and no temporary file.
func TestReportFileReplacesOnlyWhenComplete(t *testing.T) {
	for _, complete := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "vg.sarif")
		if err := os.WriteFile(path, []byte("before"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := createReportFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("half a rep"); err != nil {
			t.Fatal(err)
		}
		if err := f.close(complete); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if want := map[bool]string{true: "half a rep", false: "before"}[complete]; string(got) != want {
			t.Errorf("complete=%v: %s holds %q, want %q", complete, path, got, want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("complete=%v: %d files in the directory, want 1", complete, len(entries))
		}
	}
}

// TestReportFileKeepsWhatPathIs: a symbolic link stays, and the file it
// names gets the report, as a shell's > and fix --write do; a named pipe
// or a device (/dev/stderr, a shell's >(...)) cannot be replaced: it is
// written to, never renamed over (as root, a rename over /dev/null would
// put a regular file in its place).
func TestReportFileKeepsWhatPathIs(t *testing.T) {
	t.Run("symbolic link", func(t *testing.T) {
		dir := t.TempDir()
		target, link := filepath.Join(dir, "reports", "vg.sarif"), filepath.Join(dir, "vg.sarif")
		if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, []byte("before"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("reports", "vg.sarif"), link); err != nil {
			t.Fatal(err)
		}
		writeReportFile(t, link, "the report")
		if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link: %v, %v", link, info.Mode(), err)
		}
		if got, _ := os.ReadFile(target); string(got) != "the report" {
			t.Errorf("the link's target holds %q, want the report", got)
		}
		for _, d := range []string{dir, filepath.Dir(target)} {
			if leftovers, _ := filepath.Glob(filepath.Join(d, ".*.tmp-*")); len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		}
	})
	t.Run("named pipe", func(t *testing.T) {
		pipe := filepath.Join(t.TempDir(), "pipe")
		if err := syscall.Mkfifo(pipe, 0o600); err != nil {
			t.Skip("no named pipes here:", err)
		}
		got := make(chan []byte, 1)
		go func() {
			// Opened for reading once the writer has it open, or
			// the rename took its place.
			f, err := os.Open(pipe)
			if err != nil {
				got <- nil
				return
			}
			defer f.Close()
			data, _ := io.ReadAll(f)
			got <- data
		}()
		writeReportFile(t, pipe, "the report")
		if info, err := os.Lstat(pipe); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("%s is no longer a named pipe: %v, %v", pipe, info.Mode(), err)
			return // the reader reads the regular file, or nothing
		}
		if data := <-got; string(data) != "the report" {
			t.Errorf("the pipe's reader got %q, want the report", data)
		}
	})
}

// writeReportFile writes a complete report to path.
func writeReportFile(t *testing.T, path, report string) {
	t.Helper()
	f, err := createReportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(report); err != nil {
		t.Fatal(err)
	}
	if err := f.close(true); err != nil {
		t.Fatal(err)
	}
}

// TestCheckOutputFileIsNotStdout: a PATH stdout already goes to (the same
// file redirected with >, /dev/stdout) is refused: renamed over, it would
// lose -o's report; written to, it would mix the two.
func TestCheckOutputFileIsNotStdout(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "svc.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.txt")
	stdout, err := os.Create(report)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	link := filepath.Join(dir, "stdout")
	if err := os.Symlink(report, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{report, link} {
		var errOut bytes.Buffer
		root := newRootCommand(streams{in: strings.NewReader(""), out: stdout, err: &errOut})
		root.SetArgs([]string{"check", "--no-cache", "--output-file", "json=" + path, manifest})
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), "stdout") {
			t.Errorf("--output-file json=%s with stdout there: err = %v, want a usage error", path, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("%d files in the directory, want 3: nothing written", len(entries))
	}
}

// TestReportFileKeepsPermissions: a file replaced keeps its permissions,
// as with a shell's > or fix --write (a report kept private stays so); a
// new one is 0644, not CreateTemp's 0600, for a later step run as another
// user.
func TestReportFileKeepsPermissions(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before os.FileMode // 0: no file
		want   os.FileMode
	}{
		{"new", 0, 0o644},
		{"private", 0o600, 0o600},
		{"group-writable", 0o664, 0o664},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vg.sarif")
			if tt.before != 0 {
				if err := os.WriteFile(path, []byte("before"), tt.before); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.before); err != nil { // whatever the umask
					t.Fatal(err)
				}
			}
			writeReportFile(t, path, "the report")
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != tt.want {
				t.Errorf("mode %v (%v), want %v", info.Mode().Perm(), err, tt.want)
			}
		})
	}
}

// TestCheckOutputFileFailingKeepsStdout: an --output-file that cannot be
// written (a full disk; here a pipe nobody reads) fails the run (exit 2,
// its error said) but does not cut -o's report short: the annotations of
// every object and of every error still reach the log.
func TestCheckOutputFileFailingKeepsStdout(t *testing.T) {
	ref := pushPostgres18(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "pods.yaml")
	var docs []string
	for _, name := range []string{"a", "b", "c"} {
		docs = append(docs, "apiVersion: v1\nkind: Pod\nmetadata: {name: "+name+"}\nspec:\n  containers: [{name: db, image: "+ref+"}, {name: x, image: 127.0.0.1:1/x:1}]\n")
	}
	if err := os.WriteFile(manifest, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	go func() {
		// Gone at once: every write to the pipe fails.
		if f, err := os.Open(pipe); err == nil {
			f.Close()
		}
	}()
	var out, errOut bytes.Buffer
	root := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	root.SetArgs([]string{"check", "--no-cache", "--concurrency", "1", "--path-root", dir, "-o", "github", "--output-file", "json=" + pipe, manifest})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), pipe) {
		t.Errorf("err = %v, want the pipe's write error", err)
	}
	for _, want := range []string{"Pod a: container \"db\"", "Pod c: container \"db\"", "VG003", "3 findings in 3 objects, 3 errors"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
}
