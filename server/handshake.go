package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// Handshake failure reasons, the label values of
// herald_handshake_failures_total.
const (
	failMethod         = "method"
	failBadRequest     = "bad_request"
	failVersion        = "websocket_version"
	failOrigin         = "origin"
	failMaxConnections = "max_connections"
	failShuttingDown   = "shutting_down"
	failHijack         = "hijack"
	failAuth           = "auth"
	failBlockedIP      = "blocked_ip"
	failProxyProtocol  = "proxy_protocol"
	failConnectionRate = "max_connection_rate"
)

var handshakeFailureReasons = []string{
	failMethod, failBadRequest, failVersion, failOrigin, failMaxConnections, failShuttingDown, failHijack, failAuth, failBlockedIP,
	failProxyProtocol, failConnectionRate,
}

// isUpgrade reports whether r asks for a WebSocket. Header values are
// compared case-insensitively: the PHP clients send "Upgrade: WebSocket".
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// upgrade validates a WebSocket request as Ratchet's RFC6455 negotiator
// does, then hijacks the connection and writes the 101 response and the
// WAMP WELCOME frame in a single write: the Gos and Oro PHP clients read
// the WELCOME from the same read as the 101 and fail otherwise. The request
// path is ignored, and absolute-form targets (GET ws://host:port/) work.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.refuse(w, r, http.StatusMethodNotAllowed, failMethod, "WebSocket upgrades must use GET")
		return
	}
	if !r.ProtoAtLeast(1, 1) {
		s.refuse(w, r, http.StatusBadRequest, failBadRequest, "WebSocket upgrades need HTTP/1.1")
		return
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		s.refuse(w, r, http.StatusBadRequest, failBadRequest, `the Connection header must contain "Upgrade"`)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		s.refuse(w, r, http.StatusBadRequest, failBadRequest, "missing or invalid Sec-WebSocket-Key")
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		s.refuse(w, r, http.StatusUpgradeRequired, failVersion, "only WebSocket version 13 is supported")
		return
	}
	if s.cfg.OriginCheck && !s.originAllowed(r.Header.Get("Origin")) {
		s.refuse(w, r, http.StatusForbidden, failOrigin, "origin not allowed")
		return
	}
	if client, ok := remoteAddr(r.RemoteAddr); ok && !s.connRate.allow(client) {
		s.metrics.limitRefusals.WithLabelValues(limitConnectionRate).Inc()
		w.Header().Set("Retry-After", "1")
		s.refuse(w, r, http.StatusTooManyRequests, failConnectionRate,
			fmt.Sprintf("more than %g connections per second from %s (server.max_connection_rate)", s.cfg.MaxConnectionRate, client))
		return
	}
	proto, subprotocol := s.negotiate(r.Header)
	identity := Identity{Anonymous: true}
	id := s.ids.next()
	var authErr error
	inSession := false
	if s.cfg.Authenticator != nil {
		identity, authErr = s.cfg.Authenticator.Authenticate(r, id)
		// A WAMP v2 client without credentials in its request may still
		// authenticate in the session (HELLO's authmethods).
		_, v2 := proto.(*wampV2)
		inSession = v2 && errors.Is(authErr, ErrAnonymousRefused)
		if authErr != nil && s.cfg.AuthFailure == AuthFailureHTTP && !inSession {
			s.refuse(w, r, http.StatusForbidden, failAuth, authErr.Error())
			return
		}
	}
	if !s.admit() {
		if s.shuttingDown.Load() {
			s.refuse(w, r, http.StatusServiceUnavailable, failShuttingDown, "server is shutting down")
		} else {
			s.refuse(w, r, http.StatusServiceUnavailable, failMaxConnections, "too many connections")
		}
		return
	}
	admitted := true
	defer func() {
		if admitted {
			s.release()
		}
	}()

	hj, ok := w.(http.Hijacker)
	if !ok {
		s.refuse(w, r, http.StatusInternalServerError, failHijack, "connection cannot be hijacked")
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		s.metrics.handshakeFailures.WithLabelValues(failHijack).Inc()
		s.log.Warn("hijacking connection", "err", err)
		return
	}
	conn.SetDeadline(time.Time{}) // undo the http.Server's deadlines

	buf := make([]byte, 0, 512)
	buf = append(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	buf = append(buf, ws.AcceptKey(key)...)
	if subprotocol != "" {
		buf = append(buf, "\r\nSec-WebSocket-Protocol: "...)
		buf = append(buf, subprotocol...)
	}
	buf = append(buf, "\r\nX-Powered-By: "...)
	buf = append(buf, s.poweredBy...)
	buf = append(buf, "\r\n\r\n"...)
	sess := newSession(s, id, identity, proto, conn, pending(brw.Reader))
	if buf, err = proto.greeting(buf, sess); err != nil {
		conn.Close()
		s.log.Error("greeting a new session", "err", err)
		return
	}

	// The handshake goes out before the session is registered, so nothing
	// (a keepalive PING, an eligible-list publication) can precede it.
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := conn.Write(buf); err != nil {
		s.log.Debug("writing handshake", "err", err)
		conn.Close()
		return
	}
	conn.SetWriteDeadline(time.Time{})
	if len(s.cfg.TrustedProxies) > 0 && r.RemoteAddr != conn.RemoteAddr().String() { // a trusted proxy named the client
		if sess.extra == nil {
			sess.extra = &sessionExtra{}
		}
		sess.extra.remote = r.RemoteAddr
	}
	sess.poll = s.watch(conn, sess.wake)
	if v1, ok := proto.(*wampV1); ok {
		v1.joined = authErr == nil // before the session starts: read turns only read it
	}
	if authErr != nil {
		if !inSession {
			s.metrics.handshakeFailures.WithLabelValues(failAuth).Inc()
			sess.logger().Info("authentication refused", "reason", authErr.Error())
		}
		proto.authFailed(sess, authErr)
	}
	if !s.addSession(sess) {
		sess.out.close()
		sess.out.wait()
		if sess.poll != nil {
			sess.poll.Remove()
		}
		conn.Write(ws.AppendFrame(nil, ws.OpClose, ws.ClosePayload(ws.CloseGoingAway, "server shutting down")))
		conn.Close()
		return
	}
	admitted = false // the session now holds the slot
	if v1, ok := proto.(*wampV1); ok && v1.joined {
		s.metaJoined(sess) // a v2 session joins at WELCOME
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		sess.logger().Debug("session opened", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "scheme", requestScheme(r))
	}
}

