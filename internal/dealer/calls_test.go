package dealer_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/wamp"
)

func mustStart(t testing.TB, cs *dealer.Calls, c dealer.Call, timeout time.Duration) dealer.Call {
	t.Helper()
	got, err := cs.Start(c, timeout)
	if err != nil {
		t.Fatalf("Start(%+v): %v", c, err)
	}
	return got
}

func TestCallsStart(t *testing.T) {
	cs := dealer.NewCalls(nil)
	defer cs.Close()
	seen := map[uint64]bool{}
	for i := range 50 {
		in := dealer.Call{Caller: dealer.SessionID(i%3 + 1), CallerRequest: uint64(i + 1), Callee: dealer.SessionID(i%2 + 10),
			Invocation: 777, Registration: 4, Procedure: "p", ReceiveProgress: true, Token: i}
		c := mustStart(t, cs, in, 0)
		if c.Invocation == 0 || c.Invocation > wamp.MaxID || seen[c.Invocation] {
			t.Fatalf("invocation %d zero, out of range or reused", c.Invocation)
		}
		seen[c.Invocation] = true
		in.Invocation = c.Invocation
		if c != in {
			t.Fatalf("Start = %+v, want %+v", c, in)
		}
	}
	if cs.Len() != 50 {
		t.Fatalf("Len = %d", cs.Len())
	}
	// The same request id of the same caller while in flight is refused;
	// of another caller, or once ended, it is fine.
	if _, err := cs.Start(dealer.Call{Caller: 1, CallerRequest: 1, Callee: 10}, 0); !errors.Is(err, dealer.ErrRequestInFlight) ||
		dealer.ErrorURI(err) != wamp.URIProtocolViolation {
		t.Fatalf("duplicate request: %v", err)
	}
	mustStart(t, cs, dealer.Call{Caller: 9, CallerRequest: 1, Callee: 10}, 0)
	cs.Cancel(1, 1)
	mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 1, Callee: 10}, 0)
	if cs.Len() != 51 {
		t.Fatalf("Len = %d, want 51", cs.Len())
	}
}

// TestCallsEndOnce runs each way a call ends, then every way again: only
// the first reports the call.
func TestCallsEndOnce(t *testing.T) {
	type end func(cs *dealer.Calls, c dealer.Call) (dealer.Call, bool)
	one := func(calls []dealer.Call) (dealer.Call, bool) {
		if len(calls) != 1 {
			return dealer.Call{}, false
		}
		return calls[0], true
	}
	ends := map[string]end{
		"Finish": func(cs *dealer.Calls, c dealer.Call) (dealer.Call, bool) { return cs.Finish(c.Callee, c.Invocation) },
		"Cancel": func(cs *dealer.Calls, c dealer.Call) (dealer.Call, bool) { return cs.Cancel(c.Caller, c.CallerRequest) },
		"CalleeGone": func(cs *dealer.Calls, c dealer.Call) (dealer.Call, bool) {
			return one(cs.CalleeGone(c.Callee))
		},
		"CallerGone": func(cs *dealer.Calls, c dealer.Call) (dealer.Call, bool) {
			return one(cs.CallerGone(c.Caller))
		},
	}
	for name, endFirst := range ends {
		t.Run(name, func(t *testing.T) {
			cs := dealer.NewCalls(func(c dealer.Call) { t.Errorf("timeout of %+v", c) })
			defer cs.Close()
			c := mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 5, Callee: 2, Procedure: "p"}, time.Hour)
			other := mustStart(t, cs, dealer.Call{Caller: 3, CallerRequest: 5, Callee: 4}, 0)
			if p, ok := cs.Progress(c.Callee, c.Invocation); !ok || p != c {
				t.Fatalf("Progress = %+v %v", p, ok)
			}
			if f, ok := cs.Find(c.Caller, c.CallerRequest); !ok || f != c {
				t.Fatalf("Find = %+v %v", f, ok)
			}
			if got, ok := endFirst(cs, c); !ok || got != c {
				t.Fatalf("%s = %+v %v, want %+v", name, got, ok, c)
			}
			for again, end := range ends {
				if got, ok := end(cs, c); ok {
					t.Errorf("%s after %s = %+v, want false", again, name, got)
				}
			}
			if _, ok := cs.Progress(c.Callee, c.Invocation); ok {
				t.Error("Progress after the end")
			}
			if _, ok := cs.Find(c.Caller, c.CallerRequest); ok {
				t.Error("Find after the end")
			}
			if cs.Len() != 1 {
				t.Errorf("Len = %d, want 1", cs.Len())
			}
			if got, ok := cs.Finish(other.Callee, other.Invocation); !ok || got != other {
				t.Errorf("the other call: %+v %v", got, ok)
			}
		})
	}
}

