package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/heraldws/herald/auth"
)

// AuthFailureMode is how a connection whose authentication failed is
// answered.
type AuthFailureMode int

const (
	// AuthFailureOro does what OroSyncBundle does: the upgrade and the
	// WELCOME go out, then a text frame holding a Symfony response dump
	// whose body is "403", then the connection closes. Clients that detect
	// the refusal look for "403" in that frame. It is the default.
	AuthFailureOro AuthFailureMode = iota
	// AuthFailureHTTP answers HTTP 403 before the upgrade.
	AuthFailureHTTP
)

// ParseAuthFailureMode reads "oro" or "http".
func ParseAuthFailureMode(s string) (AuthFailureMode, error) {
	switch s {
	case "", "oro":
		return AuthFailureOro, nil
	case "http":
		return AuthFailureHTTP, nil
	}
	return 0, fmt.Errorf("server: unknown auth failure mode %q (want oro or http)", s)
}

// oroForbiddenFrame is the text Oro's ClientEventListener sends a
// connection whose ticket it refused: `new Response(403)` cast to a
// string, whose first argument is the content, so the status line says
// 200 and the body is "403". Symfony pads header names to one width.
func oroForbiddenFrame(now time.Time) string {
	return "HTTP/1.0 200 OK\r\n" +
		"Cache-Control: no-cache, private\r\n" +
		"Date:          " + now.UTC().Format(http.TimeFormat) + "\r\n" +
		"\r\n403"
}

// ErrAnonymousRefused is returned for a connection without credentials
// when anonymous connections are not accepted.
var ErrAnonymousRefused = errors.New("server: a ticket or token is required")

// TicketAuth authenticates connections as OroSyncBundle does, with the
// ticket in the request's `ticket` query parameter, and optionally with a
// JSON Web Token for applications that are not Oro.
type TicketAuth struct {
	// Tickets verifies Oro tickets. Nil means tickets are not checked:
	// connections are anonymous (or JWT users).
	Tickets *auth.TicketVerifier
	// JWT verifies tokens from JWTQueryParam or the Authorization header.
	// Nil means no JWT.
	JWT *auth.JWTVerifier
	// JWTQueryParam names the query parameter carrying a token. Empty
	// means "token".
	JWTQueryParam string
	// AllowAnonymous accepts connections that bring no credentials.
	AllowAnonymous bool
	// BackendNetworks lists the addresses whose connections with a valid
	// anonymous ticket are the application's backend (Identity.Backend).
	BackendNetworks []netip.Prefix
}

var _ Authenticator = (*TicketAuth)(nil)

// Authenticate implements Authenticator. A present but invalid ticket or
// token is refused even when anonymous connections are allowed.
func (a *TicketAuth) Authenticate(r *http.Request, sessionID string) (Identity, error) {
	if a.Tickets != nil {
		if ticket := auth.TicketFromQuery(r.URL.RawQuery); ticket != "" {
			user, err := a.Tickets.Verify(r.Context(), ticket)
			if err != nil {
				return Identity{}, err
			}
			if user == nil {
				return Identity{
					Username:  "anonymous-" + sessionID,
					Anonymous: true,
					Backend:   a.fromBackend(r.RemoteAddr),
				}, nil
			}
			return Identity{UserID: user.ID, Username: user.Username, Roles: user.Roles}, nil
		}
	}
	if a.JWT != nil {
		param := a.JWTQueryParam
		if param == "" {
			param = "token"
		}
		if token := auth.TokenFromRequest(r, param); token != "" {
			claims, err := a.JWT.Verify(token)
			if err != nil {
				return Identity{}, err
			}
			return Identity{UserID: claims.UserID, Username: claims.Username, Roles: claims.Roles, Channels: claims.Channels}, nil
		}
	}
	if !a.AllowAnonymous {
		return Identity{}, ErrAnonymousRefused
	}
	return Identity{Anonymous: true, Username: "anonymous-" + sessionID}, nil
}

var _ TicketChecker = (*TicketAuth)(nil)

