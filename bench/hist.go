package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear, as HdrHistogram: values (in
// nanoseconds) below 2*subBuckets are counted exactly; above, each power of
// two is split into subBuckets linear buckets, so a bucket is at most
// 1/subBuckets (0.78%) wide relative to its values. Values up to 2^41 ns
// (about 36 minutes) fit; larger ones land in the last bucket.
const (
	subBits    = 7
	subBuckets = 1 << subBits
	maxShift   = 41 - subBits - 1
	numBuckets = 2*subBuckets + maxShift*subBuckets
)

// bucketOf returns the bucket of a value in nanoseconds.
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	if shift > maxShift {
		return numBuckets - 1
	}
	return 2*subBuckets + (shift-1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest and largest value of bucket b.
func bucketRange(b int) (lo, hi int64) {
	if b < 2*subBuckets {
		return int64(b), int64(b)
	}
	shift := (b-2*subBuckets)/subBuckets + 1
	mant := int64((b-2*subBuckets)%subBuckets + subBuckets)
	return mant << shift, (mant+1)<<shift - 1
}

// numShards is the number of independently updated histogram and counter
// shards; subscriber i uses shard i % numShards, so thousands of reader
// goroutines rarely touch the same cache lines.
const numShards = 64

// shard holds one slice of the run's delivery counters and latency
// histogram. Everything is updated atomically by the subscriber reader
// goroutines and read by the progress line and the summary.
type shard struct {
	delivered  atomic.Int64 // events received, duplicates included, probes excluded
	unique     atomic.Int64 // events received for the first time
	duplicates atomic.Int64
	lastNanos  atomic.Int64 // Unix time of the last delivery
	maxLatency atomic.Int64
	sumLatency atomic.Int64
	buckets    [numBuckets]atomic.Uint64
	_          [64]byte // keep the next shard's counters off this cache line
}

// record counts a first delivery received at now (Unix nanoseconds) with
// the given latency.
func (s *shard) record(latency, now int64) {
	s.buckets[bucketOf(latency)].Add(1)
	s.sumLatency.Add(latency)
	for {
		m := s.maxLatency.Load()
		if latency <= m || s.maxLatency.CompareAndSwap(m, latency) {
			break
		}
	}
	for {
		l := s.lastNanos.Load()
		if now <= l || s.lastNanos.CompareAndSwap(l, now) {
			break
		}
	}
	s.unique.Add(1)
	s.delivered.Add(1)
}

// histogram is a plain (not atomic) latency histogram: the merged
// histogram of every delivery shard, or one publisher's own, which only
// its goroutine records into (the runner reads it once the publishers are
// done).
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	sum    int64
	max    int64
}

// merge adds the shards into one histogram.
func merge(shards []shard) *histogram {
	h := &histogram{}
	for i := range shards {
		sh := &shards[i]
		for b := range sh.buckets {
			n := sh.buckets[b].Load()
			h.counts[b] += n
			h.total += n
		}
		h.sum += sh.sumLatency.Load()
		h.max = max(h.max, sh.maxLatency.Load())
	}
	return h
}

// record counts one value in nanoseconds (a negative one as 0).
func (h *histogram) record(v int64) {
	v = max(v, 0)
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += v
	h.max = max(h.max, v)
}

// add adds o's counts into h.
func (h *histogram) add(o *histogram) {
	for b, n := range o.counts {
		h.counts[b] += n
	}
	h.total += o.total
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// summary returns the percentiles, max and mean in microseconds.
func (h *histogram) summary() LatencySummary {
	return LatencySummary{
		Count: int64(h.total),
		P50:   micros(h.quantile(0.50)),
		P90:   micros(h.quantile(0.90)),
		P99:   micros(h.quantile(0.99)),
		P999:  micros(h.quantile(0.999)),
		Max:   micros(time.Duration(h.max)),
		Mean:  micros(h.mean()),
	}
}

// quantile returns the value at quantile q (0..1): the upper end of the
// bucket that holds it, but never more than the largest value recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for b, n := range h.counts {
		seen += n
		if seen >= rank {
			_, hi := bucketRange(b)
			return time.Duration(min(hi, h.max))
		}
	}
	return time.Duration(h.max)
}

// mean returns the average value.
func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.total))
}
