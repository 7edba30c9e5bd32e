package zmqpush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"

	"github.com/heraldws/herald/push"
)

// Name is the provider name of this transport: the key of its section
// under `pushers:`, the `--via` of `herald push`, and the provider passed
// to the server's push hooks, as Gos's alias "zmq".
const Name = "zmq"

// drainMisses is how many consecutive empty reads end the drain of
// zmq4's receive queue at shutdown (see Handler.Run).
const drainMisses = 64

// Handler is the ZeroMQ push handler: a PULL socket bound at the
// configured endpoint, as Gos's ZmqServerPushHandler binds one. Any number
// of PUSH sockets (php-zmq, pyzmq, a Pusher) may connect to it.
//
// Each message must be one frame holding {"topic": channel, "data": data}.
// A multi-frame message is delivered with its first frame as the body; the
// other frames are dropped, counted in Stats().MultiFrame and logged as a
// warning. (Gos listened to react/zmq's "message" event, which fires for
// single-frame messages only, so it ignored multi-frame ones silently.)
//
// The methods of a Handler are safe for concurrent use; Run must not be
// called again before the previous Run returned.
type Handler struct {
	cfg      Config
	endpoint string
	log      *slog.Logger

	running atomic.Bool
	ready   chan struct{} // closed when Run first bound its socket
	once    sync.Once

	mu   sync.Mutex
	addr net.Addr

	received, succeeded, failed, multiFrame atomic.Uint64
}

var _ push.Handler = (*Handler)(nil)

// NewHandler checks cfg and returns a Handler; nothing is bound before Run.
func NewHandler(cfg Config) (*Handler, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Handler{
		cfg:      c,
		endpoint: c.Endpoint(),
		log:      c.Logger.With("push_handler", Name),
		ready:    make(chan struct{}),
	}, nil
}

// Name implements push.Handler: "zmq".
func (h *Handler) Name() string { return Name }

// Endpoint returns the endpoint the handler binds, such as
// "tcp://127.0.0.1:5555".
func (h *Handler) Endpoint() string { return h.endpoint }

// Ready is closed once Run has bound its socket for the first time (after
// Config.ConsumeDelay).
func (h *Handler) Ready() <-chan struct{} { return h.ready }

// Addr returns the address the socket is bound to while Run runs, or nil.
func (h *Handler) Addr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// HandlerStats counts the messages a Handler received and their outcomes.
type HandlerStats struct {
	// Received counts the messages read from the socket.
	Received uint64
	// Succeeded counts push_success outcomes: the sink accepted the push.
	Succeeded uint64
	// Failed counts push_fail outcomes: undecodable, unrouted or refused.
	Failed uint64
	// MultiFrame counts messages of more than one frame (first frame used).
	MultiFrame uint64
}

// Stats returns the handler's counters since NewHandler.
func (h *Handler) Stats() HandlerStats {
	return HandlerStats{
		Received:   h.received.Load(),
		Succeeded:  h.succeeded.Load(),
		Failed:     h.failed.Load(),
		MultiFrame: h.multiFrame.Load(),
	}
}

