package auth

import (
	"sync"
	"time"
)

// Defaults of NewNonceCache.
const (
	DefaultNonceCapacity  = 100_000
	DefaultNonceRetention = DefaultTicketTTL + DefaultFutureTolerance
)

// NonceCache remembers the tickets already used, so that [TicketVerifier]
// can make tickets one-time. It lives in memory, is bounded and safe for
// concurrent use. The zero value is not usable: call [NewNonceCache].
//
// An entry is forgotten ttl after its first use. A ticket can be accepted
// during TTL + FutureTolerance of wall-clock time (from FutureTolerance
// before its creation to TTL after it), so ttl must be at least that for a
// replay to be refused for the ticket's whole life.
//
// When the cache is full, using a new nonce evicts the oldest entry (the
// one used first). The evicted ticket can then be replayed until it
// expires, so size capacity above the number of tickets used within ttl at
// peak; the Evictions counter says when it was not.
type NonceCache struct {
	mu       sync.Mutex
	ttl      time.Duration
	capacity int
	seen     map[string]time.Time // nonce -> expiry
	order    []nonceEntry         // queue, oldest first, from order[head]
	head     int
	evicted  uint64
}

type nonceEntry struct {
	nonce   string
	expires time.Time
}

// NewNonceCache returns a cache of at most capacity nonces, each kept for
// ttl after its first use. capacity <= 0 means DefaultNonceCapacity and
// ttl <= 0 means DefaultNonceRetention (330 s: Oro's 300 s lifetime plus its
// 30 s tolerance).
func NewNonceCache(capacity int, ttl time.Duration) *NonceCache {
	if capacity <= 0 {
		capacity = DefaultNonceCapacity
	}
	if ttl <= 0 {
		ttl = DefaultNonceRetention
	}
	return &NonceCache{
		ttl:      ttl,
		capacity: capacity,
		seen:     make(map[string]time.Time),
	}
}

// Use records nonce as used at now. It returns true the first time and
// false for a replay, that is when nonce was used less than ttl ago.
func (c *NonceCache) Use(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if exp, ok := c.seen[nonce]; ok && now.Before(exp) {
		return false
	}
	if c.len() >= c.capacity {
		c.dropOldest()
		c.evicted++
	}
	e := nonceEntry{nonce: nonce, expires: now.Add(c.ttl)}
	c.order = append(c.order, e)
	c.seen[nonce] = e.expires
	return true
}

// Len returns the number of nonces remembered.
func (c *NonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.len()
}

func (c *NonceCache) len() int { return len(c.order) - c.head }

// Evictions returns how many nonces were forgotten before their time
// because the cache was full.
func (c *NonceCache) Evictions() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evicted
}

// expire drops the entries, oldest first, that have expired at now.
func (c *NonceCache) expire(now time.Time) {
	for c.len() > 0 && !now.Before(c.order[c.head].expires) {
		c.dropOldest()
	}
}

func (c *NonceCache) dropOldest() {
	e := c.order[c.head]
	// A nonce re-used after expiry has a newer entry: keep that one.
	if exp, ok := c.seen[e.nonce]; ok && exp.Equal(e.expires) {
		delete(c.seen, e.nonce)
	}
	c.order[c.head] = nonceEntry{}
	c.head++
	// Reclaim the consumed front once it is half of the queue.
	if c.head >= 1024 && c.head*2 >= len(c.order) {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
	if c.head == len(c.order) {
		c.order, c.head = c.order[:0], 0
	}
}
