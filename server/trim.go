package server

import (
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"time"
)

// trimInterval is how often the server checks whether to give memory back.
const trimInterval = 2 * time.Second

// memoryTrimmer gives the heap's free pages back to the operating system
// once the server has gone quiet after a surge. Go keeps freed memory for
// reuse up to its heap goal, and after a reconnect storm the goal is set
// by the storm's garbage (handshake buffers, parsed requests): thousands
// of idle connections would then carry twice their live size. When little
// was allocated since the last check (less than a tenth of the live heap)
// and the heap holds more than trimMinFree beyond its live objects (dead
// objects not yet collected, free pages not yet returned), it runs
// debug.FreeOSMemory once, a collection of a few milliseconds. A busy
// server is never trimmed.
type memoryTrimmer struct {
	samples    []rtmetrics.Sample
	lastAllocs uint64
}

// trimMinFree is the memory held beyond the live heap below which
// trimming is not worth a collection.
const trimMinFree = 16 << 20

func newMemoryTrimmer() *memoryTrimmer {
	t := &memoryTrimmer{samples: []rtmetrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
	rtmetrics.Read(t.samples)
	t.lastAllocs = t.samples[0].Value.Uint64()
	return t
}

// check trims when the server is quiet and reports whether it did.
func (t *memoryTrimmer) check() bool {
	rtmetrics.Read(t.samples)
	allocs, live := t.samples[0].Value.Uint64(), t.samples[1].Value.Uint64()
	held := t.samples[2].Value.Uint64() + t.samples[3].Value.Uint64() + t.samples[4].Value.Uint64()
	allocated := allocs - t.lastAllocs
	t.lastAllocs = allocs
	if held < live+trimMinFree || allocated > live/10 {
		return false
	}
	debug.FreeOSMemory()
	rtmetrics.Read(t.samples)
	t.lastAllocs = t.samples[0].Value.Uint64()
	return true
}

// trim runs the memoryTrimmer until Shutdown.
func (s *Server) trim() {
	defer close(s.trimDone)
	t := newMemoryTrimmer()
	tick := time.NewTicker(trimInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.trimStop:
			return
		case <-tick.C:
			if t.check() {
				s.log.Debug("memory given back to the system after a quiet interval")
			}
		}
	}
}
