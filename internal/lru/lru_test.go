package lru

import (
	"testing"
	"time"
)

// clock is a time source tests move by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestLRU(t *testing.T) {
	clk := &clock{now: time.Unix(0, 0)}
	c := New[int](2, 1<<20, clk.Now)

	c.Add("a", 1, 1, 0)
	c.Add("b", 2, 1, 0)
	if _, ok := c.Get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	c.Add("c", 3, 1, 0)
	if _, ok := c.Get("b"); ok {
		t.Error("b, least recently used, was not evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if n, _ := c.Usage(); n != 2 {
		t.Errorf("len = %d, want 2", n)
	}

	c.Add("t", 7, 1, time.Minute)
	clk.now = clk.now.Add(59 * time.Second)
	if v, ok := c.Get("t"); !ok || v != 7 {
		t.Errorf("before expiry: Get = %v, %v", v, ok)
	}
	clk.now = clk.now.Add(time.Second)
	if _, ok := c.Get("t"); ok {
		t.Error("expired entry returned")
	}
	if v, expired, ok := c.Peek("t"); !ok || !expired || v != 7 {
		t.Errorf("Peek of the expired entry = %v, %v, %v; want it, expired", v, expired, ok)
	}
	c.Add("a", 10, 1, 0) // replaces
	if v, _ := c.Get("a"); v != 10 {
		t.Errorf("a = %v, want 10", v)
	}
}

func TestExtendExpired(t *testing.T) {
	clk := &clock{now: time.Unix(0, 0)}
	c := New[string](10, 1<<20, clk.Now)
	isOld := func(v string) bool { return v == "old" }
	c.Add("t", "old", 1, time.Minute)
	c.ExtendExpired("t", time.Minute, isOld) // not expired yet: unchanged
	clk.now = clk.now.Add(time.Minute)
	if _, ok := c.Get("t"); ok {
		t.Fatal("extended before it expired")
	}
	c.ExtendExpired("t", 30*time.Second, isOld)
	if v, ok := c.Get("t"); !ok || v != "old" {
		t.Errorf("after extending: %v, %v", v, ok)
	}
	clk.now = clk.now.Add(30 * time.Second)
	c.Add("t", "new", 1, time.Minute) // a refresh stored something newer
	clk.now = clk.now.Add(time.Minute)
	c.ExtendExpired("t", 30*time.Second, isOld)
	if _, expired, _ := c.Peek("t"); !expired {
		t.Error("extending the old value revived the newer one")
	}
}

func TestBounds(t *testing.T) {
	const entry = EntryOverhead + 1 + 10 // overhead, a one-byte key, ten bytes
	c := New[string](100, 3*entry, nil)
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Add(k, k, 10, 0)
	}
	if _, ok := c.Get("a"); ok {
		t.Error("a survived though the bytes bound holds three entries")
	}
	if n, b := c.Usage(); n != 3 || b != 3*entry {
		t.Errorf("usage = %d entries, %d bytes; want 3 and %d", n, b, 3*entry)
	}
	c.Add("huge", "x", 1<<20, 0)
	if _, ok := c.Get("huge"); ok {
		t.Error("an entry larger than the whole cache was stored")
	}
	if n, _ := c.Usage(); n != 3 {
		t.Errorf("storing nothing evicted entries: %d left", n)
	}
	c.Remove("b")
	if n, b := c.Usage(); n != 2 || b != 2*entry {
		t.Errorf("after Remove: %d entries, %d bytes", n, b)
	}
	c.Add("c", "x", 1<<20, 0)
	if _, ok := c.Get("c"); ok {
		t.Error("a key replaced by a value too large to keep still holds the old one")
	}
}

func TestCachesShareTheirStore(t *testing.T) {
	s := NewStore(2, 1<<20, nil)
	ints, strs := In[int](s, "int"), In[string](s, "str")
	ints.Add("k", 1, 1, 0)
	strs.Add("k", "one", 1, 0)
	if v, ok := ints.Get("k"); !ok || v != 1 {
		t.Errorf("ints k = %v, %v; want 1: one key in two Caches is two entries", v, ok)
	}
	if v, ok := strs.Get("k"); !ok || v != "one" {
		t.Errorf("strs k = %v, %v; want one", v, ok)
	}
	ints.Add("other", 2, 1, 0) // the third entry of a Store of two
	if _, ok := ints.Get("k"); ok {
		t.Error("the least recently used entry of the Store was not evicted")
	}
	if n, b := s.Usage(); n != 2 || b != 2*EntryOverhead+int64(len("str\x00k")+1+len("int\x00other")+1) {
		t.Errorf("store usage = %d entries, %d bytes", n, b)
	}
}

func TestAddUnless(t *testing.T) {
	c := New[string](10, 1<<20, nil)
	complete := func(old string) bool { return old == "complete" }
	c.AddUnless("layer", "narrowed", 1, 0, complete)
	c.AddUnless("layer", "complete", 1, 0, complete)
	c.AddUnless("layer", "narrowed", 1, 0, complete)
	if v, _ := c.Get("layer"); v != "complete" {
		t.Errorf("layer = %q, want the complete one kept", v)
	}
}