func TestCallsGone(t *testing.T) {
	cs := dealer.NewCalls(nil)
	defer cs.Close()
	var calls []dealer.Call
	for i := range 12 {
		calls = append(calls, mustStart(t, cs, dealer.Call{Caller: dealer.SessionID(i % 3), CallerRequest: uint64(100 - i),
			Callee: dealer.SessionID(10 + i%2)}, time.Hour))
	}
	got := cs.CalleeGone(10)
	var want []dealer.Call
	for _, c := range calls {
		if c.Callee == 10 {
			want = append(want, c) // started in Invocation order
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("CalleeGone(10) = %v, want %v", got, want)
	}
	got = cs.CallerGone(1)
	want = nil
	for _, c := range slices.Backward(calls) { // CallerRequest counts down
		if c.Caller == 1 && c.Callee != 10 {
			want = append(want, c)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("CallerGone(1) = %v, want %v", got, want)
	}
	if n := cs.Len(); n != 12-6-len(want) {
		t.Fatalf("Len = %d, want %d", n, 12-6-len(want))
	}
	if got := cs.CalleeGone(10); len(got) != 0 {
		t.Fatalf("CalleeGone(10) again = %v", got)
	}
	if got := cs.CallerGone(77); len(got) != 0 {
		t.Fatalf("CallerGone of a session without calls = %v", got)
	}
}

func TestCallsTimeout(t *testing.T) {
	fired := make(chan dealer.Call, 10)
	cs := dealer.NewCalls(func(c dealer.Call) { fired <- c })
	defer cs.Close()
	c := mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 1, Callee: 2, Token: "v1-call"}, 10*time.Millisecond)
	ended := mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 2, Callee: 2}, 20*time.Millisecond)
	untimed := mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 3, Callee: 2}, 0)
	if _, ok := cs.Finish(ended.Callee, ended.Invocation); !ok {
		t.Fatal("Finish")
	}
	select {
	case got := <-fired:
		if got != c {
			t.Fatalf("timed out %+v, want %+v", got, c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout after 5s")
	}
	if _, ok := cs.Finish(c.Callee, c.Invocation); ok {
		t.Error("Finish after the timeout")
	}
	if _, ok := cs.Cancel(c.Caller, c.CallerRequest); ok {
		t.Error("Cancel after the timeout")
	}
	// Neither the ended call nor the one without timeout times out, nor
	// the first one twice.
	time.Sleep(50 * time.Millisecond)
	select {
	case got := <-fired:
		t.Fatalf("second timeout: %+v", got)
	default:
	}
	if cs.Len() != 1 {
		t.Fatalf("Len = %d, want 1", cs.Len())
	}
	if _, ok := cs.Progress(untimed.Callee, untimed.Invocation); !ok {
		t.Fatal("the call without timeout ended")
	}
}

// TestCallsTimeoutCallback checks onTimeout runs after the call was
// removed and may use the Calls.
func TestCallsTimeoutCallback(t *testing.T) {
	done := make(chan int, 1)
	var cs *dealer.Calls
	cs = dealer.NewCalls(func(c dealer.Call) {
		_, ok := cs.Finish(c.Callee, c.Invocation)
		if ok {
			t.Error("the call was still in flight in onTimeout")
		}
		done <- cs.Len()
	})
	defer cs.Close()
	mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: 1, Callee: 2}, time.Millisecond)
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("Len in onTimeout = %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout after 5s")
	}
}

