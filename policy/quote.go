package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// QuotePath renders a path from an image (or any other string an image
// supplies) for humans. Image configs are untrusted: a VOLUME path holding
// an ESC sequence or a newline would forge lines in a CI log. So a plain
// path is printed as it is, and anything else (control or invisible
// characters, invalid UTF-8, spaces, a leading YAML indicator such as a
// quote) is printed Go-quoted, which strconv.Unquote reverses exactly.
// A bare result never starts with '"', so the two forms cannot be confused.
func QuotePath(p string) string {
	if plain(p) {
		return p
	}
	return strconv.Quote(p)
}

// yamlScalar renders s as a YAML scalar that parses back to exactly s: bare
// when it is plain and reads as a string, else double-quoted. strconv.Quote
// is valid YAML double-quoted syntax for valid UTF-8 (every escape it writes,
// \a \b \f \n \r \t \v \\ \" \xXX \uXXXX \UXXXXXXXX, means the same code
// point in YAML), and the paths FixYAML writes are valid UTF-8.
func yamlScalar(s string) string {
	if plain(s) && readsAsString(s) {
		return s
	}
	return strconv.Quote(s)
}

// plain reports whether s can stand bare both in a message and as a YAML
// plain scalar in block context: printable, without spaces (messages and
// `inspect` separate words with them, YAML trims or splits on them), not
// starting with a YAML indicator, and not ending with ':' (a mapping key).
func plain(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.ContainsRune(yamlIndicators, rune(s[0])) || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		// IsPrint is false for controls, for every space but ' ', for
		// format characters (bidi overrides) and for U+2028/U+2029.
		if r == ' ' || !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// yamlIndicators start something other than a plain scalar in YAML.
const yamlIndicators = "-?:,[]{}#&*!|>'\"%@`"

// readsAsString reports whether the plain scalar s resolves to the string s
// (and not to a bool, null, number or timestamp). An absolute path cannot
// resolve to anything else; other scalars ask the parser that reads the fix
// (kubectl's), rather than a copy of its rules.
func readsAsString(s string) bool {
	if strings.HasPrefix(s, "/") {
		return true
	}
	var v map[string]any
	if err := yaml.Unmarshal([]byte("v: "+s), &v); err != nil {
		return false
	}
	got, ok := v["v"].(string)
	return ok && got == s
}
