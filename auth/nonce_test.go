package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNonceCacheReplayAndExpiry(t *testing.T) {
	c := NewNonceCache(10, time.Minute)
	if !c.Use("a", t0) {
		t.Fatal("first use refused")
	}
	if c.Use("a", t0.Add(59*time.Second)) {
		t.Fatal("replay within ttl accepted")
	}
	if !c.Use("b", t0) {
		t.Fatal("other nonce refused")
	}
	if !c.Use("a", t0.Add(time.Minute)) {
		t.Fatal("nonce still refused after ttl")
	}
	if c.Use("a", t0.Add(time.Minute+time.Second)) {
		t.Fatal("re-used nonce not remembered again")
	}
	if c.Len() != 1 { // b expired, a re-recorded
		t.Fatalf("Len %d, want 1", c.Len())
	}
}

func TestNonceCacheEvictsOldestWhenFull(t *testing.T) {
	c := NewNonceCache(3, time.Hour)
	for i, n := range []string{"n1", "n2", "n3", "n4"} {
		if !c.Use(n, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("%s refused", n)
		}
	}
	if c.Len() != 3 || c.Evictions() != 1 {
		t.Fatalf("Len %d evictions %d, want 3 and 1", c.Len(), c.Evictions())
	}
	now := t0.Add(10 * time.Second)
	if !c.Use("n1", now) { // evicted: forgotten, so accepted again
		t.Fatal("evicted nonce still refused")
	}
	for _, n := range []string{"n3", "n4", "n1"} {
		if c.Use(n, now) {
			t.Fatalf("%s replay accepted", n)
		}
	}
	if !c.Use("n2", now) { // n2 was the oldest when n1 came back
		t.Fatal("n2 should have been evicted")
	}
}

func TestNonceCacheDefaults(t *testing.T) {
	c := NewNonceCache(0, 0)
	if c.capacity != DefaultNonceCapacity || c.ttl != 330*time.Second {
		t.Fatalf("defaults %d %v", c.capacity, c.ttl)
	}
	c.Use("x", t0)
	if c.Use("x", t0.Add(329*time.Second)) || !c.Use("x", t0.Add(330*time.Second)) {
		t.Fatal("default retention is not 330 s")
	}
}

func TestNonceCacheCompactsAndStaysBounded(t *testing.T) {
	c := NewNonceCache(100, time.Second)
	for i := range 50_000 {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if !c.Use(fmt.Sprint(i), now) {
			t.Fatalf("nonce %d refused", i)
		}
		if c.Len() > 100 {
			t.Fatalf("Len %d over capacity", c.Len())
		}
	}
	if len(c.seen) != c.Len() || cap(c.order) > 4096 {
		t.Fatalf("map %d, queue %d (cap %d): not reclaimed", len(c.seen), c.Len(), cap(c.order))
	}
}

func TestNonceCacheConcurrent(t *testing.T) {
	c := NewNonceCache(1000, time.Hour)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				if c.Use(fmt.Sprint(i), t0) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 200 {
		t.Fatalf("%d first uses, want exactly 200", ok.Load())
	}
}
