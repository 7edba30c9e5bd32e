package server

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/heraldws/herald/internal/shrink"
)

// Limit names: the configuration keys, the label values of
// herald_limit_refusals_total and what the log calls each limit.
const (
	limitSubscriptions  = "max_subscriptions"
	limitPrefixes       = "max_prefixes"
	limitTopicLength    = "max_topic_length"
	limitTopics         = "max_topics"
	limitConnectionRate = "max_connection_rate"
	limitMessageRate    = "max_messages_rate"
)

var limitNames = []string{limitSubscriptions, limitPrefixes, limitTopicLength, limitTopics, limitConnectionRate, limitMessageRate}

// limitError is a client going over one of its per-connection limits: the
// session closes with 1008 (policy violation) and the reason.
type limitError struct {
	limit  string // one of the limit names
	reason string // for the CLOSE frame: at most 123 bytes
}

func (e *limitError) Error() string { return "server: limit " + e.limit + ": " + e.reason }

func overLimit(limit, format string, args ...any) *limitError {
	return &limitError{limit: limit, reason: fmt.Sprintf(format, args...)}
}

// tokenBucket is a rate limit of rate events per second that lets bursts
// of up to burst events through. The zero value allows nothing; it is not
// safe for concurrent use.
type tokenBucket struct {
	tokens float64
	last   int64 // monotonic nanoseconds of the last refill
}

// take spends one token at now, refilling first; it reports whether one
// was there.
func (b *tokenBucket) take(now int64, rate, burst float64) bool {
	if b.last == 0 {
		b.tokens = burst
	} else if elapsed := now - b.last; elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+float64(elapsed)*rate/float64(time.Second))
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// full reports whether the bucket would be full at now: it has been idle
// long enough to be forgotten.
func (b *tokenBucket) full(now int64, rate, burst float64) bool {
	return b.tokens+float64(now-b.last)*rate/float64(time.Second) >= burst
}

// burstOf is the burst of a rate limit: one second's worth, at least one.
func burstOf(rate float64) float64 { return math.Max(1, math.Ceil(rate)) }

// clock gives monotonic nanoseconds for the token buckets.
var clockStart = time.Now()

func monotonic() int64 { return int64(time.Since(clockStart)) }

// addrLimiter is a token bucket per client address: IPv4 addresses one by
// one, IPv6 addresses by their /64, which one host usually holds whole.
// Buckets that filled up again are forgotten when the table grows; when
// even then it holds maxAddrBuckets addresses, new addresses pass
// unchecked rather than being refused for others' traffic.
type addrLimiter struct {
	rate, burst float64

	mu        sync.Mutex
	buckets   map[netip.Addr]*tokenBucket
	peak      shrink.Peak
	nextSweep int
}

const (
	maxAddrBuckets   = 1 << 16
	firstAddrSweepAt = 1024
)

func newAddrLimiter(rate float64) *addrLimiter {
	if rate <= 0 {
		return nil
	}
	return &addrLimiter{rate: rate, burst: burstOf(rate), buckets: map[netip.Addr]*tokenBucket{}, nextSweep: firstAddrSweepAt}
}

// allow spends a token of addr's bucket. A nil addrLimiter allows
// everything.
func (l *addrLimiter) allow(addr netip.Addr) bool {
	if l == nil {
		return true
	}
	addr = addr.Unmap()
	if addr.Is6() {
		addr = netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	now := monotonic()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= l.nextSweep {
			l.sweep(now)
		}
		if len(l.buckets) >= maxAddrBuckets {
			return true
		}
		b = &tokenBucket{}
		l.buckets[addr] = b
		l.peak.Grew(len(l.buckets))
	}
	return b.take(now, l.rate, l.burst)
}

// sweep forgets the addresses whose buckets are full again.
func (l *addrLimiter) sweep(now int64) {
	for a, b := range l.buckets {
		if b.full(now, l.rate, l.burst) {
			delete(l.buckets, a)
		}
	}
	l.buckets = shrink.Map(l.buckets, &l.peak)
	l.nextSweep = max(firstAddrSweepAt, 2*len(l.buckets))
}
