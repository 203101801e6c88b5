package imageinspect

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	now := time.Unix(0, 0)
	c := newLRU(2, 1<<20, func() time.Time { return now })

	c.add("a", 1, 1, 0)
	c.add("b", 2, 1, 0)
	if _, ok := c.get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	c.add("c", 3, 1, 0)
	if _, ok := c.get("b"); ok {
		t.Error("b, least recently used, was not evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if n, _ := c.usage(); n != 2 {
		t.Errorf("len = %d, want 2", n)
	}

	c.add("t", "tag", 1, time.Minute)
	now = now.Add(59 * time.Second)
	if v, ok := c.get("t"); !ok || v != "tag" {
		t.Errorf("before expiry: get = %v, %v", v, ok)
	}
	now = now.Add(time.Second)
	if _, ok := c.get("t"); ok {
		t.Error("expired entry returned")
	}
	c.add("a", 10, 1, 0) // replaces
	if v, _ := c.get("a"); v != 10 {
		t.Errorf("a = %v, want 10", v)
	}
}

func TestLRUExtendExpired(t *testing.T) {
	now := time.Unix(0, 0)
	c := newLRU(10, 1<<20, func() time.Time { return now })
	c.add("t", "old", 1, time.Minute)
	c.extendExpired("t", "old", time.Minute) // not expired yet: unchanged
	now = now.Add(time.Minute)
	if _, ok := c.get("t"); ok {
		t.Fatal("extended before it expired")
	}
	c.extendExpired("t", "old", 30*time.Second)
	if v, ok := c.get("t"); !ok || v != "old" {
		t.Errorf("after extending: %v, %v", v, ok)
	}
	now = now.Add(30 * time.Second)
	c.add("t", "new", 1, time.Minute) // a refresh stored something newer
	now = now.Add(time.Minute)
	c.extendExpired("t", "old", 30*time.Second)
	if _, expired, _ := c.peek("t"); !expired {
		t.Error("extending the old value revived the newer one")
	}
}
