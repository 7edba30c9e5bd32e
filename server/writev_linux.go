//go:build linux

package server

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writevScratch holds a writer's iovec array between calls.
type writevScratch struct {
	iov []unix.Iovec
}

// fdWriter writes a connection's descriptor directly with writev, without
// ever waiting (Go's poller would park the goroutine; a writer serves many
// connections and must not wait for one).
type fdWriter struct {
	rc syscall.RawConn
}

// newTryWriter returns the non-blocking writer of a plain TCP connection,
// or nil.
func newTryWriter(c net.Conn) tryWriter {
	tc := tcpConnOf(c)
	if tc == nil {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return fdWriter{rc: rc}
}

func (w fdWriter) tryWritev(s *writevScratch, bufs [][]byte) (int, error) {
	s.iov = s.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		s.iov = append(s.iov, v)
	}
	if len(s.iov) == 0 {
		return 0, nil
	}
	var n int
	var werr error
	err := w.rc.Write(func(fd uintptr) bool {
		for {
			r, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&s.iov[0])), uintptr(len(s.iov)))
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				n = 0
			case e != 0:
				werr = e
			default:
				n = int(r)
			}
			return true // never wait: the caller decides
		}
	})
	clear(s.iov) // do not keep the frames alive
	if err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, &net.OpError{Op: "writev", Net: "tcp", Err: werr}
	}
	return n, nil
}
