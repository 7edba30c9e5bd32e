package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
// connection is closed after it. A malformed upgrade head gets the answer
// net/http's server gives it (400, or 501 or 505, with Connection: close)
// and counts as a bad_request handshake failure; lines may end in "\r\n"
// or a bare "\n", as net/http reads them.
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
	host := readHostHeader(head) // before ReadRequest, which drops it
	req, err := http.ReadRequest(br)
	if err != nil {
		l.refuseHead(c, br, parseRefusal(err))
		return
	}
	if r, ok := serverRefusal(req, host); !ok {
		l.refuseHead(c, br, r)
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
		if n := headLength(p); n > 0 {
			return p[:n], nil
		}
		if len(p) == br.Size() {
			return nil, bufio.ErrBufferFull
		}
		if _, err := br.Peek(len(p) + 1); err != nil {
			return nil, err
		}
	}
}

// headLength returns the length of the request head at the start of p,
// through the blank line that ends it, or 0 when p holds no blank line
// yet. Lines end in "\r\n" or in a bare "\n", as net/http reads them.
func headLength(p []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1 // the start of the next line
		switch {
		case i < len(p) && p[i] == '\n':
			return i + 1
		case i+1 < len(p) && p[i] == '\r' && p[i+1] == '\n':
			return i + 2
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
	for line := range bytes.SplitSeq(head, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
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

// refusalWriteTimeout bounds the write of a refusal to a client that
// does not read.
const refusalWriteTimeout = 5 * time.Second

// headRefusal is net/http's answer to a request head its server does not
// serve: a status line, a plain-text body and Connection: close, with no
// Content-Length (the connection's end marks the body's).
type headRefusal struct {
	status int
	reason string // the status line after the code
	body   string
}

// statusRefusal is net/http's answer to one of its server's statusErrors.
func statusRefusal(status int, text string) headRefusal {
	reason := http.StatusText(status) + ": " + text
	return headRefusal{status: status, reason: reason, body: strconv.Itoa(status) + " " + reason}
}

// response is the refusal's bytes, as net/http's conn.serve writes them.
func (r headRefusal) response() []byte {
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s", r.status, r.reason, r.body)
}

// parseRefusal is net/http's answer to a head http.ReadRequest could not
// parse: 501 for a transfer coding it does not know, 400 for the rest.
// (net/http tells the first by an unexported error type; the heads test
// checks that both paths answer alike.)
func parseRefusal(err error) headRefusal {
	if strings.HasPrefix(err.Error(), "unsupported transfer encoding") {
		return headRefusal{status: http.StatusNotImplemented, reason: http.StatusText(http.StatusNotImplemented), body: "Unsupported transfer encoding"}
	}
	return headRefusal{status: http.StatusBadRequest, reason: http.StatusText(http.StatusBadRequest), body: "400 Bad Request"}
}

// serverRefusal makes the checks net/http's server makes on a request
// that http.ReadRequest parsed (its conn.readRequest), with the same
// answers; host is the request's Host header, which ReadRequest drops.
// ok is false when the request is refused. The listener sees only GET
// requests, so the exceptions net/http makes for PRI and CONNECT do not
// arise.
func serverRefusal(req *http.Request, host hostHeader) (r headRefusal, ok bool) {
	if req.ProtoMajor != 1 {
		return statusRefusal(http.StatusHTTPVersionNotSupported, "unsupported protocol version"), false
	}
	if req.ProtoAtLeast(1, 1) && host.count == 0 {
		return statusRefusal(http.StatusBadRequest, "missing required Host header"), false
	}
	if host.count == 1 && !validHost(host.value) {
		return statusRefusal(http.StatusBadRequest, "malformed Host header"), false
	}
	for name, values := range req.Header {
		if !validHeaderName(name) {
			return statusRefusal(http.StatusBadRequest, "invalid header name"), false
		}
		for _, v := range values {
			if !validHeaderValue(v) {
				return statusRefusal(http.StatusBadRequest, "invalid header value"), false
			}
		}
	}
	return headRefusal{}, true
}

// hostHeader is what net/http's server checks of a request's Host header:
// how many there are and the last one's value.
type hostHeader struct {
	count int
	value []byte
}

// readHostHeader finds the Host header lines of a request head as
// net/http's header reader takes them: a name that is "host" in any case,
// then the value without the blanks around it; a continuation line (one
// starting with a space or tab) adds a space and its own trimmed text.
func readHostHeader(head []byte) hostHeader {
	var h hostHeader
	_, headers, _ := bytes.Cut(head, []byte("\n")) // past the request line
	inHost := false
	for line := range bytes.SplitSeq(headers, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
			return h // the head's end
		case line[0] == ' ' || line[0] == '\t':
			if inHost {
				// A copy: the value must not be appended into head.
				h.value = append(append(slices.Clip(h.value), ' '), bytes.Trim(line, " \t")...)
				h.value = bytes.TrimLeft(h.value, " \t")
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		inHost = ok && bytes.EqualFold(name, []byte("host"))
		if inHost {
			h.count++
			h.value = bytes.Trim(value, " \t")
		}
	}
	return h
}

// validHost reports whether every byte of a Host header may appear in a
// host and port (net/http's lenient httpguts.ValidHostHeader).
func validHost(h []byte) bool {
	for _, b := range h {
		if !hostBytes[b] {
			return false
		}
	}
	return true
}

// validHeaderName reports whether name is an HTTP token.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		if !tokenBytes[name[i]] {
			return false
		}
	}
	return name != ""
}

// validHeaderValue reports whether v has no control byte but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// The bytes of HTTP tokens (RFC 9110 tchar) and those net/http lets into
// a Host header.
var (
	tokenBytes = byteSet("!#$%&'*+-.^_`|~")
	hostBytes  = byteSet("!$%&'()*+,-.:;=[]_~")
)

// byteSet is the letters, the digits and the bytes of extra.
func byteSet(extra string) *[256]bool {
	var set [256]bool
	for b := range 256 {
		set[b] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte(extra, byte(b)) >= 0
	}
	return &set
}

// refuseHead answers a request head net/http's server would refuse as it
// would, counts a bad request and closes the connection. The log names the
// status, never the request's text.
func (l *upgradeListener) refuseHead(c net.Conn, br *bufio.Reader, r headRefusal) {
	l.s.metrics.handshakeFailures.WithLabelValues(failBadRequest).Inc()
	l.s.log.Info("upgrade refused", "reason", failBadRequest, "status", r.status, "remote", c.RemoteAddr().String(), "detail", r.body)
	c.SetWriteDeadline(time.Now().Add(refusalWriteTimeout))
	c.Write(r.response())
	putReader(br)
	c.Close()
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
	w.conn.SetWriteDeadline(time.Now().Add(refusalWriteTimeout))
	io.Copy(w.conn, &b)
}
