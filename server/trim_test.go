package server

import (
	"runtime"
	"runtime/debug"
	"testing"
)

var sink []byte

// The trimmer leaves a server that is allocating alone, and gives memory
// back once it has gone quiet with much more held than live.
func TestMemoryTrimmerWaitsForQuiet(t *testing.T) {
	runtime.GC()
	// No collection may run by itself meanwhile, or it would take the
	// garbage this test makes before the trimmer sees it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr := newMemoryTrimmer()
	for range 64 {
		sink = make([]byte, 1<<20)
	}
	sink = nil // 64 MiB of garbage, allocated since the last check
	if tr.check() {
		t.Fatal("trimmed while allocating")
	}
	if !tr.check() {
		t.Fatal("not trimmed once quiet, with 64 MiB of garbage held")
	}
	if tr.check() {
		t.Fatal("trimmed again with nothing left to give back")
	}
}

func TestMemoryTrimCanBeDisabled(t *testing.T) {
	on := startServer(t, Config{})
	off := startServer(t, Config{DisableMemoryTrim: true})
	if on.trimStop == nil || off.trimStop != nil {
		t.Fatalf("trim running: %v by default, %v when disabled", on.trimStop != nil, off.trimStop != nil)
	}
}
