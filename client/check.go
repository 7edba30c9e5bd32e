package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/wamp"
)

// Reasons a Check fails, as CheckError.Reason.
const (
	// CheckRefused: the TCP connection could not be made: refused (nothing
	// listens), or the host is unknown or unreachable.
	CheckRefused = "refused"
	// CheckTimeout: the server did not complete the handshake and send
	// WELCOME before the context's deadline or Options.DialTimeout.
	CheckTimeout = "timeout"
	// CheckTLS: the TLS handshake failed (a certificate that does not
	// verify, or a server that does not speak TLS).
	CheckTLS = "tls"
	// CheckForbidden: the server answered the upgrade with HTTP 403 (Err
	// is a *HandshakeError), or it refused the ticket the OroSyncBundle
	// way, with a text frame after the WELCOME (Err is ErrTicketRefused),
	// or a WAMP v2 router refused the authentication with ABORT
	// (wamp.error.authentication_failed, authorization_failed,
	// not_authorized or no_auth_method; Err wraps an *AbortError).
	CheckForbidden = "forbidden"
	// CheckHandshake: the server answered with another HTTP status (Err
	// is a *HandshakeError), or its answer is not a valid WebSocket
	// upgrade.
	CheckHandshake = "handshake"
	// CheckProtocol: the upgrade succeeded but no WELCOME came first, or
	// the server closed the connection right after it, or a WAMP v2
	// router answered HELLO with another ABORT (such as
	// wamp.error.no_such_realm; Err wraps an *AbortError).
	CheckProtocol = "protocol"
	// CheckURL: the URL is not a ws:// or wss:// URL with a host, or
	// Options.TicketFunc failed.
	CheckURL = "url"
	// CheckCanceled: the context was canceled.
	CheckCanceled = "canceled"
)

// ErrTicketRefused is the Err of a CheckError whose server welcomed the
// session and then refused its ticket as OroSyncBundle does (see
// IsForbiddenFrame).
var ErrTicketRefused = errors.New("client: the server refused the ticket")

// CheckError is the error of Check and CheckSession.
type CheckError struct {
	// Reason is one of the Check constants (CheckRefused, CheckTimeout, ...).
	Reason string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *CheckError) Error() string { return "client: check: " + e.Reason + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *CheckError) Unwrap() error { return e.Err }

// checkGrace is how long Check waits after the WELCOME for an
// OroSyncBundle-style refusal.
const checkGrace = 500 * time.Millisecond

// Check tells whether a WAMP v1 server at rawURL accepts a session: it
// dials as Dial does (opts.Ticket, Header, TLSConfig and DialTimeout apply),
// waits for the WELCOME, then closes the session cleanly (CLOSE 1000 and
// the server's CLOSE). It returns nil when the server accepted the session
// and a *CheckError saying why not otherwise.
//
// OroSyncBundle, and herald in its default mode, refuse a bad ticket only
// after the WELCOME: a text frame holding an HTTP response dump with "403"
// follows it, then a CLOSE. So after the WELCOME, Check waits up to 500 ms,
// or until another frame or the close arrives, or ctx ends, before it calls
// the session accepted; a refused ticket is then CheckForbidden with
// ErrTicketRefused. A successful Check thus takes at least 500 ms unless the
// server sends something else first.
//
// With a v2 Options.Protocol, Check opens a WAMP v2 session (HELLO, any
// CHALLENGE, WELCOME) and closes it with GOODBYE, without that wait.
func Check(ctx context.Context, rawURL string, opts Options) error {
	_, err := CheckSession(ctx, rawURL, opts)
	return err
}

// CheckSession is Check that also returns the session id of the WELCOME
// when the check succeeds.
func CheckSession(ctx context.Context, rawURL string, opts Options) (string, error) {
	var forbidden atomic.Bool
	frame := make(chan struct{}, 1)
	signal := func() {
		select {
		case frame <- struct{}{}:
		default:
		}
	}
	onText, onEvent := opts.OnText, opts.OnEvent
	opts.OnText = func(p []byte) {
		if IsForbiddenFrame(p) {
			forbidden.Store(true)
		}
		signal()
		if onText != nil {
			onText(p)
		}
	}
	opts.OnEvent = func(topic string, event json.RawMessage) {
		signal()
		if onEvent != nil {
			onEvent(topic, event)
		}
	}
	c, err := Dial(ctx, rawURL, opts)
	if err != nil {
		return "", ClassifyError(err)
	}
	grace := checkGrace
	if c.v2 != nil {
		grace = 0 // the OroSyncBundle refusal is a v1 thing
	}
	timer := time.NewTimer(grace)
	closed := false
	select {
	case <-frame:
	case <-c.Done():
		closed = true
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	_ = c.Close()
	if forbidden.Load() {
		return "", &CheckError{Reason: CheckForbidden, Err: ErrTicketRefused}
	}
	if closed {
		code, reason := c.CloseStatus()
		msg := "client: the server closed the connection right after WELCOME"
		if code != 0 {
			msg += " (close " + strconv.Itoa(int(code))
			if reason != "" {
				msg += " " + strconv.Quote(reason)
			}
			msg += ")"
		}
		return "", &CheckError{Reason: CheckProtocol, Err: errors.New(msg)}
	}
	return c.SessionID(), nil
}

// ClassifyError returns the *CheckError that Check would return for err,
// an error of Dial, so that other callers can report Dial failures the same
// way. A *CheckError is returned as is, and nil for nil.
func ClassifyError(err error) *CheckError {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*CheckError); ok {
		return ce
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusForbidden {
			return &CheckError{Reason: CheckForbidden, Err: err}
		}
		return &CheckError{Reason: CheckHandshake, Err: err}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &CheckError{Reason: CheckTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &CheckError{Reason: CheckCanceled, Err: err}
	}
	var ae *AbortError
	if errors.As(err, &ae) {
		switch ae.Reason {
		case wamp.URIAuthenticationFailed, wamp.URIAuthorizationFailed, wamp.URINotAuthorized, wamp.URINoAuthMethod:
			return &CheckError{Reason: CheckForbidden, Err: err}
		}
		return &CheckError{Reason: CheckProtocol, Err: err}
	}
	var de *dialError
	if errors.As(err, &de) {
		switch de.stage {
		case stageURL:
			return &CheckError{Reason: CheckURL, Err: err}
		case stageTCP:
			return &CheckError{Reason: CheckRefused, Err: err}
		case stageTLS:
			return &CheckError{Reason: CheckTLS, Err: err}
		case stageWelcome:
			return &CheckError{Reason: CheckProtocol, Err: err}
		}
	}
	return &CheckError{Reason: CheckHandshake, Err: err}
}

// IsForbiddenFrame reports whether p, a text message received after the
// WELCOME, is OroSyncBundle's refusal of a ticket: a Symfony response dump
// such as "HTTP/1.0 200 OK\r\nCache-Control: no-cache, private\r\nDate:
// ...\r\n\r\n403". It starts with "HTTP/" and holds 403 as the status code
// or in the body (the whole text when there is no blank line). Options.OnText
// sees such frames.
func IsForbiddenFrame(p []byte) bool {
	if !bytes.HasPrefix(p, []byte("HTTP/")) {
		return false
	}
	status, _, _ := bytes.Cut(p, []byte("\r\n"))
	if f := bytes.Fields(status); len(f) >= 2 && string(f[1]) == "403" {
		return true
	}
	if _, body, ok := bytes.Cut(p, []byte("\r\n\r\n")); ok {
		return bytes.Contains(body, []byte("403"))
	}
	return bytes.Contains(p, []byte("403"))
}
