// Package shrink gives the memory of a Go map back once most of its
// entries are gone. A Go map never shrinks by itself: a map that once held
// a million topics keeps the buckets for a million after they are deleted,
// so a client that subscribed to many topics and left would leave its
// memory in use for the life of the process.
//
// Owners record each map's high-water mark in a Peak and, after deleting,
// replace the map with Map's result. Copying happens only when the map
// holds under a quarter of its peak, so its cost is amortized over the
// deletions that made it worthwhile.
package shrink

import "maps"

// MinPeak is the peak below which a map is never copied: small maps are
// not worth it.
const MinPeak = 256

// Peak is a map's high-water mark. The zero value is ready to use. It is
// not safe for concurrent use: guard it with the map's lock.
type Peak struct{ n int }

// Grew records the map's length after an insertion.
func (p *Peak) Grew(length int) {
	if length > p.n {
		p.n = length
	}
}

// Map returns m itself, or a copy of m sized for the entries it holds now
// when they are under a quarter of p's peak (and the peak is at least
// MinPeak); the copy becomes the new peak.
func Map[K comparable, V any](m map[K]V, p *Peak) map[K]V {
	if p.n < MinPeak || len(m)*4 >= p.n {
		return m
	}
	c := make(map[K]V, len(m))
	maps.Copy(c, m)
	p.n = len(m)
	return c
}

// Slice returns s itself, or a copy with a capacity for its length when
// that length is under a quarter of its capacity (and the capacity is at
// least MinPeak). The elements past the length of s must already be zero.
func Slice[E any](s []E) []E {
	if cap(s) < MinPeak || len(s)*4 >= cap(s) {
		return s
	}
	return append(make([]E, 0, len(s)), s...)
}
