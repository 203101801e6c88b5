package manifestfix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int) []string {
		var out []string
		for i := 1; i <= n; i++ {
			out = append(out, "line "+strings.Repeat("x", i%3)+string(rune('a'+i%26))+"\n")
		}
		return out
	}
	base := lines(30)
	join := strings.Join
	insert := func(at int, add ...string) string {
		return join(base[:at], "") + join(add, "") + join(base[at:], "")
	}
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{name: "equal", a: "a\nb\n", b: "a\nb\n", want: ""},
		{
			name: "one insertion in the middle",
			a:    join(base, ""),
			b:    insert(10, "new 1\n", "new 2\n"),
			want: "--- f\n+++ f\n@@ -8,6 +8,8 @@\n " + base[7] + " " + base[8] + " " + base[9] + "+new 1\n+new 2\n " + base[10] + " " + base[11] + " " + base[12],
		},
		{
			name: "insertion at the start of a file and a changed last line without a line break",
			a:    "a\nb\n",
			b:    "x\na\nc",
			want: "--- f\n+++ f\n@@ -1,2 +1,3 @@\n+x\n a\n-b\n+c\n\\ No newline at end of file\n",
		},
		{
			name: "CRLF lines stay CRLF",
			a:    "a\r\nb\r\n",
			b:    "a\r\nz\r\nb\r\n",
			want: "--- f\n+++ f\n@@ -1,2 +1,3 @@\n a\r\n+z\r\n b\r\n",
		},
		{name: "from empty", a: "", b: "a\n", want: "--- f\n+++ f\n@@ -0,0 +1 @@\n+a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnifiedDiff("f", []byte(tt.a), []byte(tt.b)); got != tt.want {
				t.Errorf("diff\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// TestUnifiedDiffApplies checks diffs with several hunks against patch(1),
// when it is installed: the diff applied to a must give b.
func TestUnifiedDiffApplies(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch(1) is not installed")
	}
	var a, b strings.Builder
	for i := range 200 {
		line := strings.Repeat("l", i%7) + "\n"
		a.WriteString(line)
		switch {
		case i%37 == 0:
			b.WriteString("inserted\n" + line)
		case i%53 == 0:
			// removed
		case i%61 == 0:
			b.WriteString("changed\n")
		default:
			b.WriteString(line)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "f.yaml")
	if err := os.WriteFile(file, []byte(a.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(patch, "-s", "-p0", file)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(UnifiedDiff("f.yaml", []byte(a.String()), []byte(b.String())))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(file); string(got) != b.String() {
		t.Errorf("patched file differs from b")
	}
}
