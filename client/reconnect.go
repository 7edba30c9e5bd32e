package client

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"
)

// Backoff says how long a Reconnecting waits between connection attempts:
// Initial, then each wait Multiplier times the previous one, up to Max,
// each varied at random by up to ±Jitter of itself. Zero fields take the
// defaults.
type Backoff struct {
	// Initial is the first wait. Zero means 100 ms.
	Initial time.Duration
	// Max bounds every wait. Zero means 10 s.
	Max time.Duration
	// Multiplier grows the wait after each failed attempt. Zero (or
	// anything below 1) means 2.
	Multiplier float64
	// Jitter is the fraction of each wait added or taken away at random,
	// so that many clients do not redial in step. Zero means 0.2; a
	// negative value means none. At most 1.
	Jitter float64
}

// withDefaults returns b with its zero fields set to the defaults.
func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier < 1 {
		b.Multiplier = 2
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.2
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// delay returns the wait before attempt n (0 for the first retry).
func (b Backoff) delay(n int) time.Duration {
	d := float64(b.Initial)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		d += d * b.Jitter * (2*mathrand.Float64() - 1)
	}
	return time.Duration(d)
}

// Reconnecting keeps one WAMP session up: it dials on first use,
// redials with backoff whenever the connection goes, and subscribes the
// new session to every topic given to Subscribe. Events arrive through
// Options.OnEvent (or OnEventV2) as with Dial. Use Options.TicketFunc
// rather than Options.Ticket when the server checks expiring tickets.
//
// With a v2 Options.Protocol it keeps a WAMP v2 session up the same way:
// Client.Subscribe then waits for each SUBSCRIBED (bounded by
// Options.RequestTimeout), Publish keeps the v1 meaning of its options
// (see Client.Publish), and a session the router ends with GOODBYE or
// ABORT counts as a connection gone. Registrations and pattern
// subscriptions are not restored: a Reconnecting handles exact topics
// only.
//
// One goroutine, started on first use, owns the connection and does all
// the dialing; Close stops it and waits for it. Its methods are safe for
// concurrent use.
//
// WAMP v1 has no acknowledgements: a PUBLISH written to a connection that
// the server has already dropped, but the client has not yet noticed,
// can be lost. Publish retries only when the write itself fails or the
// connection is known to be gone.
type Reconnecting struct {
	url     string
	opts    Options
	backoff Backoff

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the owner goroutine exits
	kick   chan struct{} // wakes the owner when a Publish found the connection broken

	mu      sync.Mutex // guards the fields below
	started bool
	closed  bool
	cur     *Client
	ready   chan struct{} // closed when cur is set; replaced when it is cleared
	lastErr error         // the last dial error
	topics  map[string]bool
}

// NewReconnecting returns a Reconnecting for rawURL (ws:// or wss://). It
// does not dial: the first Publish or Subscribe does. opts is used for
// every Dial.
func NewReconnecting(rawURL string, opts Options, backoff Backoff) *Reconnecting {
	ctx, cancel := context.WithCancel(context.Background())
	return &Reconnecting{
		url:     rawURL,
		opts:    opts,
		backoff: backoff.withDefaults(),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
		topics:  make(map[string]bool),
	}
}

// start launches the owner goroutine once. r.mu is held.
func (r *Reconnecting) start() {
	if !r.started && !r.closed {
		r.started = true
		go r.run()
	}
}

// Publish publishes event to topic, as Client.Publish does, on the
// current session. It dials if there is none yet and waits for a session
// until ctx ends. When the connection turns out to be gone, or the write
// fails, it waits for the owner goroutine to redial (with backoff) until
// ctx ends and then tries once more. The event is encoded before any
// attempt: an encoding error is returned at once.
func (r *Reconnecting) Publish(ctx context.Context, topic string, event any, opts ...PublishOption) error {
	payload, err := marshal(event)
	if err != nil {
		return err
	}
	c, err := r.client(ctx)
	if err != nil {
		return err
	}
	select {
	case <-c.Done():
		err = ErrClosed
	default:
		err = c.Publish(topic, payload, opts...)
	}
	if err == nil {
		return nil
	}
	r.broken(c)
	c, err2 := r.client(ctx)
	if err2 != nil {
		return fmt.Errorf("%w (after %w)", err2, err)
	}
	return c.Publish(topic, payload, opts...)
}

// Subscribe subscribes to topic now if a session is up, and remembers it
// so that every new session subscribes again. It starts dialing if
// nothing has yet. It fails only after Close, and in WAMP v2 when the
// router refuses the topic (a *RequestError), which is then forgotten.
func (r *Reconnecting) Subscribe(topic string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.topics[topic] = true
	r.start()
	if r.cur != nil {
		// Any other failure means the connection is going: the owner
		// goroutine will redial and subscribe again.
		if err := r.cur.Subscribe(topic); errors.As(err, new(*RequestError)) {
			delete(r.topics, topic)
			return err
		}
	}
	return nil
}

