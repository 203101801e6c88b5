package webhook

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/internal/lru"
)

// The answer memo's bounds. A ReplicaSet's pods share one entry, so a few
// hundred cover every workload being scaled at once; an answer is 2-5 KB
// for a handful of findings, and one over maxMemoAnswer is not kept.
const (
	memoEntries   = 512
	memoBytes     = 8 << 20
	maxMemoAnswer = 64 << 10
)

// answerMemo remembers the answers to pod CREATE requests by memoKey, so
// that the pods of one ReplicaSet, which differ only in what never decides
// the answer, cost one mutation, one patch and one encoding: building and
// encoding a mutated answer cost as much as everything else a request does
// (docs/benchmarks.md). The analysis still runs for every pod (its cache
// tells which digest a tag names now), and its result is part of the key.
type answerMemo struct {
	cache lru.Cache[*memoAnswer]
	// keys holds the keyWriters of memoKey, and bodies the buffers that
	// remembered answers are encoded into for their UID: both are needed
	// on every request with a finding.
	keys, bodies sync.Pool
}

func newAnswerMemo() *answerMemo {
	m := &answerMemo{cache: lru.New[*memoAnswer](memoEntries, memoBytes, nil)}
	m.keys.New = func() any { return &keyWriter{b: make([]byte, 0, 1024)} }
	m.bodies.New = func() any { return new([]byte) }
	return m
}

func (m *answerMemo) writer() *keyWriter { return m.keys.Get().(*keyWriter) }

func (m *answerMemo) done(w *keyWriter) {
	if cap(w.b) > 64<<10 {
		return // a rare huge pod's: not kept
	}
	w.b = w.b[:0]
	m.keys.Put(w)
}

// memoAnswer is one remembered answer: the response completed for an empty
// UID, shared read-only by every request that reuses it, and its
// AdmissionReview encoding after the UID.
type memoAnswer struct {
	resp   admission.Response
	tail   []byte
	bodies *sync.Pool // the memo's
}

// answerHead is every encoded answer up to its UID (marshalAnswer).
const answerHead = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":`

func (m *answerMemo) get(key string) (*memoAnswer, bool) {
	return m.cache.Get(key)
}

// add remembers resp under key, unless it cannot be encoded, or only at
// more than maxMemoAnswer bytes, or is an internal error: write sends HTTP
// 200, which would turn the failurePolicy's HTTP 500 into a denial.
func (m *answerMemo) add(key string, resp admission.Response) {
	if httpStatus(resp) != http.StatusOK {
		return
	}
	if resp.Result != nil {
		r := *resp.Result // the memo's own, which no request completes
		resp.Result = &r
	}
	if err := complete(&resp, admission.Request{}); err != nil {
		return
	}
	// Appending to a shared slice must copy it.
	resp.Warnings = slices.Clip(resp.Warnings)
	body, err := marshalAnswer(&resp.AdmissionResponse)
	if err != nil || len(body) > maxMemoAnswer || !strings.HasPrefix(string(body), answerHead+`""`) {
		return
	}
	a := &memoAnswer{resp: resp, tail: body[len(answerHead)+2:], bodies: &m.bodies}
	// The encoding, and the response's patch, warnings and annotations it
	// was made from, with their structures: three times the encoding for a
	// 1.9 KB answer, but 4 to 5 times for copy mode's (the patch's init
	// containers are held as corev1.Containers): 12, 78 and 272 KB held for
	// answers of 3, 17 and 55 KB (runtime.MemStats, heap freed when the memo
	// is dropped). Counted as five, so that memoBytes bounds what is held.
	m.cache.Add(key, a, int64(len(key)+5*len(body)), 0)
}

// response is the remembered response, to be completed with the request's
// UID by handle: its Result is completed already, so that is the only
// field handle writes, in its own copy.
func (a *memoAnswer) response() admission.Response { return a.resp }

// write sends the answer for uid, as writeJSON sends encodeAnswer's, and
// reports true; it sends nothing and reports false when resp is not this
// answer (handle replaced it: a panic) or would be over maxAnswerBytes, for
// encodeAnswer to say so. The bound is on the encoding: escaping can make
// a UID several times longer.
func (a *memoAnswer) write(w http.ResponseWriter, resp admission.Response, uid string) bool {
	if resp.Result != a.resp.Result || len(answerHead)+len(uid)+2+len(a.tail) > maxAnswerBytes {
		return false
	}
	buf := a.bodies.Get().(*[]byte)
	b := append((*buf)[:0], answerHead...)
	b = appendJSONString(b, uid)
	b = append(b, a.tail...)
	sent := len(b) <= maxAnswerBytes
	if sent {
		writeJSON(w, http.StatusOK, b) // copied into the connection's buffer
	}
	if cap(b) <= maxMemoAnswer+1024 {
		*buf = b
		a.bodies.Put(buf)
	}
	return sent
}

// rememberable says whether an answer built from before and after (the
// pod's spec and its mutation, nil when not mutated) may be remembered:
// every volume the mutation added has generatedVolumePrefix, so the names
// of the pod's other volumes, which the key leaves out, did not decide it.
func rememberable(before, after *corev1.PodSpec) bool {
	if after == nil || len(after.Volumes) < len(before.Volumes) {
		return after == nil
	}
	for _, v := range after.Volumes[len(before.Volumes):] {
		if !strings.HasPrefix(v.Name, generatedVolumePrefix) {
			return false
		}
	}
	return true
}
