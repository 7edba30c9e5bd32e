package zmqpush

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// The Pusher dials through these zmq4 transports: zmq4's own tcp and ipc
// dialling, plus a hand-over of the connection to the Pusher, which
// watches it for the peer's close (zmq4 never reads a PUSH connection
// after the handshake, so it does not notice).
var watchScheme = map[string]string{"tcp": "zmqpush+tcp", "ipc": "zmqpush+ipc"}

func init() {
	for proto, scheme := range watchScheme {
		network := proto
		if proto == "ipc" {
			network = "unix"
		}
		if err := zmq4.RegisterTransport(scheme, watchTransport{network}); err != nil {
			panic(err)
		}
	}
}

// dialedKey carries a *dialedConn in the context zmq4 passes to Dial.
type dialedKey struct{}

// watchTransport is a dial-only zmq4 transport over network.
type watchTransport struct{ network string }

var _ transport.Transport = watchTransport{}

// Dial implements transport.Transport, recording the connection in the
// context's dialedConn.
func (t watchTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, t.network, addr)
	if err != nil {
		return nil, err
	}
	if dc, ok := ctx.Value(dialedKey{}).(*dialedConn); ok {
		dc.set(c)
	}
	return c, nil
}

// Listen implements transport.Transport; these transports only dial.
func (t watchTransport) Listen(context.Context, string) (net.Listener, error) {
	return nil, errors.New("zmqpush: the pusher's transport does not listen")
}

// Addr implements transport.Transport as zmq4's own transports do.
func (t watchTransport) Addr(ep string) (string, error) {
	return transport.New(t.network).Addr(ep)
}

// dialedConn is the network connection under one Pusher socket.
type dialedConn struct {
	mu sync.Mutex
	c  net.Conn
}

func (d *dialedConn) set(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.c = c
}

func (d *dialedConn) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		d.c.Close()
	}
}

// watch reads the connection until it fails, which the returned channel
// reports by closing: the peer closed it or died, or the socket was
// closed. A PULL peer sends nothing after the ZMTP handshake, so whatever
// arrives is discarded.
func (d *dialedConn) watch() <-chan struct{} {
	done := make(chan struct{})
	d.mu.Lock()
	c := d.c
	d.mu.Unlock()
	if c == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	return done
}
