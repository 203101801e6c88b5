package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The platforms a release ships, as GOOS/GOARCH.
var platforms = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"}

// TestGoreleaserCheck: .goreleaser.yaml is valid for the GoReleaser that
// hack/tools/goreleaser pins (make release-check; skipped without
// VOLUMEGUARD_GORELEASER_BIN: `make test` does not build GoReleaser).
func TestGoreleaserCheck(t *testing.T) {
	bin := os.Getenv("VOLUMEGUARD_GORELEASER_BIN")
	if bin == "" {
		t.Skip("VOLUMEGUARD_GORELEASER_BIN is not set (make release-check)")
	}
	cmd := exec.Command(bin, "check")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("goreleaser check: %v\n%s", err, out)
	}
}

// TestSnapshot checks what `make release-snapshot` wrote to
// VOLUMEGUARD_RELEASE_DIST: an archive per platform holding a static
// binary for it, the licence and the README; checksums.txt right for each;
// the krew manifest naming each archive with its checksum; and the binary
// of this machine's platform saying its version, commit and Go version.
func TestSnapshot(t *testing.T) {
	dist := os.Getenv("VOLUMEGUARD_RELEASE_DIST")
	if dist == "" {
		t.Skip("VOLUMEGUARD_RELEASE_DIST is not set (make release-snapshot)")
	}
	if !filepath.IsAbs(dist) {
		dist = filepath.Join(repoRoot(), dist)
	}
	var meta struct{ Version, Commit string }
	readJSON(t, filepath.Join(dist, "metadata.json"), &meta)
	sums := readChecksums(t, filepath.Join(dist, "checksums.txt"))

	archives := map[string]string{} // platform -> archive name
	for _, p := range platforms {
		goos, goarch, _ := strings.Cut(p, "/")
		name := "volumeguard_" + meta.Version + "_" + goos + "_" + goarch + ".tar.gz"
		archives[p] = name
		t.Run(p, func(t *testing.T) {
			path := filepath.Join(dist, name)
			if got := fileSHA256(t, path); sums[name] != got {
				t.Errorf("checksums.txt says %s for %s; it is %s", sums[name], name, got)
			}
			files := untar(t, path, t.TempDir())
			if got := mapKeys(files); !slices.Equal(got, []string{"LICENSE", "README.md", "volumeguard"}) {
				t.Errorf("%s holds %v, want volumeguard, LICENSE and README.md", name, got)
			}
			checkExecutable(t, files["volumeguard"], goos, goarch)
			if p == runtime.GOOS+"/"+runtime.GOARCH {
				checkVersion(t, files["volumeguard"], meta.Version, meta.Commit)
			}
		})
	}
	if len(sums) != len(platforms) {
		t.Errorf("checksums.txt lists %d files, want the %d archives: %v", len(sums), len(platforms), sums)
	}
	checkKrewManifest(t, filepath.Join(dist, "krew", "volumeguard.yaml"), archives, sums)
}

// checkKrewManifest: one platform per archive, selected by os and arch,
// with the archive's checksum, running the binary at the archive's top.
func checkKrewManifest(t *testing.T, path string, archives, sums map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Metadata   struct{ Name string }
		Spec       struct {
			Version, ShortDescription string
			Platforms                 []struct {
				Selector         struct{ MatchLabels map[string]string }
				URI, Sha256, Bin string
			}
		}
	}
	// Leniently: krew's other fields (homepage, description, caveats) are
	// not checked here.
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "volumeguard" {
		t.Errorf("krew manifest %s %s %s, want a Plugin volumeguard", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	seen := map[string]bool{}
	for _, p := range m.Spec.Platforms {
		platform := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		seen[platform] = true
		archive := archives[platform]
		if archive == "" || !strings.HasSuffix(p.URI, "/"+archive) || p.Sha256 != sums[archive] || p.Bin != "volumeguard" {
			t.Errorf("krew platform %s: uri %s, sha256 %s, bin %s; want archive %s with sha256 %s and bin volumeguard",
				platform, p.URI, p.Sha256, p.Bin, archive, sums[archive])
		}
	}
	if len(seen) != len(platforms) {
		t.Errorf("krew manifest platforms %v, want %v", mapKeys(seen), platforms)
	}
}

// checkExecutable: built for goos/goarch, and without cgo: an ELF without
// an interpreter; a Mach-O importing only what every macOS has (Go calls
// the system through libSystem, certificates through the Security
// framework, even without cgo), never a library of the build machine.
func checkExecutable(t *testing.T, path, goos, goarch string) {
	t.Helper()
	switch goos {
	case "linux":
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want {
			t.Errorf("%s: ELF for %s, want %s", path, f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked", path)
			}
		}
	case "darwin":
		f, err := macho.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want {
			t.Errorf("%s: Mach-O for %s, want %s", path, f.Cpu, want)
		}
		libs, _ := f.ImportedLibraries()
		for _, l := range libs {
			if !strings.HasPrefix(l, "/usr/lib/") && !strings.HasPrefix(l, "/System/Library/Frameworks/") {
				t.Errorf("%s imports %s", path, l)
			}
		}
	}
}

// checkVersion runs `volumeguard version -o json`: the snapshot's version
// (v-prefixed, as `make build`'s) and commit, as GoReleaser's metadata.json
// has them, a date and the Go version.
func checkVersion(t *testing.T, bin, version, commit string) {
	t.Helper()
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("volumeguard version: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if got["version"] != "v"+version || got["commit"] != commit || got["date"] == "" || got["goVersion"] != runtime.Version() {
		t.Errorf("version -o json = %v; want version v%s, commit %s, a date and Go %s", got, version, commit, runtime.Version())
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// readChecksums reads sha256sum's format: "<hex>  <name>" per line.
func readChecksums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		sum, name, ok := strings.Cut(scanner.Text(), "  ")
		if !ok {
			t.Fatalf("checksums.txt: line %q", scanner.Text())
		}
		sums[name] = sum
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// untar extracts the regular files of a .tar.gz into dir and returns
// their paths by name in the archive.
func untar(t *testing.T, path, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") {
			continue
		}
		out := filepath.Join(dir, filepath.Base(h.Name))
		w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		files[h.Name] = out
	}
}

// mapKeys are m's keys, sorted.
func mapKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
