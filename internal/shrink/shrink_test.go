package shrink

import (
	"runtime"
	"testing"
)

func TestMapShrinksBelowAQuarterOfItsPeak(t *testing.T) {
	m := map[int]int{}
	var p Peak
	for i := range 10000 {
		m[i] = i
		p.Grew(len(m))
	}
	orig := m
	for i := range 7500 {
		delete(m, i)
		m = Map(m, &p)
	}
	if !sameMap(m, orig) {
		t.Fatal("copied at 2,500 of 10,000 entries: want a copy only under a quarter")
	}
	delete(m, 7500)
	m = Map(m, &p)
	if sameMap(m, orig) {
		t.Fatal("not copied at 2,499 of 10,000 entries")
	}
	if len(m) != 2499 || m[9999] != 9999 || m[7501] != 7501 {
		t.Fatalf("copy lost entries: len %d", len(m))
	}
	if p.n != 2499 {
		t.Fatalf("peak after the copy = %d, want 2499", p.n)
	}
}

func TestSmallMapsAreNeverCopied(t *testing.T) {
	m := map[int]int{}
	var p Peak
	for i := range MinPeak - 1 {
		m[i] = i
		p.Grew(len(m))
	}
	orig := m
	for i := range MinPeak - 1 {
		delete(m, i)
		m = Map(m, &p)
	}
	if !sameMap(m, orig) {
		t.Fatal("a map that never reached MinPeak was copied")
	}
}

func TestMapGivesMemoryBack(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	m := map[int][64]byte{}
	var p Peak
	for i := range 200000 {
		m[i] = [64]byte{}
		p.Grew(len(m))
	}
	full := heap()
	for i := range 200000 {
		delete(m, i)
		m = Map(m, &p)
	}
	after := heap()
	runtime.KeepAlive(m)
	if grown := full - before; after-before > grown/10 {
		t.Errorf("heap: %d before, %d full, %d after deleting everything: want back within a tenth of the growth", before, full, after)
	}
}

func TestSlice(t *testing.T) {
	s := make([]int, 10, 1000)
	if got := Slice(s); cap(got) != 10 || len(got) != 10 {
		t.Errorf("Slice(len 10, cap 1000): cap %d", cap(got))
	}
	s = make([]int, 300, 1000)
	if got := Slice(s); cap(got) != 1000 {
		t.Errorf("Slice(len 300, cap 1000) copied")
	}
	s = make([]int, 1, 100)
	if got := Slice(s); cap(got) != 100 {
		t.Errorf("Slice(cap 100) copied: under MinPeak")
	}
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap(a, b map[int]int) bool {
	const probe = -1
	a[probe] = 1
	_, ok := b[probe]
	delete(a, probe)
	return ok
}
