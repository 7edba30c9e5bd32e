package zmqpush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

// ErrClosed is returned by Push once Close has begun.
var ErrClosed = errors.New("zmqpush: pusher closed")

// dialTimeout bounds one TCP connection attempt.
const dialTimeout = 5 * time.Second

// Pusher sends pushes through a PUSH socket connected to the endpoint, as
// Gos's ZmqPusher does, in the envelope every Gos push handler reads:
// {"topic": channel, "data": data}.
//
// The connection is made in the background and kept: a peer that binds
// after the Pusher was created, or restarts, is redialled every
// ReconnectInterval. Unlike libzmq, which queues messages while
// disconnected, Push waits for the connection (bounded by its context)
// and returns once the message was written to it, so a Push that returned
// nil was handed to the network and one that failed says so. As with
// libzmq, a message written just as the peer dies may be lost: ZeroMQ has
// no acknowledgement.
//
// A Pusher is safe for concurrent use; pushes are written one at a time,
// in the order they obtain the socket.
type Pusher struct {
	cfg          Config
	endpoint     string // as configured, for messages
	dialEndpoint string // through the watching transport
	router       *topic.Router
	log          *slog.Logger

	ctx    context.Context // lifetime of the sockets; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the supervisor

	sendSem chan struct{} // one write at a time (capacity 1)
	broken  chan struct{} // Push tells the supervisor the socket failed (capacity 1)

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // Push calls in flight, for Linger
	sock    zmq4.Socket    // the connected socket, nil while (re)connecting
	ready   chan struct{}  // closed when sock is set

	closeOnce sync.Once
	closeDone chan struct{}
}

var _ push.Pusher = (*Pusher)(nil)

// NewPusher checks cfg and starts connecting to its endpoint in the
// background. router generates channels from route names; with a nil
// router, Push's route is the channel itself. Close stops it.
func NewPusher(cfg Config, router *topic.Router) (*Pusher, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pusher{
		cfg:          c,
		endpoint:     c.Endpoint(),
		dialEndpoint: watchScheme[c.Protocol] + strings.TrimPrefix(c.Endpoint(), c.Protocol),
		router:       router,
		log:          c.Logger.With("pusher", Name),
		ctx:          ctx,
		cancel:       cancel,
		sendSem:      make(chan struct{}, 1),
		broken:       make(chan struct{}, 1),
		ready:        make(chan struct{}),
		closeDone:    make(chan struct{}),
	}
	p.wg.Add(1)
	go p.supervise()
	return p, nil
}

// Endpoint returns the endpoint the pusher connects to.
func (p *Pusher) Endpoint() string { return p.endpoint }

// Push implements push.Pusher: it generates the channel of route with
// params (push.Channel), encodes {"topic": channel, "data": data}
// (push.Encode: a string is sent as ["s"], as Gos 2.x/3.x do) and sends it
// as one frame. It waits for the connection until ctx ends; a write in
// progress is bounded by SendTimeout instead. opts is unused: Gos's ZMQ
// pusher has no context options.
func (p *Pusher) Push(ctx context.Context, data any, route string, params map[string]string, opts map[string]any) error {
	channel, err := push.Channel(p.router, route, params)
	if err != nil {
		return fmt.Errorf("zmqpush: channel of route %q: %w", route, err)
	}
	body, err := push.Encode(channel, data)
	if err != nil {
		return fmt.Errorf("zmqpush: %w", err)
	}
	return p.send(ctx, body)
}

// send writes body as one message, waiting for a connection and, when a
// write fails, for the next one.
func (p *Pusher) send(ctx context.Context, body []byte) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.pending.Add(1)
	p.mu.Unlock()
	defer p.pending.Done()

	select {
	case p.sendSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("zmqpush: sending to %s: %w", p.endpoint, ctx.Err())
	case <-p.ctx.Done():
		return ErrClosed
	}
	defer func() { <-p.sendSem }()

	msg := zmq4.NewMsg(body)
	for {
		p.mu.Lock()
		sock, ready := p.sock, p.ready
		p.mu.Unlock()
		if sock == nil {
			select {
			case <-ready:
				continue
			case <-ctx.Done():
				return fmt.Errorf("zmqpush: not connected to %s: %w", p.endpoint, ctx.Err())
			case <-p.ctx.Done():
				return ErrClosed
			}
		}
		err := sock.Send(msg)
		if err == nil {
			return nil
		}
		if p.ctx.Err() != nil {
			return fmt.Errorf("%w while sending to %s: %v", ErrClosed, p.endpoint, err)
		}
		if p.disconnect(sock) {
			p.log.Warn("zmq pusher: write failed, reconnecting", "endpoint", p.endpoint, "err", err)
			select {
			case p.broken <- struct{}{}:
			default:
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("zmqpush: sending to %s: %w (after %v)", p.endpoint, ctx.Err(), err)
		}
	}
}