// Unsubscribe forgets topic and unsubscribes the current session, if
// any, from it. It fails only after Close.
func (r *Reconnecting) Unsubscribe(topic string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	delete(r.topics, topic)
	if r.cur != nil {
		_ = r.cur.Unsubscribe(topic)
	}
	return nil
}

// Connected reports whether a session is up at this moment.
func (r *Reconnecting) Connected() bool {
	r.mu.Lock()
	c := r.cur
	r.mu.Unlock()
	if c == nil {
		return false
	}
	select {
	case <-c.Done():
		return false
	default:
		return true
	}
}

// Close stops redialing, closes the current session cleanly (see
// Client.Close) and waits for the owner goroutine. Publish and Subscribe
// fail with ErrClosed afterwards. Close is idempotent and returns nil. It
// must not be called from Options.OnEvent or OnText.
func (r *Reconnecting) Close() error {
	r.mu.Lock()
	started := r.started
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	if started {
		<-r.done
	}
	return nil
}

// client returns the current session, starting the owner goroutine if
// needed and waiting for a session until ctx ends.
func (r *Reconnecting) client(ctx context.Context) (*Client, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		r.start()
		c, ready := r.cur, r.ready
		r.mu.Unlock()
		if c != nil {
			return c, nil
		}
		select {
		case <-ready:
		case <-r.ctx.Done():
			return nil, ErrClosed
		case <-ctx.Done():
			r.mu.Lock()
			lastErr := r.lastErr
			r.mu.Unlock()
			if lastErr != nil {
				return nil, fmt.Errorf("client: not connected: %w (last attempt: %w)", ctx.Err(), lastErr)
			}
			return nil, fmt.Errorf("client: not connected: %w", ctx.Err())
		}
	}
}

// broken tells the owner goroutine that c failed a write.
func (r *Reconnecting) broken(c *Client) {
	r.mu.Lock()
	if r.cur == c {
		r.clearLocked()
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// clearLocked forgets the current session. r.mu is held.
func (r *Reconnecting) clearLocked() {
	if r.cur != nil {
		r.cur = nil
		r.ready = make(chan struct{})
	}
}

// run is the owner goroutine: it dials, subscribes, waits for the
// connection to go, and starts over until Close.
func (r *Reconnecting) run() {
	defer close(r.done)
	attempt := 0
	first := true
	for {
		if !first {
			if !r.sleep(r.backoff.delay(attempt)) {
				return
			}
			attempt++
		}
		first = false
		c, err := Dial(r.ctx, r.url, r.opts)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.mu.Lock()
			r.lastErr = err
			r.mu.Unlock()
			continue
		}
		if !r.install(c) {
			c.Close()
			if r.ctx.Err() != nil {
				return
			}
			continue
		}
		up := time.Now()
		if !r.watch(c) {
			c.Close()
			return
		}
		c.Close()
		if time.Since(up) >= r.backoff.Max {
			attempt = 0 // it was a healthy connection: start the backoff over
		}
	}
}

// install subscribes c to the remembered topics and makes it current; it
// reports false when that failed or Close was called.
func (r *Reconnecting) install(c *Client) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	for topic := range r.topics {
		if err := c.Subscribe(topic); err != nil {
			if errors.As(err, new(*RequestError)) {
				// A v2 router refuses the topic: redialing will not help.
				continue
			}
			r.lastErr = fmt.Errorf("client: subscribing again: %w", err)
			return false
		}
	}
	r.cur, r.lastErr = c, nil
	close(r.ready)
	return true
}

// watch waits until c is gone or found broken (true) or Close is called
// (false). c is no longer current when it returns.
func (r *Reconnecting) watch(c *Client) bool {
	defer func() {
		r.mu.Lock()
		if r.cur == c {
			r.clearLocked()
		}
		r.mu.Unlock()
	}()
	for {
		select {
		case <-c.Done():
			r.mu.Lock()
			r.lastErr = errors.Join(ErrClosed, closeStatusError(c))
			r.mu.Unlock()
			return true
		case <-r.kick:
			r.mu.Lock()
			gone := r.cur != c
			r.mu.Unlock()
			if gone {
				return true
			}
			// A kick about an earlier connection.
		case <-r.ctx.Done():
			return false
		}
	}
}

// closeStatusError describes the CLOSE the server sent c, if any.
func closeStatusError(c *Client) error {
	code, reason := c.CloseStatus()
	var err error
	if code != 0 {
		err = fmt.Errorf("server closed the connection with %d %q", code, reason)
	}
	if bye := c.GoodbyeReason(); bye != "" {
		err = errors.Join(fmt.Errorf("the router ended the session: %s", bye), err)
	}
	return err
}

// sleep waits d; it reports false when Close was called meanwhile.
func (r *Reconnecting) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}
