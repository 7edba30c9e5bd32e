package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampedConn is a publisher's TCP connection that knows when its bytes
// came: each read takes the kernel's receive timestamp of the data it
// returns (SO_TIMESTAMPNS), so a publisher can time the server's answer
// without the bench's own scheduling in it. On a core that is busy
// reading thousands of subscribers, the publisher's goroutine may run
// milliseconds after its answer arrived; the kernel's timestamp is when
// it did (on loopback, when the server wrote it).
type stampedConn struct {
	*net.TCPConn
	raw syscall.RawConn
	oob []byte
	// recvAt is the receive time, in Unix nanoseconds, of the last read's
	// bytes; sentAt the start of the first write after markRequest.
	recvAt, sentAt atomic.Int64
	fresh          atomic.Bool
	// kernelTime is whether the last read's time came from the kernel.
	// Linux turns timestamps on for the whole machine shortly after the
	// first socket asks (a deferred work item), so the first bytes of the
	// first such connection may come without one.
	kernelTime atomic.Bool
}

// stampConn turns on receive timestamps on conn, a TCP connection.
func stampConn(conn net.Conn) (*stampedConn, error) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil, fmt.Errorf("receive timestamps need a TCP connection, not %T", conn)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("turning on SO_TIMESTAMPNS: %w", serr)
	}
	return &stampedConn{TCPConn: tc, raw: raw, oob: make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))}, nil
}

// Read reads like net.Conn's Read (deadlines included) and records the
// kernel's receive timestamp of the bytes read, or the time now if the
// kernel gave none.
func (c *stampedConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), b, c.oob, 0)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		if n < 0 {
			n = 0
		}
		return n, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	at, ok := receiveTimestamp(c.oob[:oobn])
	if !ok {
		at = time.Now().UnixNano()
	}
	c.kernelTime.Store(ok)
	c.recvAt.Store(at)
	return n, nil
}

// receiveTimestamp finds the SCM_TIMESTAMPNS message in a read's control
// data.
func receiveTimestamp(oob []byte) (int64, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return ts.Nano(), true
		}
	}
	return 0, false
}

// markRequest makes the next write's start the request's send time.
func (c *stampedConn) markRequest() { c.fresh.Store(true) }

// Write writes like net.Conn's Write, taking its start as the send time
// after markRequest.
func (c *stampedConn) Write(b []byte) (int, error) {
	if c.fresh.CompareAndSwap(true, false) {
		c.sentAt.Store(time.Now().UnixNano())
	}
	return c.TCPConn.Write(b)
}
