package imageinspect

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	now := time.Unix(0, 0)
	c := newLRU(2)
	c.now = func() time.Time { return now }

	c.add("a", 1, 0)
	c.add("b", 2, 0)
	if _, ok := c.get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	c.add("c", 3, 0)
	if _, ok := c.get("b"); ok {
		t.Error("b, least recently used, was not evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if n := c.len(); n != 2 {
		t.Errorf("len = %d, want 2", n)
	}

	c.add("t", "tag", time.Minute)
	now = now.Add(59 * time.Second)
	if v, ok := c.get("t"); !ok || v != "tag" {
		t.Errorf("before expiry: get = %v, %v", v, ok)
	}
	now = now.Add(time.Second)
	if _, ok := c.get("t"); ok {
		t.Error("expired entry returned")
	}
	c.add("a", 10, 0) // replaces
	if v, _ := c.get("a"); v != 10 {
		t.Errorf("a = %v, want 10", v)
	}
}
