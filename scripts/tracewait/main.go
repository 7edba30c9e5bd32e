// Command tracewait reads a Go execution trace of herald serve (from
// --pprof's /debug/pprof/trace) and reports how long goroutines waited
// before they could run, which is what a publisher that sends one request
// at a time feels:
//
//   - network waits of the HTTP connections (net/http's conn.serve), from
//     the block in Read to runnable, and who made them runnable: the
//     scheduler's own poll, or the monitor thread's 10 ms poll (no P);
//   - the longest runnable-to-running waits of any goroutine, and the
//     system call that held the processor meanwhile, if one did.
//
// Usage, with the load running:
//
//	herald serve -c herald.yaml --pprof 127.0.0.1:6060
//	curl -o trace.out 'http://127.0.0.1:6060/debug/pprof/trace?seconds=1'
//	cd scripts/tracewait && go run . ../../trace.out
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracewait TRACE_FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tracewait:", err)
		os.Exit(1)
	}
}

// wait is one runnable-to-running wait.
type wait struct {
	start, end trace.Time
}

// call is a system call that lasted long enough to matter.
type call struct {
	start, end trace.Time
	fn         string
}

func run(path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var (
		start      trace.Time
		isHTTP     = map[trace.GoID]bool{}
		netBlocked = map[trace.GoID]trace.Time{}
		runnableAt = map[trace.GoID]trace.Time{}
		syscallAt  = map[trace.GoID]call{}
		longCalls  []call
		netWaits   = map[string][]time.Duration{}
		worstWaits []wait
	)
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if start == 0 {
			start = ev.Time()
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if has(st.Stack, "net/http.(*conn).serve") {
			isHTTP[g] = true
		}
		switch {
		case to == trace.GoSyscall:
			syscallAt[g] = call{start: ev.Time(), fn: top(st.Stack)}
		case from == trace.GoSyscall:
			if c, ok := syscallAt[g]; ok && ev.Time().Sub(c.start) > time.Millisecond {
				c.end = ev.Time()
				longCalls = append(longCalls, c)
			}
			delete(syscallAt, g)
		}
		if to == trace.GoWaiting && isHTTP[g] && strings.Contains(st.Reason, "network") {
			netBlocked[g] = ev.Time()
		}
		if from == trace.GoWaiting && to == trace.GoRunnable {
			if t, ok := netBlocked[g]; ok {
				delete(netBlocked, g)
				waker := "the scheduler's poll"
				if ev.Proc() == trace.NoProc {
					waker = "the monitor thread (sysmon)"
				} else if ev.Goroutine() != trace.NoGoroutine {
					waker = "another goroutine"
				}
				netWaits[waker] = append(netWaits[waker], ev.Time().Sub(t))
			}
		}
		if to == trace.GoRunnable {
			runnableAt[g] = ev.Time()
		}
		if to == trace.GoRunning && from == trace.GoRunnable {
			if t, ok := runnableAt[g]; ok {
				worstWaits = append(worstWaits, wait{start: t, end: ev.Time()})
			}
			delete(runnableAt, g)
		}
	}
	fmt.Fprintln(out, "network waits of HTTP connections (blocked in Read until runnable; includes the client's own time between requests):")
	for waker, ds := range netWaits {
		fmt.Fprintf(out, "  woken by %s: %s\n", waker, summary(ds))
	}
	length := func(w wait) time.Duration { return w.end.Sub(w.start) }
	sort.Slice(worstWaits, func(i, j int) bool { return length(worstWaits[i]) > length(worstWaits[j]) })
	var all []time.Duration
	for _, w := range worstWaits {
		all = append(all, length(w))
	}
	fmt.Fprintf(out, "runnable-to-running waits, every goroutine: %s\n", summary(all))
	for i, w := range worstWaits {
		if i == 5 {
			break
		}
		fmt.Fprintf(out, "  %v at +%v", length(w).Round(time.Microsecond), w.start.Sub(start).Round(time.Microsecond))
		for _, c := range longCalls {
			if c.start < w.end && c.end > w.start {
				fmt.Fprintf(out, "; meanwhile a %v system call in %s", c.end.Sub(c.start).Round(time.Microsecond), c.fn)
				break
			}
		}
		fmt.Fprintln(out)
	}
	return nil
}

func has(s trace.Stack, fn string) bool {
	for f := range s.Frames() {
		if strings.Contains(f.Func, fn) {
			return true
		}
	}
	return false
}

// top names the innermost frame outside the syscall packages.
func top(s trace.Stack) string {
	for f := range s.Frames() {
		if strings.HasPrefix(f.Func, "syscall.") || strings.HasPrefix(f.Func, "internal/") || strings.HasPrefix(f.Func, "runtime.") {
			continue
		}
		return f.Func
	}
	return "?"
}

func summary(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("n=%d p50 %v p90 %v p99 %v max %v", len(d), q(0.5), q(0.9), q(0.99), d[len(d)-1].Round(time.Microsecond))
}