// pending returns a copy of what the http.Server had already read past
// the request: bytes the client sent right after its handshake. The
// hijacked bufio.Reader itself must not be read past its buffer: it reads
// through the server's connection reader, which refuses reads after a
// hijack.
func pending(hijacked *bufio.Reader) []byte {
	n := hijacked.Buffered()
	if n == 0 {
		return nil
	}
	p, _ := hijacked.Peek(n)
	return bytes.Clone(p)
}

// refuse answers an upgrade request with an HTTP error before the upgrade.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	s.metrics.handshakeFailures.WithLabelValues(reason).Inc()
	s.log.Info("upgrade refused", "reason", reason, "status", status, "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "detail", msg)
	w.Header().Set("X-Powered-By", s.poweredBy)
	http.Error(w, msg, status)
}

// originAllowed compares the Origin's host, as GosWebSocketBundle's
// OriginCheck does: parse_url($origin, PHP_URL_HOST) ?: $origin must be
// localhost, 127.0.0.1 or one of the configured origins. Scheme and port
// are ignored and a bare host works.
func (s *Server) originAllowed(origin string) bool {
	host := origin
	if u, err := url.Parse(origin); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(origin); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if host == "localhost" || host == "127.0.0.1" {
		return true
	}
	_, ok := s.origins[host]
	return ok
}

// sanitizeHeaderValue drops the characters the PHP clients cannot have in
// a response header ('[' and ']': they look for the WELCOME's first '[')
// and anything that would break the header line.
func sanitizeHeaderValue(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '[' || r == ']' || r == '\r' || r == '\n':
			return -1
		}
		return r
	}, v)
}
