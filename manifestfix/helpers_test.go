package manifestfix

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/workload"
)

// testImages are what the test registry holds: repository:tag -> the
// VOLUMEs the image declares, like the real images of those names.
var testImages = map[string][]string{
	"library/zookeeper:3.4.13": {"/data", "/datalog", "/logs"},
	"library/nginx:1":          nil,
	"library/redis:7":          {"/data"},
	"library/mysql:8":          {"/var/lib/mysql"},
	"odd/relative:1":           {"data"},
}

// registryPlaceholder stands for the test registry's host in testdata.
const registryPlaceholder = "REGISTRY"

// startRegistry serves testImages from an in-process registry on loopback
// and returns an analyzer reading it, and its host.
func startRegistry(t *testing.T) (*analysis.Analyzer, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for ref, volumes := range testImages {
		if _, err := testimage.Push(host+"/"+ref, volumes); err != nil {
			t.Fatal(err)
		}
	}
	// Anonymous: the user's docker credentials stay out of the test.
	inspector, err := imageinspect.New(imageinspect.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	return analysis.New(inspector), host
}

func gi(t *testing.T, s string) resource.Quantity {
	t.Helper()
	q, err := resource.ParseQuantity(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// emptyValue is a null or empty-list value that fix replaces by a list.
var emptyValue = regexp.MustCompile(`:\s*(\[\]|null|~)`)

// checkOnlyAdded fails unless fixed is orig with text added: every line
// fix removed is, less an empty value it replaced (`volumes: []`), found in
// order in the lines it added.
func checkOnlyAdded(t *testing.T, orig, fixed []byte) {
	t.Helper()
	var added strings.Builder
	var removed []string
	for _, op := range diffLines(splitLines(orig), splitLines(fixed)) {
		switch op.kind {
		case '+':
			added.WriteString(op.line)
		case '-':
			removed = append(removed, op.line)
		}
	}
	rest := added.String()
	for _, line := range removed {
		want := emptyValue.ReplaceAllString(line, ":")
		i, ok := subsequence(rest, want)
		if !ok {
			t.Errorf("fix changed the line %q: not found among the lines it added", line)
			continue
		}
		rest = rest[i:]
	}
}

// subsequence reports whether the bytes of want appear in order in s, and
// where in s the last one is.
func subsequence(s, want string) (int, bool) {
	j := 0
	for i := 0; i < len(want); i++ {
		k := strings.IndexByte(s[j:], want[i])
		if k < 0 {
			return 0, false
		}
		j += k + 1
	}
	return j, true
}

// fixableLeft counts the findings of data's pod specs that a mount could
// cover: what a check of fix's output would still ask for.
func fixableLeft(t *testing.T, analyzer *analysis.Analyzer, name string, data []byte) int {
	t.Helper()
	objs, _ := workload.Decode(name, strings.NewReader(string(data)))
	n := 0
	for _, o := range objs {
		for _, ps := range o.PodSpecs {
			for _, f := range analyzer.Analyze(context.Background(), ps.Spec).Findings {
				if f.Fixable() {
					n++
				}
			}
		}
	}
	return n
}
