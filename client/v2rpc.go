package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/heraldws/herald/wamp"
)

// CallOptions are the options of CallV2.
type CallOptions struct {
	// Timeout, when positive, asks the router to cancel the call after
	// that long (the "timeout" option, in whole milliseconds, rounded up):
	// the call then fails with a *CallError such as wamp.error.timeout.
	// ctx bounds the call on the client's side in any case.
	Timeout time.Duration
	// ReceiveProgress, when set, asks for progressive results
	// (receive_progress) and is called with each, in order, on the
	// goroutine that called CallV2, before CallV2 returns the final
	// result.
	ReceiveProgress func(wamp.Payload)
	// DiscloseMe asks the router to tell the callee who called (see
	// Invocation.Caller); a router may refuse, with
	// wamp.error.option_disallowed.disclose_me.
	DiscloseMe bool
	// CancelMode is the mode of the CANCEL sent when ctx ends first:
	// wamp.CancelKillNoWait (the zero value), wamp.CancelKill or
	// wamp.CancelSkip.
	CancelMode wamp.CancelMode
}

// Handler runs one invocation of a registered procedure, on a goroutine of
// its own that the Client owns. ctx is canceled when the caller cancels
// the call (an INTERRUPT), when the router's timeout for it (if it told
// one) passes, and when the Client closes or its connection goes; the
// handler must then return soon. A nil error sends its payload as the
// YIELD. A *CallError sends an ERROR with its URI and its Payload (or,
// when that is empty, its Description as the only argument) and its
// Details when they are a dict. The context's own error, once it is done,
// sends wamp.error.canceled (wamp.error.timeout for a deadline); any other
// error sends URIRuntimeError with the error's text. A panic is not
// recovered.
type Handler func(ctx context.Context, inv Invocation) (wamp.Payload, error)

// RegisterOptions are the options of Register.
type RegisterOptions struct {
	// Match is the match policy: wamp.MatchPolicyExact (the default),
	// wamp.MatchPolicyPrefix or wamp.MatchPolicyWildcard. Pattern
	// registrations see the called URI as Invocation.Procedure.
	Match wamp.MatchPolicy
	// Invoke is the shared registration policy: wamp.InvokeSingle (the
	// default, one callee per procedure), wamp.InvokeRoundRobin,
	// wamp.InvokeRandom, wamp.InvokeFirst or wamp.InvokeLast.
	Invoke wamp.InvokePolicy
	// DiscloseCaller asks the router to tell the handler who called every
	// time (see Invocation.Caller).
	DiscloseCaller bool
}

// Invocation is a call to a registered procedure, as a Handler receives it.
type Invocation struct {
	// Procedure is the URI called: INVOCATION.Details.procedure, which the
	// router sends for pattern registrations, else the registered one.
	Procedure string
	// Registration is the registration id, as Register returned it.
	Registration uint64
	// Request is the INVOCATION's request id.
	Request uint64
	// Payload holds the call's arguments.
	Payload wamp.Payload
	// Caller, CallerAuthID and CallerAuthRole identify the caller when the
	// router disclosed it; zero otherwise.
	Caller                       uint64
	CallerAuthID, CallerAuthRole string
	// ReceiveProgress reports whether the caller asked for progressive
	// results, which Progress sends.
	ReceiveProgress bool
	// Timeout is the caller's timeout when the router forwarded it; the
	// handler's ctx has the matching deadline.
	Timeout time.Duration
	// Details is the INVOCATION.Details dict as raw JSON.
	Details json.RawMessage

	st *invocationState
}

// invocationState is shared by the copies of an Invocation.
type invocationState struct {
	c      *Client
	cancel context.CancelCauseFunc
	ctx    context.Context

	mu   sync.Mutex // serializes the YIELDs; guards done
	done bool       // the final answer went out
}

// errInterrupted is the cause of a handler context canceled by INTERRUPT.
var errInterrupted = errors.New("client: the call was canceled (INTERRUPT)")