func TestCallsClose(t *testing.T) {
	var closed atomic.Bool
	var timeouts atomic.Int64
	cs := dealer.NewCalls(func(dealer.Call) {
		time.Sleep(time.Millisecond) // still running when Close starts
		if closed.Load() {
			t.Error("onTimeout after Close returned")
		}
		timeouts.Add(1)
	})
	for i := range 200 {
		// Timeouts from 0.5 to 3ms race Close; those of an hour are stopped.
		timeout := time.Hour
		if i%2 == 0 {
			timeout = time.Duration(500+i*12) * time.Microsecond
		}
		mustStart(t, cs, dealer.Call{Caller: 1, CallerRequest: uint64(i + 1), Callee: 2}, timeout)
	}
	time.Sleep(time.Millisecond)
	cs.Close()
	closed.Store(true)
	if cs.Len() != 0 {
		t.Fatalf("Len after Close = %d", cs.Len())
	}
	n := timeouts.Load()
	if n > 100 {
		t.Fatalf("%d timeouts of 100 timed calls", n)
	}
	if _, err := cs.Start(dealer.Call{Caller: 1, CallerRequest: 1000, Callee: 2}, time.Millisecond); !errors.Is(err, dealer.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	cs.Close() // twice is fine
	time.Sleep(10 * time.Millisecond)
	if timeouts.Load() != n {
		t.Fatal("timeouts after Close")
	}
	// goleak in TestMain checks that no timer goroutine is left.
}

// TestCallsAnsweredOnce ends calls by every path at once, timeouts
// included, and checks that each call is reported by exactly one.
func TestCallsAnsweredOnce(t *testing.T) {
	const (
		callers = 4
		callees = 4
		n       = 2000
	)
	var mu sync.Mutex
	ended := map[uint64]int{} // by Token
	record := func(c dealer.Call) {
		mu.Lock()
		ended[c.Token.(uint64)]++
		mu.Unlock()
	}
	cs := dealer.NewCalls(record)
	var started []dealer.Call
	for i := range uint64(n) {
		timeout := time.Duration(0)
		if i%3 == 0 {
			timeout = time.Duration(rand.IntN(2000)) * time.Microsecond
		}
		started = append(started, mustStart(t, cs, dealer.Call{Caller: dealer.SessionID(i % callers), CallerRequest: i,
			Callee: dealer.SessionID(100 + i%callees), Token: i}, timeout))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i, c := range started {
				if i%8 != g && i%5 != g { // two goroutines race for each call
					continue
				}
				var got dealer.Call
				var ok bool
				switch (i + g) % 4 {
				case 0:
					got, ok = cs.Finish(c.Callee, c.Invocation)
				case 1:
					got, ok = cs.Cancel(c.Caller, c.CallerRequest)
				case 2:
					if _, ok = cs.Progress(c.Callee, c.Invocation); ok {
						got, ok = cs.Finish(c.Callee, c.Invocation)
					}
				case 3:
					if i%100 == 0 {
						for _, gone := range cs.CalleeGone(c.Callee) {
							record(gone)
						}
					} else if i%100 == 1 {
						for _, gone := range cs.CallerGone(c.Caller) {
							record(gone)
						}
					}
				}
				if ok {
					record(got)
				}
			}
		})
	}
	wg.Wait()
	// End the rest.
	for s := range dealer.SessionID(callees) {
		for _, c := range cs.CalleeGone(100 + s) {
			record(c)
		}
	}
	cs.Close()
	if cs.Len() != 0 {
		t.Fatalf("Len = %d at the end", cs.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range uint64(n) {
		if ended[i] != 1 {
			t.Errorf("call %d ended %d times", i, ended[i])
		}
	}
}