// CheckTicket implements TicketChecker: the ticket a WAMP v2 client sends
// in AUTHENTICATE is an Oro ticket (when Tickets is set) or a JSON Web
// Token (when JWT is set), checked as the same credential in an upgrade
// request's URL would be.
func (a *TicketAuth) CheckTicket(ctx context.Context, ticket, sessionID, remote string) (Identity, error) {
	var errs []error
	if a.Tickets != nil {
		user, err := a.Tickets.Verify(ctx, ticket)
		switch {
		case err == nil && user == nil:
			return Identity{Username: "anonymous-" + sessionID, Anonymous: true, Backend: a.fromBackend(remote)}, nil
		case err == nil:
			return Identity{UserID: user.ID, Username: user.Username, Roles: user.Roles}, nil
		}
		errs = append(errs, err)
	}
	if a.JWT != nil {
		claims, err := a.JWT.Verify(ticket)
		if err == nil {
			return Identity{UserID: claims.UserID, Username: claims.Username, Roles: claims.Roles, Channels: claims.Channels}, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return Identity{}, errors.New("server: this server checks no tickets (auth.tickets and auth.jwt are off)")
	}
	return Identity{}, errors.Join(errs...)
}

func (a *TicketAuth) fromBackend(remote string) bool {
	if len(a.BackendNetworks) == 0 {
		return false
	}
	addr, ok := remoteAddr(remote)
	if !ok {
		return false
	}
	for _, p := range a.BackendNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// remoteAddr parses a "host:port" remote address, or a bare IP (what
// clientOf writes for an address a proxy named).
func remoteAddr(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		a, err := netip.ParseAddr(host)
		return a.Unmap(), err == nil
	}
	return ap.Addr().Unmap(), true
}

// channelAllowed reports whether a JWT's channel list admits topic: an
// entry is the exact topic, or a prefix followed by "*".
func channelAllowed(channels []string, topic string) bool {
	for _, c := range channels {
		if prefix, ok := strings.CutSuffix(c, "*"); ok {
			if strings.HasPrefix(topic, prefix) {
				return true
			}
		} else if c == topic {
			return true
		}
	}
	return false
}

// BlockIPs wraps ln so that connections from the blocked addresses are
// closed as soon as they are accepted, before any HTTP response, as
// GosWebSocketBundle's BlockedIpCheck does. onBlocked, when set, is called
// with each refused address.
func BlockIPs(ln net.Listener, blocked []netip.Prefix, onBlocked func(net.Addr)) net.Listener {
	if len(blocked) == 0 {
		return ln
	}
	return &blockingListener{Listener: ln, blocked: blocked, onBlocked: onBlocked}
}

type blockingListener struct {
	net.Listener
	blocked   []netip.Prefix
	onBlocked func(net.Addr)
}

func (l *blockingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.isBlocked(c.RemoteAddr()) {
			return c, nil
		}
		if l.onBlocked != nil {
			l.onBlocked(c.RemoteAddr())
		}
		if tc := tcpConnOf(c); tc != nil {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

func (l *blockingListener) isBlocked(a net.Addr) bool {
	addr, ok := remoteAddr(a.String())
	if !ok {
		return false
	}
	for _, p := range l.blocked {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Listener wraps ln with what the server checks on every connection it
// accepts, before any HTTP: with Config.ProxyProtocol, the PROXY protocol
// header, which gives the client's address (read on the connection's
// first use, so a silent peer never stalls accepting); then the IP
// blocklist (Config.BlockedIPs) on the client's address. Each refusal is
// counted and logged. With neither it returns ln.
func (s *Server) Listener(ln net.Listener) net.Listener {
	if s.cfg.ProxyProtocol {
		return &proxyListener{Listener: ln, s: s}
	}
	return BlockIPs(ln, s.cfg.BlockedIPs, func(a net.Addr) {
		s.metrics.handshakeFailures.WithLabelValues(failBlockedIP).Inc()
		s.log.Info("connection from a blocked address dropped", "remote", a.String())
	})
}

// blocked reports whether addr is in Config.BlockedIPs.
func (s *Server) blocked(addr netip.Addr) bool {
	for _, p := range s.cfg.BlockedIPs {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// dropBlocked ends a request from a blocked client (one a trusted proxy
// named) without an HTTP response, as Gos's BlockedIpCheck closes the
// connection: through the proxy, the client sees the proxy's error.
func (s *Server) dropBlocked(w http.ResponseWriter, r *http.Request) {
	s.metrics.handshakeFailures.WithLabelValues(failBlockedIP).Inc()
	s.log.Info("request from a blocked address dropped", "remote", r.RemoteAddr)
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc := tcpConnOf(c); tc != nil {
				tc.SetLinger(0)
			}
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
