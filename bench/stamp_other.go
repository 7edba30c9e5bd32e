//go:build !linux

package bench

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// stampedConn is a publisher's TCP connection that records when its
// reads returned and when a request's first write began. Without the
// Linux kernel's receive timestamps, the receive time is the read's
// return, so the bench's own scheduling stays in the figure.
type stampedConn struct {
	*net.TCPConn
	recvAt, sentAt atomic.Int64
	fresh          atomic.Bool
}

// stampConn wraps conn, a TCP connection.
func stampConn(conn net.Conn) (*stampedConn, error) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil, fmt.Errorf("receive timestamps need a TCP connection, not %T", conn)
	}
	return &stampedConn{TCPConn: tc}, nil
}

// Read reads and records the time its bytes were returned.
func (c *stampedConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.recvAt.Store(time.Now().UnixNano())
	}
	return n, err
}

// markRequest makes the next write's start the request's send time.
func (c *stampedConn) markRequest() { c.fresh.Store(true) }

// Write writes, taking its start as the send time after markRequest.
func (c *stampedConn) Write(b []byte) (int, error) {
	if c.fresh.CompareAndSwap(true, false) {
		c.sentAt.Store(time.Now().UnixNano())
	}
	return c.TCPConn.Write(b)
}