// Progress sends p as a progressive result (a YIELD with progress=true).
// It fails when the caller did not ask for progressive results (see
// ReceiveProgress), once the handler has returned, and once its ctx is
// done.
func (inv Invocation) Progress(p wamp.Payload) error {
	st := inv.st
	if st == nil {
		return errors.New("client: Progress on an Invocation the Client did not make")
	}
	if !inv.ReceiveProgress {
		return fmt.Errorf("client: the caller of %s did not ask for progressive results", inv.Procedure)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return fmt.Errorf("client: the invocation of %s has ended", inv.Procedure)
	}
	if err := st.ctx.Err(); err != nil {
		return fmt.Errorf("client: the invocation of %s was canceled: %w", inv.Procedure, context.Cause(st.ctx))
	}
	return st.c.sendV2(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{"progress":true}`), Payload: p})
}

// CallV2 calls procedure with payload and waits for the final result. An
// ERROR is a *CallError with the URI and payload; ctx ending first sends
// a CANCEL (opts.CancelMode) and returns ctx.Err(); the connection going
// first returns an error wrapping ErrClosed. WAMP v2 only.
func (c *Client) CallV2(ctx context.Context, procedure string, payload wamp.Payload, opts CallOptions) (wamp.Payload, error) {
	s := c.v2
	if s == nil {
		return wamp.Payload{}, ErrNotV2
	}
	if err := ctx.Err(); err != nil {
		return wamp.Payload{}, err
	}
	options, err := callOptionsJSON(&opts)
	if err != nil {
		return wamp.Payload{}, err
	}
	req := &request{typ: wamp.V2Call, done: make(chan v2reply, 1)}
	if opts.ReceiveProgress != nil {
		req.notify = make(chan struct{}, 1)
	}
	id, err := s.add(req)
	if err != nil {
		return wamp.Payload{}, err
	}
	if err := c.sendV2(&wamp.Call{Request: id, Options: options, Procedure: procedure, Payload: payload}); err != nil {
		s.abandon(id, req, true)
		return wamp.Payload{}, err
	}
	for {
		select {
		case <-req.notify: // nil without ReceiveProgress
			req.flushProgress(opts.ReceiveProgress)
		case r := <-req.done:
			return req.final(r, opts.ReceiveProgress)
		case <-ctx.Done():
			if !s.abandon(id, req, true) {
				return req.final(<-req.done, opts.ReceiveProgress)
			}
			cancel := json.RawMessage(`{"mode":"` + opts.CancelMode.String() + `"}`)
			_ = c.sendV2(&wamp.Cancel{Request: id, Options: cancel})
			return wamp.Payload{}, ctx.Err()
		}
	}
}

// final delivers the progressive results still queued, then the answer.
func (req *request) final(r v2reply, progress func(wamp.Payload)) (wamp.Payload, error) {
	if progress != nil {
		req.flushProgress(progress)
	}
	if r.err != nil {
		return wamp.Payload{}, r.err
	}
	return r.msg.(*wamp.Result).Payload, nil
}

func (req *request) pushProgress(p wamp.Payload) {
	req.pmu.Lock()
	req.progress = append(req.progress, p)
	req.pmu.Unlock()
	select {
	case req.notify <- struct{}{}:
	default:
	}
}

func (req *request) flushProgress(fn func(wamp.Payload)) {
	for {
		req.pmu.Lock()
		queue := req.progress
		req.progress = nil
		req.pmu.Unlock()
		if len(queue) == 0 {
			return
		}
		for _, p := range queue {
			fn(p)
		}
	}
}

func callOptionsJSON(o *CallOptions) (json.RawMessage, error) {
	m := map[string]any{}
	if o.Timeout > 0 {
		m["timeout"] = (o.Timeout + time.Millisecond - 1) / time.Millisecond
	}
	if o.ReceiveProgress != nil {
		m["receive_progress"] = true
	}
	if o.DiscloseMe {
		m["disclose_me"] = true
	}
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("client: CALL options: %w", err)
	}
	return b, nil
}

// resultIsProgress reports whether RESULT.Details has progress=true.
func resultIsProgress(details json.RawMessage) bool {
	if emptyJSON(details) {
		return false
	}
	var d struct {
		Progress bool `json:"progress"`
	}
	_ = json.Unmarshal(details, &d)
	return d.Progress
}

// callCompat is Call in WAMP v2.
func (c *Client) callCompat(ctx context.Context, procedure string, args []any) (json.RawMessage, error) {
	raws := make([]json.RawMessage, len(args))
	for i, a := range args {
		var err error
		if raws[i], err = marshal(a); err != nil {
			return nil, err
		}
	}
	list, err := json.Marshal(raws)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	p, err := c.CallV2(ctx, procedure, wamp.Payload{Args: list}, CallOptions{})
	if err != nil {
		return nil, err
	}
	return compatResult(p)
}

// compatResult maps a RESULT payload to Call's single JSON value.
func compatResult(p wamp.Payload) (json.RawMessage, error) {
	if arg, ok := p.SingleArg(); ok {
		return arg, nil
	}
	if emptyJSON(p.Args) && emptyJSON(p.Kwargs) {
		return json.RawMessage("null"), nil
	}
	args, kwargs := p.Args, p.Kwargs
	if len(args) == 0 {
		args = json.RawMessage("[]")
	}
	if len(kwargs) == 0 {
		kwargs = json.RawMessage("{}")
	}
	b, err := json.Marshal(struct {
		Args   json.RawMessage `json:"args"`
		Kwargs json.RawMessage `json:"kwargs"`
	}{args, kwargs})
	if err != nil {
		return nil, fmt.Errorf("client: RESULT payload: %w", err)
	}
	return b, nil
}

// Register registers handler for procedure (a URI, or a pattern with
// opts.Match) and waits for the router's answer. It returns the
// registration id, a *RequestError when the router refuses (such as
// wamp.error.procedure_already_exists), or ctx.Err(). Each invocation
// runs handler on a goroutine of its own, which Close waits for. WAMP v2
// only.
func (c *Client) Register(ctx context.Context, procedure string, handler Handler, opts RegisterOptions) (uint64, error) {
	if c.v2 == nil {
		return 0, ErrNotV2
	}
	if handler == nil {
		return 0, errors.New("client: Register with a nil handler")
	}
	m := map[string]any{}
	if opts.Match != wamp.MatchPolicyExact {
		m["match"] = opts.Match.String()
	}
	if opts.Invoke != wamp.InvokeSingle {
		m["invoke"] = opts.Invoke.String()
	}
	if opts.DiscloseCaller {
		m["disclose_caller"] = true
	}
	var options json.RawMessage
	if len(m) > 0 {
		var err error
		if options, err = json.Marshal(m); err != nil {
			return 0, fmt.Errorf("client: REGISTER options: %w", err)
		}
	}
	req := &request{typ: wamp.V2Register, procedure: procedure, handler: handler}
	reply, err := c.request(ctx, req, func(id uint64) wamp.Message {
		return &wamp.Register{Request: id, Options: options, Procedure: procedure}
	})
	if err != nil {
		return 0, err
	}
	return reply.(*wamp.Registered).Registration, nil
}

// Unregister removes the registration with the id Register returned and
// waits for the UNREGISTERED. Invocations already running go on. WAMP v2
// only.
func (c *Client) Unregister(ctx context.Context, registration uint64) error {
	if c.v2 == nil {
		return ErrNotV2
	}
	_, err := c.request(ctx, &request{typ: wamp.V2Unregister, target: registration}, func(id uint64) wamp.Message {
		return &wamp.Unregister{Request: id, Registration: registration}
	})
	return err
}

// invoke starts the handler of an INVOCATION; it runs on the reader
// goroutine.
func (c *Client) invoke(m *wamp.Invocation) {
	s := c.v2
	inv := Invocation{Registration: m.Registration, Request: m.Request, Payload: m.Payload, Details: m.Details}
	if !emptyJSON(m.Details) {
		var d struct {
			Procedure       string  `json:"procedure"`
			Caller          uint64  `json:"caller"`
			CallerAuthID    string  `json:"caller_authid"`
			CallerAuthRole  string  `json:"caller_authrole"`
			ReceiveProgress bool    `json:"receive_progress"`
			Timeout         float64 `json:"timeout"`
		}
		_ = json.Unmarshal(m.Details, &d)
		inv.Procedure = d.Procedure
		inv.Caller, inv.CallerAuthID, inv.CallerAuthRole = d.Caller, d.CallerAuthID, d.CallerAuthRole
		inv.ReceiveProgress = d.ReceiveProgress
		if d.Timeout > 0 {
			inv.Timeout = time.Duration(d.Timeout * float64(time.Millisecond))
		}
	}

	s.mu.Lock()
	reg := s.regs[m.Registration]
	if reg == nil || s.closing || s.ended {
		s.mu.Unlock()
		uri := wamp.URINoSuchRegistration
		if reg != nil {
			uri = wamp.URICanceled
		}
		_ = c.sendV2(&wamp.Error{RequestType: wamp.V2Invocation, Request: m.Request, URI: uri})
		return
	}
	if inv.Procedure == "" {
		inv.Procedure = reg.procedure
	}
	parent := s.ctx
	var stopTimer context.CancelFunc = func() {}
	if inv.Timeout > 0 {
		parent, stopTimer = context.WithTimeout(parent, inv.Timeout)
	}
	ctx, cancel := context.WithCancelCause(parent)
	st := &invocationState{c: c, cancel: cancel, ctx: ctx}
	inv.st = st
	s.invs[m.Request] = st
	s.handlers.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.handlers.Done()
		defer stopTimer()
		defer cancel(nil)
		p, err := reg.handler(ctx, inv)
		s.mu.Lock()
		delete(s.invs, inv.Request)
		s.mu.Unlock()
		st.mu.Lock()
		defer st.mu.Unlock()
		st.done = true
		var answer wamp.Message = &wamp.Yield{Request: inv.Request, Payload: p}
		if err != nil {
			answer = invocationError(ctx, inv.Request, err)
		}
		if _, encErr := s.codec.Append(nil, answer); encErr != nil {
			answer = runtimeError(inv.Request, fmt.Sprintf("client: the handler's answer cannot be encoded: %v", encErr))
		}
		_ = c.sendV2(answer)
	}()
}

// invocationError maps a handler's error to the ERROR answering the
// INVOCATION.
func invocationError(ctx context.Context, request uint64, err error) *wamp.Error {
	var ce *CallError
	if errors.As(err, &ce) && ce.URI != "" {
		m := &wamp.Error{RequestType: wamp.V2Invocation, Request: request, URI: ce.URI, Payload: ce.Payload}
		if m.Payload.IsZero() && ce.Description != "" {
			m.Payload = stringArgs(ce.Description)
		}
		if len(ce.Details) > 0 && ce.Details[0] == '{' && json.Valid(ce.Details) {
			m.Details = ce.Details
		}
		return m
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		uri := wamp.URICanceled
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			uri = wamp.URITimeout
		}
		return &wamp.Error{RequestType: wamp.V2Invocation, Request: request, URI: uri, Payload: stringArgs(err.Error())}
	}
	return runtimeError(request, err.Error())
}

func runtimeError(request uint64, msg string) *wamp.Error {
	return &wamp.Error{RequestType: wamp.V2Invocation, Request: request, URI: URIRuntimeError, Payload: stringArgs(msg)}
}

// stringArgs is the positional arguments [s]; json.Marshal makes any
// invalid UTF-8 valid.
func stringArgs(s string) wamp.Payload {
	b, err := json.Marshal([]string{s})
	if err != nil {
		b = []byte(`[` + strconv.Quote("unprintable error") + `]`)
	}
	return wamp.Payload{Args: b}
}
