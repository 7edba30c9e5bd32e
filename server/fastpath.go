package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// UpgradeListener wraps ln (plain TCP, not TLS) so that WebSocket upgrade
// requests are served as soon as their head is read, without net/http:
// no connection goroutine of its own, no background read, no request context
// or response buffers to collect afterwards. That is about a fifth of the
// server's work per handshake. Every other connection (the HTTP API,
// /metrics, a request net/http must refuse) is handed on untouched to the
// http.Server that accepts from the returned listener. Upgrades go
// through the same code as through ServeHTTP: origin check, tickets,
// limits, metrics; only a refused upgrade's answer differs, in that the
// connection is closed after it.
func (s *Server) UpgradeListener(ln net.Listener) net.Listener {
	l := &upgradeListener{Listener: ln, s: s, conns: make(chan net.Conn), done: make(chan struct{})}
	l.wg.Add(1)
	go l.accept()
	return l
}

type upgradeListener struct {
	net.Listener
	s     *Server
	conns chan net.Conn // connections for net/http
	done  chan struct{} // closed when accept ends
	err   error         // why accept ended; read after done
	wg    sync.WaitGroup
}

// Accept returns the next connection that is not a WebSocket upgrade.
func (l *upgradeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Close stops accepting and waits for the accepting goroutine.
func (l *upgradeListener) Close() error {
	err := l.Listener.Close()
	l.wg.Wait()
	return err
}

func (l *upgradeListener) accept() {
	defer l.wg.Done()
	defer close(l.done)
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				// Out of descriptors and the like: back off, as
				// http.Server does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			l.err = err
			return
		}
		delay = 0
		go l.serve(c)
	}
}

// serve reads one connection's request head: an upgrade is served here,
// anything else goes to net/http with the bytes read so far.
func (l *upgradeListener) serve(c net.Conn) {
	s := l.s
	c.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	br := getReader(c)
	head, err := peekHead(br)
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		// A head larger than the buffer: net/http has the limits for it.
		l.handOff(c, br)
		return
	case err != nil:
		// The client went away, or stalled past HandshakeTimeout, as
		// net/http's ReadHeaderTimeout would close it.
		putReader(br)
		c.Close()
		return
	case !looksLikeUpgrade(head):
		l.handOff(c, br)
		return
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		putReader(br)
		c.Close()
		return
	}
	req.RemoteAddr = c.RemoteAddr().String()
	w := &rawResponse{conn: c, br: br, header: http.Header{}}
	s.ServeHTTP(w, req)
	if !w.hijacked {
		w.finish()
		c.Close()
	}
	// An upgraded session copied what br held past the request.
	putReader(br)
}

// handOff gives c to net/http, whose reads start with what br buffered.
func (l *upgradeListener) handOff(c net.Conn, br *bufio.Reader) {
	c.SetReadDeadline(time.Time{})
	select {
	case l.conns <- &replayConn{Conn: c, r: br}:
	case <-l.done:
		c.Close()
	}
}

// replayConn is a connection whose first bytes come from a reader that
// already read them.
type replayConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}

// peekHead returns the request head (through the blank line) from br's
// buffer without consuming it, reading more as needed; it fails when the
// head does not fit the buffer or the connection ends first.
func peekHead(br *bufio.Reader) ([]byte, error) {
	for {
		// Whatever is buffered, then at least one byte more.
		p, _ := br.Peek(br.Buffered())
		if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 {
			return p[:i+4], nil
		}
		if len(p) == br.Size() {
			return nil, bufio.ErrBufferFull
		}
		if _, err := br.Peek(len(p) + 1); err != nil {
			return nil, err
		}
	}
}

// looksLikeUpgrade is a cheap test on the raw head: a GET with an Upgrade
// header naming websocket. Anything doubtful goes to net/http, which
// applies the exact rules (and upgrades from there too).
func looksLikeUpgrade(head []byte) bool {
	if !bytes.HasPrefix(head, []byte("GET ")) {
		return false
	}
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("upgrade")) {
			for part := range bytes.SplitSeq(value, []byte(",")) {
				if bytes.EqualFold(bytes.TrimSpace(part), []byte("websocket")) {
					return true
				}
			}
		}
	}
	return false
}

// rawResponse is the http.ResponseWriter and http.Hijacker of a request
// read by the upgrade listener. An upgrade hijacks it; a refusal is
// buffered and written, with Connection: close, by finish.
type rawResponse struct {
	conn     net.Conn
	br       *bufio.Reader
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *rawResponse) Header() http.Header { return w.header }

func (w *rawResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *rawResponse) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Hijack hands the connection over. Only its reader is meant to be used:
// the upgrade writes to the connection itself.
func (w *rawResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w.conn, 16)), nil
}

// finish writes a response that was not hijacked.
func (w *rawResponse) finish() {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Connection", "close")
	w.header.Write(&b)
	b.WriteString("\r\n")
	b.Write(w.body.Bytes())
	w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.Copy(w.conn, &b)
}