// Run implements push.Handler. It binds the PULL socket, returning the
// error if it cannot (address in use, bad path), then delivers every
// message to sink through push.Deliver, in the order the socket yields
// them, and passes each outcome to report (which may be nil). There is no
// acknowledgement in ZeroMQ: a failed message is reported and dropped, as
// in Gos. A message already received is delivered even when ctx ends
// meanwhile. Run returns nil once ctx ends, after closing the socket.
//
// With Config.ConsumeDelay, Run first checks that the endpoint can be
// bound (listening on it and closing it at once, before any peer
// completes a ZMTP handshake), returning the error if not, then waits the
// delay before it binds: meanwhile PUSH peers keep their messages queued.
func (h *Handler) Run(ctx context.Context, sink push.Sink, report func(push.Event)) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("zmqpush: Handler.Run called while already running")
	}
	defer h.running.Store(false)
	if err := h.holdBack(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}

	// The socket's goroutines live on sctx: cancelling it (ctx ending, or
	// the deferred cancel) makes Recv return.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sock := zmq4.NewPull(sctx, zmq4.WithLogger(slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)))
	if err := sock.Listen(h.endpoint); err != nil {
		sock.Close()
		return fmt.Errorf("zmqpush: binding PULL socket at %s: %w", h.endpoint, err)
	}
	h.mu.Lock()
	h.addr = sock.Addr()
	h.mu.Unlock()
	h.once.Do(func() { close(h.ready) })
	h.log.Info("zmq push handler listening", "endpoint", h.endpoint, "addr", sock.Addr().String())

	deliverCtx := context.WithoutCancel(ctx)
	for {
		msg, err := sock.Recv()
		if err == nil {
			h.handle(deliverCtx, msg, sink, report)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		// A peer went away (a PHP request ends, closing its PUSH socket):
		// zmq4 reports it through Recv. Other peers are unaffected.
		h.log.Debug("zmq peer connection ended", "err", err)
	}

	cancel()
	err := sock.Close()
	// zmq4 hands received messages to Recv through a small queue its
	// connection readers block on when it is full. Empty it so that no
	// reader stays blocked, delivering what was already received: Recv
	// on a cancelled socket returns a queued message or the context's
	// error at random, so the queue is empty once it has failed
	// drainMisses times in a row.
	for misses := 0; misses < drainMisses; {
		msg, rerr := sock.Recv()
		if rerr != nil {
			misses++
			continue
		}
		misses = 0
		h.handle(deliverCtx, msg, sink, report)
	}
	h.mu.Lock()
	h.addr = nil
	h.mu.Unlock()
	if err != nil {
		h.log.Debug("zmq push handler: closing the socket", "err", err)
	}
	h.log.Info("zmq push handler stopped", "endpoint", h.endpoint)
	return nil
}

// holdBack waits Config.ConsumeDelay or until ctx ends, after checking
// that the endpoint can be bound.
func (h *Handler) holdBack(ctx context.Context) error {
	if h.cfg.ConsumeDelay <= 0 {
		return nil
	}
	if err := probeBind(h.cfg.Protocol, h.endpoint); err != nil {
		return fmt.Errorf("zmqpush: binding PULL socket at %s: %w", h.endpoint, err)
	}
	h.log.Info("zmq push handler: binding after consume_delay, so that reconnecting clients are subscribed first; PUSH peers queue meanwhile",
		"endpoint", h.endpoint, "bind_in", h.cfg.ConsumeDelay)
	t := time.NewTimer(h.cfg.ConsumeDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// probeBind listens on endpoint as zmq4 would bind it, and closes the
// listener at once without accepting: a peer that connected meanwhile
// sees its connection reset before any handshake, and libzmq keeps its
// messages and reconnects.
func probeBind(protocol, endpoint string) error {
	network := protocol
	if protocol == "ipc" {
		network = "unix"
	}
	addr, err := transport.New(network).Addr(strings.TrimPrefix(endpoint, protocol+"://"))
	if err != nil {
		return err
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// handle delivers one message and reports its outcome.
func (h *Handler) handle(ctx context.Context, msg zmq4.Msg, sink push.Sink, report func(push.Event)) {
	h.received.Add(1)
	var body []byte
	if len(msg.Frames) > 0 {
		body = msg.Frames[0]
	}
	if len(msg.Frames) > 1 {
		h.multiFrame.Add(1)
		h.log.Warn("zmq push handler: multi-frame message, only the first frame is used", "frames", len(msg.Frames))
	}
	ev := push.Deliver(ctx, Name, body, sink)
	if ev.Success() {
		h.succeeded.Add(1)
	} else {
		h.failed.Add(1)
	}
	if report != nil {
		report(ev)
	}
}