// supervise owns the sockets: it dials, publishes the connected socket,
// and replaces it when the peer closes the connection or a Push reports a
// failed write, until Close.
//
// It uses zmq4's dial retries (WithDialerMaxRetries(-1), WithDialerRetry)
// but not its WithAutomaticReconnect, measured against a libzmq PULL that
// restarts: zmq4 notices a lost peer only when a write fails, then
// redials from inside that write, which blocks for the whole send
// timeout; while disconnected its Send returns nil for messages it drops;
// and the first message after the peer's restart goes into the dead
// connection. Here the connection is watched for the peer's close, as
// libzmq does, so the next message waits for the new connection instead.
func (p *Pusher) supervise() {
	defer p.wg.Done()
	zlog := slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)
	for {
		conn := new(dialedConn)
		sock := zmq4.NewPush(context.WithValue(p.ctx, dialedKey{}, conn),
			zmq4.WithDialerMaxRetries(-1),
			zmq4.WithDialerRetry(p.cfg.ReconnectInterval),
			zmq4.WithDialerTimeout(dialTimeout),
			zmq4.WithTimeout(p.cfg.SendTimeout),
			zmq4.WithLogger(zlog),
		)
		// Dial retries until the peer is there or p.ctx ends.
		err := sock.Dial(p.dialEndpoint)
		if err != nil {
			sock.Close()
			conn.close() // a failed ZMTP handshake leaves it open
			if p.ctx.Err() != nil {
				return
			}
			p.log.Warn("zmq pusher: cannot connect", "endpoint", p.endpoint, "err", err)
			select {
			case <-time.After(p.cfg.ReconnectInterval):
				continue
			case <-p.ctx.Done():
				return
			}
		}
		p.log.Debug("zmq pusher connected", "endpoint", p.endpoint)
		peerGone := conn.watch()
		p.mu.Lock()
		p.sock = sock
		close(p.ready)
		p.mu.Unlock()

		select {
		case <-p.ctx.Done():
		case <-p.broken:
		case <-peerGone:
			p.log.Info("zmq pusher: the peer closed the connection, reconnecting", "endpoint", p.endpoint)
		}
		p.disconnect(sock)
		sock.Close()
		<-peerGone
		select { // a failed write may have signalled this socket too
		case <-p.broken:
		default:
		}
		if p.ctx.Err() != nil {
			return
		}
	}
}

// disconnect stops Push from using sock, if it is the current socket.
func (p *Pusher) disconnect(sock zmq4.Socket) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sock != sock {
		return false
	}
	p.sock, p.ready = nil, make(chan struct{})
	return true
}

// Close implements push.Pusher: Shutdown with no deadline but Linger.
func (p *Pusher) Close() error { return p.Shutdown(context.Background()) }

// Shutdown stops the pusher: new pushes fail with ErrClosed, pushes in
// flight get up to Linger (forever when negative) or until ctx ends,
// whichever comes first, to finish; then the socket is closed, the ones
// still waiting fail with ErrClosed, and Shutdown returns once every
// goroutine of the pusher has ended. Later calls wait for the first.
func (p *Pusher) Shutdown(ctx context.Context) error {
	p.closeOnce.Do(func() {
		defer close(p.closeDone)
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()

		idle := make(chan struct{})
		go func() {
			p.pending.Wait()
			close(idle)
		}()
		var expire <-chan time.Time
		if p.cfg.Linger >= 0 {
			t := time.NewTimer(p.cfg.Linger)
			defer t.Stop()
			expire = t.C
		}
		select {
		case <-idle:
		case <-expire:
		case <-ctx.Done():
		}
		p.cancel()
		<-idle
		p.wg.Wait()
	})
	<-p.closeDone
	return nil
}
