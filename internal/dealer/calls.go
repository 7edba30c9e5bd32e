package dealer

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Call is a call in flight from a caller to a callee.
type Call struct {
	// Caller is the session that sent the CALL.
	Caller SessionID
	// CallerRequest is the CALL's request id, which the RESULT or ERROR to
	// the caller carries.
	CallerRequest uint64
	// Callee is the session the call went to.
	Callee SessionID
	// Invocation is the INVOCATION request id sent to the callee, which its
	// YIELD or ERROR carries. Start assigns it.
	Invocation uint64
	// Registration is the id of the registration the call was routed by.
	Registration uint64
	// Procedure is the procedure the caller called.
	Procedure string
	// ReceiveProgress reports that the caller asked for progressive
	// results.
	ReceiveProgress bool
	// Token is the server's own, such as a v1 call id; Calls only keeps it.
	Token any
}

// entry is a call in flight and its timeout timer, if any.
type entry struct {
	call  Call
	timer *time.Timer
}

// Calls holds the calls in flight of one realm. It is safe for concurrent
// use. Each call ends once: see the package doc.
type Calls struct {
	onTimeout func(Call)

	mu sync.Mutex
	// byCallee maps callee, then invocation id, to each call; byCaller
	// maps caller, then caller request id, to the same.
	byCallee map[SessionID]map[uint64]*entry
	byCaller map[SessionID]map[uint64]*entry
	n        int
	lastInv  uint64
	closed   bool
	// timers counts the timers that may still run their func: added when
	// one starts, done when it is stopped before firing or its func
	// returns. Close waits for it.
	timers sync.WaitGroup
}

// NewCalls returns an empty Calls. onTimeout, which may be nil, is called
// with each call that ends by its timeout, in the timer's goroutine,
// after the call was removed; it must not call Close.
func NewCalls(onTimeout func(Call)) *Calls {
	return &Calls{
		onTimeout: onTimeout,
		byCallee:  map[SessionID]map[uint64]*entry{},
		byCaller:  map[SessionID]map[uint64]*entry{},
	}
}

// Start puts c in flight with a new Invocation id and returns it. When
// timeout is positive, the call ends by itself after timeout and goes to
// onTimeout. It fails with an error wrapping ErrRequestInFlight when the
// caller has a call of the same request id in flight, and with ErrClosed
// after Close.
func (cs *Calls) Start(c Call, timeout time.Duration) (Call, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return Call{}, fmt.Errorf("dealer: call %d of session %d: %w", c.CallerRequest, c.Caller, ErrClosed)
	}
	if cs.byCaller[c.Caller][c.CallerRequest] != nil {
		return Call{}, fmt.Errorf("dealer: call %d of session %d: %w", c.CallerRequest, c.Caller, ErrRequestInFlight)
	}
	invs := cs.byCallee[c.Callee]
	c.Invocation = nextID(cs.lastInv, func(id uint64) bool { return invs[id] != nil })
	cs.lastInv = c.Invocation
	e := &entry{call: c}
	put(cs.byCallee, c.Callee, c.Invocation, e)
	put(cs.byCaller, c.Caller, c.CallerRequest, e)
	cs.n++
	if timeout > 0 {
		cs.timers.Add(1)
		e.timer = time.AfterFunc(timeout, func() { cs.expire(e) })
	}
	return c, nil
}

func put(m map[SessionID]map[uint64]*entry, s SessionID, id uint64, e *entry) {
	ids := m[s]
	if ids == nil {
		ids = map[uint64]*entry{}
		m[s] = ids
	}
	ids[id] = e
}

func drop(m map[SessionID]map[uint64]*entry, s SessionID, id uint64) {
	if ids := m[s]; len(ids) == 1 {
		delete(m, s)
	} else {
		delete(ids, id)
	}
}

// end removes e and stops its timer. The caller holds the lock.
func (cs *Calls) end(e *entry) {
	drop(cs.byCallee, e.call.Callee, e.call.Invocation)
	drop(cs.byCaller, e.call.Caller, e.call.CallerRequest)
	cs.n--
	if e.timer != nil && e.timer.Stop() {
		cs.timers.Done() // its func will not run
	}
}

// expire is the timer func of e.
func (cs *Calls) expire(e *entry) {
	defer cs.timers.Done()
	cs.mu.Lock()
	if cs.byCallee[e.call.Callee][e.call.Invocation] != e {
		cs.mu.Unlock() // ended another way meanwhile, or closed
		return
	}
	cs.end(e)
	cs.mu.Unlock()
	if cs.onTimeout != nil {
		cs.onTimeout(e.call)
	}
}

// Progress returns the call of callee's invocation id, which stays in
// flight: a progressive YIELD.
func (cs *Calls) Progress(callee SessionID, invocation uint64) (Call, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if e := cs.byCallee[callee][invocation]; e != nil {
		return e.call, true
	}
	return Call{}, false
}

// Finish ends the call of callee's invocation id and returns it: the
// final YIELD or the callee's ERROR. ok is false when no such call is in
// flight, as when it ended another way.
func (cs *Calls) Finish(callee SessionID, invocation uint64) (Call, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.byCallee[callee][invocation]
	if e == nil {
		return Call{}, false
	}
	cs.end(e)
	return e.call, true
}

// Find returns the call of caller's request id, which stays in flight, as
// for the cancel mode "kill".
func (cs *Calls) Find(caller SessionID, callerRequest uint64) (Call, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if e := cs.byCaller[caller][callerRequest]; e != nil {
		return e.call, true
	}
	return Call{}, false
}

// Cancel ends the call of caller's request id and returns it: a CANCEL.
// ok is false when no such call is in flight.
func (cs *Calls) Cancel(caller SessionID, callerRequest uint64) (Call, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.byCaller[caller][callerRequest]
	if e == nil {
		return Call{}, false
	}
	cs.end(e)
	return e.call, true
}

// CalleeGone ends the calls to callee, as when its session ends, and
// returns them in Invocation order.
func (cs *Calls) CalleeGone(callee SessionID) []Call {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.endAll(cs.byCallee[callee], func(a, b Call) int { return cmp.Compare(a.Invocation, b.Invocation) })
}

// CallerCalls returns how many calls caller has in flight.
func (cs *Calls) CallerCalls(caller SessionID) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.byCaller[caller])
}

// CallerGone ends the calls of caller, as when its session ends, and
// returns them in CallerRequest order.
func (cs *Calls) CallerGone(caller SessionID) []Call {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.endAll(cs.byCaller[caller], func(a, b Call) int { return cmp.Compare(a.CallerRequest, b.CallerRequest) })
}

// endAll ends the calls of ids, one of the maps of byCallee or byCaller,
// and returns them sorted by order. The caller holds the lock.
func (cs *Calls) endAll(ids map[uint64]*entry, order func(a, b Call) int) []Call {
	var calls []Call
	for _, e := range ids {
		calls = append(calls, e.call)
		cs.end(e) // deleting from ids while ranging over it is fine
	}
	slices.SortFunc(calls, order)
	return calls
}

// Len returns the number of calls in flight.
func (cs *Calls) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.n
}

// Close ends every call without answer and stops their timers; it
// returns once no onTimeout runs, and none runs after. Start then fails.
// Close may be called more than once.
func (cs *Calls) Close() {
	cs.mu.Lock()
	cs.closed = true
	for _, ids := range cs.byCallee {
		for _, e := range ids {
			cs.end(e)
		}
	}
	cs.mu.Unlock()
	cs.timers.Wait()
}
