package manifestfix

import (
	"bytes"
	"fmt"
	"strings"
)

// contextLines is how many unchanged lines surround a change in a diff,
// as diff -u and git show.
const contextLines = 3

// maxDiffEdits bounds the Myers search, whose memory grows with the square
// of the lines changed. fix changes a few lines per object; past the bound
// the changed middle of the files is shown as one replaced block.
const maxDiffEdits = 4096

// UnifiedDiff is the unified diff (diff -u) from a to b, both named name,
// or "" when they are equal. Lines keep their line breaks, so a CRLF file
// diffs as CRLF; a last line without one is marked as diff marks it.
//
// It is written here rather than taken from github.com/pmezard/go-difflib,
// which the module graph holds but which is archived, and whose matcher is
// quadratic in the file's lines: this is Myers' algorithm, linear in the
// lines for the few changes fix makes.
func UnifiedDiff(name string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	ops := diffLines(splitLines(a), splitLines(b))
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", name, name)
	for start := 0; start < len(ops); {
		// A hunk: from contextLines before a change to contextLines after
		// the last change that is closer than 2*contextLines to the next.
		first := start
		for first < len(ops) && ops[first].kind == ' ' {
			first++
		}
		if first == len(ops) {
			break
		}
		from := max(first-contextLines, start)
		to := first
		for i := first; i < len(ops); i++ {
			if ops[i].kind != ' ' {
				to = i + 1
				continue
			}
			if i-to >= 2*contextLines {
				break
			}
		}
		to = min(to+contextLines, len(ops))
		writeHunk(&out, ops, from, to)
		start = to
	}
	return out.String()
}

type lineOp struct {
	kind         byte // ' ', '-' or '+'
	line         string
	aLine, bLine int // 1-based line numbers in a and b before this op
}

func writeHunk(out *strings.Builder, ops []lineOp, from, to int) {
	var aN, bN int
	for _, op := range ops[from:to] {
		if op.kind != '+' {
			aN++
		}
		if op.kind != '-' {
			bN++
		}
	}
	aStart, bStart := ops[from].aLine, ops[from].bLine
	if aN == 0 {
		aStart--
	}
	if bN == 0 {
		bStart--
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aStart, aN), hunkRange(bStart, bN))
	for _, op := range ops[from:to] {
		out.WriteByte(op.kind)
		out.WriteString(op.line)
		if !strings.HasSuffix(op.line, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines splits after each LF, keeping it (and a CR before it).
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// diffLines is the shortest edit script from a to b (Myers 1986), after
// the common prefix and suffix are set aside.
func diffLines(a, b []string) []lineOp {
	prefix := 0
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(a)-prefix && suffix < len(b)-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	ops := make([]lineOp, 0, len(a)+len(b)-prefix-suffix)
	for i := range prefix {
		ops = append(ops, lineOp{' ', a[i], i + 1, i + 1})
	}
	ma, mb := a[prefix:len(a)-suffix], b[prefix:len(b)-suffix]
	for _, op := range myers(ma, mb) {
		op.aLine += prefix
		op.bLine += prefix
		ops = append(ops, op)
	}
	for i := range suffix {
		ai, bi := len(a)-suffix+i, len(b)-suffix+i
		ops = append(ops, lineOp{' ', a[ai], ai + 1, bi + 1})
	}
	return ops
}

// myers finds the edit script of a to b. It keeps, for each number of
// edits d, the furthest point of each diagonal in [-d, d]: memory in the
// square of the edits, not of the lines.
func myers(a, b []string) []lineOp {
	n, m := len(a), len(b)
	limit := min(n+m, maxDiffEdits)
	var trace [][]int // trace[d][k+d] = x, before step d+1
	v := []int{0}     // diagonals -0..0
	found := -1
	for d := 0; d <= limit && found < 0; d++ {
		next := make([]int, 2*d+1)
		for k := -d; k <= d; k += 2 {
			var x int
			switch {
			case d == 0:
				x = 0
			case k == -d || (k != d && at(v, d-1, k-1) < at(v, d-1, k+1)):
				x = at(v, d-1, k+1) // down: an insertion
			default:
				x = at(v, d-1, k-1) + 1 // right: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			next[k+d] = x
			if x >= n && y >= m {
				found = d
			}
		}
		trace = append(trace, next)
		v = next
	}
	if found < 0 {
		// Too many changes: every line of a out, every line of b in.
		ops := make([]lineOp, 0, n+m)
		for i := range a {
			ops = append(ops, lineOp{'-', a[i], i + 1, 1})
		}
		for j := range b {
			ops = append(ops, lineOp{'+', b[j], n + 1, j + 1})
		}
		return ops
	}
	// Walk back from (n, m) through the trace.
	var rev []lineOp
	x, y := n, m
	for d := found; d > 0; d-- {
		k := x - y
		prev := trace[d-1]
		var pk int
		if k == -d || (k != d && at(prev, d-1, k-1) < at(prev, d-1, k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(prev, d-1, pk)
		py := px - pk
		for x > px && y > py {
			x, y = x-1, y-1
			rev = append(rev, lineOp{' ', a[x], x + 1, y + 1})
		}
		if x == px {
			y--
			rev = append(rev, lineOp{'+', b[y], x + 1, y + 1})
		} else {
			x--
			rev = append(rev, lineOp{'-', a[x], x + 1, y + 1})
		}
	}
	for x > 0 && y > 0 {
		x, y = x-1, y-1
		rev = append(rev, lineOp{' ', a[x], x + 1, y + 1})
	}
	ops := make([]lineOp, len(rev))
	for i, op := range rev {
		ops[len(rev)-1-i] = op
	}
	return ops
}

// at reads diagonal k of the furthest points after d edits.
func at(v []int, d, k int) int { return v[k+d] }
