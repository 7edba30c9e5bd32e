//go:build linux

package server

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// On one CPU, a goroutine that never blocks but passes the poll gate lets
// a connection's reader in at its next pass: the bytes that arrived are
// seen by the network poller at once, not when Go's monitor thread polls
// (every 10 ms, thousands of plain yields later).
func TestPollGateLetsTheNetworkIn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	g, err := newPollGate()
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()

	for round := range 20 {
		var passes, seenAt atomic.Int64
		seenAt.Store(-1)
		parked := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 1)
			close(parked)
			if _, err := server.Read(buf); err != nil {
				t.Error(err)
			}
			seenAt.Store(passes.Load())
		}()
		<-parked
		runtime.Gosched() // let the reader block in Read
		if _, err := client.Write([]byte{byte(round)}); err != nil {
			t.Fatal(err)
		}
		// Spin as a writer does, never blocking, passing the gate.
		for seenAt.Load() < 0 && passes.Load() < 100_000 {
			passes.Add(1)
			g.pass()
		}
		<-done
		if at := seenAt.Load(); at < 0 || at > 3 {
			t.Fatalf("round %d: the reader saw its byte after %d passes through the gate; want at most 3", round, at)
		}
	}
}

// Every goroutine waiting at the gate goes through with the same poll, and
// a closed gate lets everyone through.
func TestPollGateReleasesEveryWaiter(t *testing.T) {
	g, err := newPollGate()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				g.pass()
			}
		})
	}
	wg.Wait()
	g.close()
	g.pass() // closed: returns at once
}
