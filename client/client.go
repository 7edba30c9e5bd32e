package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// Defaults for the zero values of Options.
const (
	// DefaultDialTimeout bounds Dial when Options.DialTimeout is zero.
	DefaultDialTimeout = 10 * time.Second
	// DefaultMaxMessageSize bounds incoming messages when
	// Options.MaxMessageSize is zero.
	DefaultMaxMessageSize = 16 << 20
)

// closeTimeout bounds the closing handshake: how long Close waits for the
// server's CLOSE, and how long the Client waits for the server to drop TCP
// after the CLOSE frames have been exchanged.
const closeTimeout = 2 * time.Second

// ErrClosed is returned by the methods of a Client whose connection has
// gone, and wrapped by the error of a Call that was pending when it went.
var ErrClosed = errors.New("client: connection closed")

// Options configures Dial. The zero value is ready to use.
type Options struct {
	// Header holds extra handshake request headers, such as Origin or
	// Cookie.
	Header http.Header
	// Protocols lists the WebSocket subprotocols to offer. Nil means
	// ["wamp"]; an empty non-nil slice offers none.
	Protocols []string
	// OnEvent is called with the topic and the raw JSON payload of every
	// EVENT. Calls come one at a time from the Client's reader goroutine,
	// which waits for them: OnEvent must not block for long, and must not
	// call Close or Call (start a goroutine for those). The event may be
	// retained. Nil drops events.
	OnEvent func(topic string, event json.RawMessage)
	// OnText is called, like OnEvent, with every text message that is not
	// an EVENT, CALLRESULT or CALLERROR: frames that are not WAMP at all
	// (such as the raw text OroSyncBundle sends when it refuses a
	// subscription or a ticket) and WAMP messages a server should not send
	// a client. data may be retained. Nil drops them. In WAMP v2 it sees,
	// text or binary, the messages that do not decode as v2 and those a
	// router should not send a client in a session.
	OnText func(data []byte)
	// TLSConfig configures wss:// connections. Nil means the default
	// configuration. When its ServerName is empty, the URL's host is used.
	TLSConfig *tls.Config
	// DialTimeout bounds Dial as a whole: the TCP connection, the TLS and
	// WebSocket handshakes and the wait for WELCOME. Zero means
	// DefaultDialTimeout; a negative value leaves only Dial's context.
	DialTimeout time.Duration
	// MaxMessageSize bounds a message from the server, in bytes; a larger
	// one makes the Client close the connection with 1009. Zero means
	// DefaultMaxMessageSize; a negative value means no bound.
	MaxMessageSize int
	// Ticket is an OroSyncBundle authentication ticket (see
	// auth.MintTicket). When set, Dial appends ticket=<ticket>, escaped
	// with url.QueryEscape, to the URL's query, after any parameters the
	// URL already has, as Oro's backend client does with http_build_query.
	// Empty sends no ticket.
	Ticket string
	// TicketFunc, when set, is called by every Dial for a fresh ticket and
	// takes precedence over Ticket. Oro tickets expire (300 s by default),
	// so a long-lived Reconnecting needs one minted per connection. An
	// error fails the Dial; "" sends no ticket.
	//
	// In WAMP v2 neither goes into the URL: the ticket (TicketFunc is
	// called when the CHALLENGE arrives) is the AUTHENTICATE answer to a
	// "ticket" CHALLENGE.
	TicketFunc func() (string, error)

	// Protocol selects the WAMP dialect: "" or ProtocolV1 ("wamp") for
	// WAMP v1, ProtocolV2JSON, ProtocolV2MsgPack or ProtocolV2CBOR for WAMP
	// v2 with that serializer. With v2, Protocols defaults to [Protocol],
	// and Dial fails unless the server chooses a v2 subprotocol, whose
	// serializer is then used. The fields below apply to v2 only.
	Protocol string
	// Realm is the realm HELLO asks to join. Empty means DefaultRealm.
	Realm string
	// AuthID is the identity HELLO claims (HELLO.Details.authid), which
	// the ticket and wampcra methods need. Empty sends none.
	AuthID string
	// AuthMethods lists the authentication methods HELLO offers, in order
	// of preference. Nil derives them from the credentials given:
	// "wampcra" when Secret is set, then "ticket" when Ticket or
	// TicketFunc is; none (the router's anonymous default) without them.
	AuthMethods []string
	// Secret answers a "wampcra" CHALLENGE: the challenge is signed with
	// wamp.CRASign, keyed with the secret itself or, when the challenge
	// carries a salt, with wamp.CRADeriveKey(Secret, salt, iterations,
	// keylen).
	Secret string
	// OnEventV2, when set, receives the v2 events instead of OnEvent, with
	// their ids, whole payload and publisher. It is called as OnEvent is,
	// from the reader goroutine, under the same rules. Without it, OnEvent
	// receives v2 events too: the topic, and the payload's first positional
	// argument as the event (see wamp.Payload.V1Event).
	OnEventV2 func(Event)
	// RequestTimeout bounds the v2 requests of the methods that take no
	// context (Subscribe and Unsubscribe): how long they wait for the
	// router's answer. Zero means DefaultRequestTimeout; a negative value
	// means no bound.
	RequestTimeout time.Duration
}

// CallError is the error of a Call the server answered with CALLERROR, or
// in WAMP v2 of a Call or CallV2 the router answered with ERROR. A
// Handler returns one to answer with an ERROR of its URI.
type CallError struct {
	// URI is the error URI. Ratchet-based servers send the procedure URI.
	URI string
	// Description is the human-readable error text.
	Description string
	// Details is the optional fifth element of the CALLERROR as raw JSON;
	// nil when the server sent none. In WAMP v2 it is the ERROR.Details
	// dict, nil when empty.
	Details json.RawMessage
	// Payload (v2) holds the ERROR's arguments. Description is then its
	// first positional argument when that is a string.
	Payload wamp.Payload

	v2 bool // decoded from a v2 ERROR
}

// Error implements error.
func (e *CallError) Error() string {
	if e.v2 {
		return "client: call error " + e.URI + payloadSuffix(e.Payload)
	}
	if len(e.Details) == 0 {
		return fmt.Sprintf("client: call error %s: %s", e.URI, e.Description)
	}
	return fmt.Sprintf("client: call error %s: %s %s", e.URI, e.Description, e.Details)
}

// PublishOption modifies a PUBLISH.
type PublishOption func(*publishOptions)

type publishOptions struct {
	excludeMe bool
	exclude   []string
	eligible  []string
}

// ExcludeMe asks the server not to send the event back to this session.
func ExcludeMe() PublishOption {
	return func(o *publishOptions) { o.excludeMe = true }
}

// Exclude lists session ids that must not receive the event.
func Exclude(ids ...string) PublishOption {
	return func(o *publishOptions) { o.exclude = append(o.exclude, ids...) }
}

// Eligible lists the only session ids that may receive the event.
func Eligible(ids ...string) PublishOption {
	return func(o *publishOptions) { o.eligible = append(o.eligible, ids...) }
}

// Client is one WAMP session, v1 or v2 (see Options.Protocol). Its methods
// are safe for concurrent use. A Client owns one reader goroutine, which
// ends when the connection does, and in v2 one goroutine per running
// invocation handler; Close waits for them.
type Client struct {
	conn       net.Conn
	br         *bufio.Reader
	r          *ws.Reader // used by Dial, then only by the reader goroutine
	opts       Options
	sessionID  string
	ident      string
	protocol   string
	callPrefix string
	nextCall   atomic.Uint64

	wmu       sync.Mutex // serializes writes; guards the fields below
	rng       *mathrand.ChaCha8
	wbuf      []byte
	closeSent bool
	werr      error // a failed write leaves the stream unusable

	mu          sync.Mutex // guards the fields below
	calls       map[string]chan callReply
	ended       bool
	endErr      error
	closeCode   uint16
	closeReason string

	gotClose  chan struct{} // closed by the reader when the server's CLOSE arrives
	done      chan struct{} // closed by the reader when it has exited
	closeOnce sync.Once
	closeErr  error

	v2 *v2session // nil for WAMP v1
}

type callReply struct {
	result json.RawMessage
	err    error
}

// Dial connects to a WAMP v1 server at rawURL (ws:// or wss://), performs
// the WebSocket handshake and waits for the server's WELCOME, which must be
// the first message. ctx bounds the whole of Dial, as does
// Options.DialTimeout; it does not affect the Client afterwards.
//
// A server that refuses the handshake with an HTTP status yields a
// *HandshakeError.
//
// With a v2 Options.Protocol, Dial sends HELLO after the handshake,
// answers the router's CHALLENGEs (see Options.Ticket and Secret) and
// waits for its WELCOME; a router's ABORT yields an error wrapping an
// *AbortError.
func Dial(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &dialError{stageURL, fmt.Errorf("client: %w", err)}
	}
	var defaultPort string
	switch u.Scheme {
	case "ws":
		defaultPort = "80"
	case "wss":
		defaultPort = "443"
	default:
		return nil, &dialError{stageURL, fmt.Errorf("client: URL scheme %q is not ws or wss", u.Scheme)}
	}
	if u.Host == "" {
		return nil, &dialError{stageURL, fmt.Errorf("client: URL %q has no host", rawURL)}
	}
	v2, err := isV2Protocol(opts.Protocol)
	if err != nil {
		return nil, &dialError{stageURL, err}
	}
	if !v2 {
		ticket := opts.Ticket
		if opts.TicketFunc != nil {
			if ticket, err = opts.TicketFunc(); err != nil {
				return nil, &dialError{stageURL, fmt.Errorf("client: minting a ticket: %w", err)}
			}
		}
		if ticket != "" {
			u.RawQuery = appendTicket(u.RawQuery, ticket)
		}
	}
	timeout := opts.DialTimeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, &dialError{stageTCP, fmt.Errorf("client: %w", err)}
	}
	c, err := handshake(ctx, conn, u, opts, v2)
	if err != nil {
		conn.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

func handshake(ctx context.Context, conn net.Conn, u *url.URL, opts Options, v2 bool) (*Client, error) {
	if u.Scheme == "wss" {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, &dialError{stageTLS, fmt.Errorf("client: TLS handshake: %w", err)}
		}
		conn = tc
	}
	protocols := opts.Protocols
	if protocols == nil {
		protocols = []string{wamp.V1Subprotocol}
		if v2 {
			protocols = []string{opts.Protocol}
		}
	}
	res, err := ws.Handshake(ctx, conn, u, ws.HandshakeOptions{Header: opts.Header, Protocols: protocols})
	if err != nil {
		var he *ws.HandshakeError
		if errors.As(err, &he) {
			return nil, &HandshakeError{StatusCode: he.StatusCode, Status: he.Status, Body: he.Body}
		}
		return nil, &dialError{stageHandshake, fmt.Errorf("client: %w", err)}
	}

	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	c := &Client{
		conn:       conn,
		br:         res.Reader,
		opts:       opts,
		protocol:   res.Protocol,
		callPrefix: hex.EncodeToString(seed[:4]) + ".",
		rng:        mathrand.NewChaCha8(seed),
		calls:      make(map[string]chan callReply),
		gotClose:   make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.r = ws.NewReader(res.Reader)
	c.r.CheckUTF8 = true
	switch {
	case opts.MaxMessageSize == 0:
		c.r.MaxMessage = DefaultMaxMessageSize
	case opts.MaxMessageSize > 0:
		c.r.MaxMessage = opts.MaxMessageSize
	}
	if v2 {
		codec, ok := wamp.CodecFor(res.Protocol)
		if !ok || codec.Subprotocol() == wamp.V1Subprotocol {
			return nil, &dialError{stageHandshake, fmt.Errorf("client: the server chose subprotocol %q, not a WAMP v2 one", res.Protocol)}
		}
		c.v2 = newV2Session(codec)
		if err := c.establishV2(ctx); err != nil {
			c.v2.cancel()
			return nil, &dialError{stageWelcome, err}
		}
		return c, nil
	}
	if err := c.readWelcome(ctx); err != nil {
		return nil, &dialError{stageWelcome, err}
	}
	return c, nil
}

// appendTicket adds ticket=<ticket> to rawQuery, keeping what is there.
func appendTicket(rawQuery, ticket string) string {
	if rawQuery != "" && !strings.HasSuffix(rawQuery, "&") {
		rawQuery += "&"
	}
	return rawQuery + "ticket=" + url.QueryEscape(ticket)
}

// dialStage names the step of Dial that failed.
type dialStage int

const (
	stageURL       dialStage = iota // the URL or the ticket
	stageTCP                        // the TCP connection
	stageTLS                        // the TLS handshake
	stageHandshake                  // the WebSocket handshake (other than an HTTP status)
	stageWelcome                    // waiting for WELCOME
)

// dialError tags an error of Dial with the step that failed, for Check.
// It reads and unwraps as the error it holds.
type dialError struct {
	stage dialStage
	err   error
}

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// readWelcome reads the first message, which must be a WELCOME.
func (c *Client) readWelcome(ctx context.Context) error {
	return c.readUntilWelcome(ctx, c.readWelcomeMessage)
}

// readUntilWelcome runs read, which reads the session's opening messages
// up to WELCOME, bounded by ctx: ctx's end breaks the read through the
// connection's deadline.
func (c *Client) readUntilWelcome(ctx context.Context, read func() error) error {
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Unix(1, 0)) })
	err := read()
	if !stop() {
		return fmt.Errorf("client: waiting for WELCOME: %w", ctx.Err())
	}
	if err != nil {
		return err
	}
	return c.conn.SetReadDeadline(time.Time{})
}

func (c *Client) readWelcomeMessage() error {
	for {
		op, p, err := c.r.ReadMessage()
		if err != nil {
			return fmt.Errorf("client: waiting for WELCOME: %w", err)
		}
		switch op {
		case ws.OpPing:
			if err := c.write(ws.OpPong, p, false); err != nil {
				return err
			}
		case ws.OpPong:
		case ws.OpClose:
			code, reason, _ := ws.ParseClosePayload(p)
			return fmt.Errorf("client: server closed the connection before WELCOME: %w", &ws.CloseError{Code: code, Reason: reason})
		case ws.OpText:
			m, err := wamp.V1{}.Decode(p)
			if err != nil {
				return fmt.Errorf("client: first message is not WELCOME: %q", truncate(p))
			}
			w, ok := m.(*wamp.Welcome)
			if !ok {
				return fmt.Errorf("client: first message is %s, not WELCOME", m.Kind())
			}
			c.sessionID, c.ident = w.SessionID, w.ServerIdent
			return nil
		default:
			return errors.New("client: first message is binary, not WELCOME")
		}
	}
}

// HandshakeError is returned by Dial when the server answers the WebSocket
// handshake with an HTTP status other than 101.
type HandshakeError struct {
	StatusCode int
	// Status is the status line's text, such as "403 Forbidden".
	Status string
	// Body holds the first 512 bytes of the response body.
	Body string
}

// Error implements error.
func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return "client: handshake refused: " + e.Status
	}
	return fmt.Sprintf("client: handshake refused: %s: %q", e.Status, truncate([]byte(e.Body)))
}

// SessionID returns the session id from the server's WELCOME: in WAMP v2
// the decimal form of SessionNumber.
func (c *Client) SessionID() string { return c.sessionID }

// ServerIdent returns the server software named in the WELCOME, such as
// "Ratchet/0.4.4"; in WAMP v2 the WELCOME.Details.agent, if any.
func (c *Client) ServerIdent() string { return c.ident }

// Protocol returns the WebSocket subprotocol the server chose ("wamp", or
// a v2 one such as "wamp.2.json"), or "" if it chose none.
func (c *Client) Protocol() string { return c.protocol }

// Done returns a channel that is closed when the connection is gone and
// the reader goroutine has exited.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseStatus returns the status code and reason of the CLOSE frame the
// server sent: 0 and "" if it sent none (yet), 1005 (ws.CloseNoStatus) for
// a CLOSE without a status. After Done is closed it no longer changes.
func (c *Client) CloseStatus() (code uint16, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeReason
}

// Prefix sends a PREFIX, declaring prefix as a CURIE prefix for uri.
func (c *Client) Prefix(prefix, uri string) error {
	return c.send(&wamp.Prefix{Prefix: prefix, URI: uri})
}

// Subscribe sends a SUBSCRIBE. WAMP v1 has no acknowledgement: the server
// may refuse silently, or with a text frame (see Options.OnText). In WAMP
// v2 it is SubscribeWith with exact matching, bounded by
// Options.RequestTimeout: it waits for the SUBSCRIBED, and a refusal is a
// *RequestError.
func (c *Client) Subscribe(topic string) error {
	if c.v2 != nil {
		return c.subscribeCompat(topic)
	}
	return c.send(&wamp.Subscribe{Topic: topic})
}

// Unsubscribe sends an UNSUBSCRIBE. In WAMP v2 it ends every subscription
// made with topic as its topic or pattern, whatever the match policy,
// waiting for each UNSUBSCRIBED (bounded by Options.RequestTimeout); it
// fails when there is none.
func (c *Client) Unsubscribe(topic string) error {
	if c.v2 != nil {
		return c.unsubscribeCompat(topic)
	}
	return c.send(&wamp.Unsubscribe{Topic: topic})
}

// Publish sends a PUBLISH of event to topic. event is encoded with
// encoding/json, except a json.RawMessage, which is sent as is and must be
// valid JSON. With ExcludeMe and an Exclude or Eligible list, the
// session's own id is added to the exclusions.
//
// In WAMP v2 the event is the only positional argument, and Publish
// returns once the PUBLISH is written (no acknowledge). It keeps the v1
// meaning of the options: without ExcludeMe it sends exclude_me=false, so
// the publisher receives its own event as in v1 (v2's default is the
// opposite; PublishV2 follows it); ExcludeMe sends exclude_me=true;
// Exclude and Eligible send the "exclude" and "eligible" lists, whose
// string ids must be v2 session ids in decimal (SessionID).
func (c *Client) Publish(topic string, event any, opts ...PublishOption) error {
	payload, err := marshal(event)
	if err != nil {
		return err
	}
	var o publishOptions
	for _, opt := range opts {
		opt(&o)
	}
	if c.v2 != nil {
		return c.publishCompat(topic, payload, o)
	}
	m := &wamp.Publish{Topic: topic, Event: payload, Exclude: o.exclude, Eligible: o.eligible}
	if o.excludeMe {
		if len(o.exclude) > 0 || len(o.eligible) > 0 {
			m.Exclude = append(m.Exclude, c.sessionID)
		} else {
			m.ExcludeMe = true
		}
	}
	return c.send(m)
}

// Call calls procedure with args, each encoded like Publish's event, and
// waits for the answer. It returns the CALLRESULT's result as raw JSON, a
// *CallError for a CALLERROR, ctx.Err() when ctx ends first, or an error
// wrapping ErrClosed when the connection goes first. Ratchet-based servers
// pass a single list or object argument to the procedure as is, and any
// other arguments as a list.
//
// In WAMP v2 the args are the CALL's positional arguments, and the result
// is the RESULT's only positional argument when it has exactly one and no
// keyword arguments; null when it has neither; otherwise the whole
// payload as the JSON object {"args":[...],"kwargs":{...}} (both always
// present). An ERROR is a *CallError; ctx ending sends a CANCEL (mode
// killnowait). CallV2 gives the payload itself.
func (c *Client) Call(ctx context.Context, procedure string, args ...any) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.v2 != nil {
		return c.callCompat(ctx, procedure, args)
	}
	raws := make([]json.RawMessage, len(args))
	for i, a := range args {
		var err error
		if raws[i], err = marshal(a); err != nil {
			return nil, err
		}
	}
	id := c.callPrefix + strconv.FormatUint(c.nextCall.Add(1), 10)
	ch := make(chan callReply, 1)
	c.mu.Lock()
	if c.ended {
		err := c.endErr
		c.mu.Unlock()
		return nil, err
	}
	c.calls[id] = ch
	c.mu.Unlock()

	if err := c.send(&wamp.Call{CallID: wamp.AppendString(nil, id), Procedure: procedure, Args: raws}); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.result, r.err
	case <-ctx.Done():
		c.forget(id)
		return nil, ctx.Err()
	}
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	delete(c.calls, id)
	c.mu.Unlock()
}

// WriteRaw sends one masked, final frame with any opcode and payload, for
// tests that feed a server malformed input. It may be used after Close has
// begun. Payload is not modified.
func (c *Client) WriteRaw(op byte, payload []byte) error {
	return c.write(op, payload, true)
}

// WriteRawBytes writes b to the connection as is, with no framing.
func (c *Client) WriteRawBytes(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writable(true); err != nil {
		return err
	}
	return c.writeLocked(b)
}

// Close performs the closing handshake: it sends CLOSE 1000, waits up to
// two seconds for the server's CLOSE, closes the TCP connection and waits
// for the reader goroutine. Pending calls fail. Close is idempotent; it
// returns nil when the connection was already gone. It must not be called
// from OnEvent or OnText.
//
// In WAMP v2 Close first cancels the contexts of the running invocation
// handlers and gives them up to two seconds to answer, then sends
// GOODBYE (wamp.close.normal) and waits up to two seconds for the
// router's GOODBYE before the WebSocket closing handshake; it returns
// only when every handler has returned. Handlers must therefore return
// once their context is done, and must not call Close.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Client) close() error {
	if c.v2 != nil {
		handlersDone := c.v2.stopHandlers()
		defer func() { <-handlersDone }()
		c.goodbyeV2(handlersDone)
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	// Unblock a writer stuck on a peer that does not read, so that the
	// CLOSE can go out (or fail) in bounded time.
	_ = c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
	err := c.writeClose(ws.CloseNormal, "")
	if err == nil {
		timer := time.NewTimer(closeTimeout)
		select {
		case <-c.gotClose:
		case <-c.done:
		case <-timer.C:
		}
		timer.Stop()
	}
	c.conn.Close()
	<-c.done
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// readLoop is the reader goroutine.
func (c *Client) readLoop() {
	var endErr error
	defer func() { c.finish(endErr) }()
	for {
		op, p, err := c.r.ReadMessage()
		if err != nil {
			endErr = err
			var ce *ws.CloseError
			if errors.As(err, &ce) {
				// The server broke the protocol or sent too much: say so.
				_ = c.writeClose(ce.Code, ce.Reason)
				c.drain()
			}
			return
		}
		switch op {
		case ws.OpText:
			if c.v2 != nil {
				c.handleV2(p)
				continue
			}
			c.handleText(bytes.Clone(p))
		case ws.OpBinary:
			if c.v2 != nil {
				c.handleV2(p)
			}
		case ws.OpPing:
			_ = c.write(ws.OpPong, p, false)
		case ws.OpClose:
			code, reason, perr := ws.ParseClosePayload(p)
			c.mu.Lock()
			if perr != nil && len(p) >= 2 {
				c.closeCode, c.closeReason = binary.BigEndian.Uint16(p), string(p[2:])
			} else {
				c.closeCode, c.closeReason = code, reason
			}
			c.mu.Unlock()
			close(c.gotClose)
			var ce *ws.CloseError
			switch {
			case errors.As(perr, &ce):
				_ = c.writeClose(ce.Code, ce.Reason)
			case code == ws.CloseNoStatus:
				_ = c.writeClose(0, "")
			default:
				_ = c.writeClose(code, "") // echo the code, as RFC 6455 suggests
			}
			endErr = &ws.CloseError{Code: c.closeCode, Reason: c.closeReason}
			c.drain()
			return
		}
	}
}

// drain discards what the server still sends until it drops the
// connection, for at most closeTimeout.
func (c *Client) drain() {
	_ = c.conn.SetReadDeadline(time.Now().Add(closeTimeout))
	_, _ = io.Copy(io.Discard, c.br)
}

// finish runs when the reader goroutine exits.
func (c *Client) finish(endErr error) {
	c.conn.Close()
	err := ErrClosed
	if endErr != nil && !errors.Is(endErr, io.EOF) {
		err = fmt.Errorf("%w: %w", ErrClosed, endErr)
	}
	c.mu.Lock()
	c.ended = true
	c.endErr = err
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, ch := range calls {
		ch <- callReply{err: err}
	}
	if c.v2 != nil {
		c.v2.end(err)
	}
	close(c.done)
}

func (c *Client) handleText(p []byte) {
	m, err := wamp.V1{}.Decode(p)
	if err != nil {
		if c.opts.OnText != nil {
			c.opts.OnText(p)
		}
		return
	}
	switch m := m.(type) {
	case *wamp.Event:
		if c.opts.OnEvent != nil {
			c.opts.OnEvent(m.Topic, m.Event)
		}
	case *wamp.CallResult:
		c.reply(m.CallID, callReply{result: m.Result})
	case *wamp.CallError:
		c.reply(m.CallID, callReply{err: &CallError{URI: m.ErrorURI, Description: m.Description, Details: m.Details}})
	default:
		if c.opts.OnText != nil {
			c.opts.OnText(p)
		}
	}
}

// reply hands an answer to the pending Call with callID, if any.
func (c *Client) reply(callID json.RawMessage, r callReply) {
	var id string
	if err := json.Unmarshal(callID, &id); err != nil {
		id = string(callID)
	}
	c.mu.Lock()
	ch, ok := c.calls[id]
	delete(c.calls, id)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
}

func (c *Client) send(m wamp.Message) error {
	b, err := wamp.V1{}.Append(nil, m)
	if err != nil {
		return err
	}
	return c.write(ws.OpText, b, false)
}

// writable reports why nothing can be written, if anything. c.wmu is held.
func (c *Client) writable(afterClose bool) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if c.werr != nil {
		return c.werr
	}
	if c.closeSent && !afterClose {
		return ErrClosed
	}
	return nil
}

// write sends one masked, final frame. Unless afterClose is set, it
// refuses once a CLOSE has been sent.
func (c *Client) write(op byte, payload []byte, afterClose bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writable(afterClose); err != nil {
		return err
	}
	return c.writeFrameLocked(op, payload)
}

// writeClose sends a CLOSE with code (none when 0) unless one was sent.
func (c *Client) writeClose(code uint16, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writable(false); err != nil {
		return err
	}
	c.closeSent = true
	return c.writeFrameLocked(ws.OpClose, ws.ClosePayload(code, reason))
}

func (c *Client) writeFrameLocked(op byte, payload []byte) error {
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], uint32(c.rng.Uint64()))
	c.wbuf = ws.AppendMaskedFrame(c.wbuf[:0], op, payload, key)
	err := c.writeLocked(c.wbuf)
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil
	}
	return err
}

func (c *Client) writeLocked(b []byte) error {
	if _, err := c.conn.Write(b); err != nil {
		// Part of a frame may have gone out: nothing can follow it.
		c.werr = fmt.Errorf("client: write: %w", err)
		return c.werr
	}
	return nil
}

// marshal encodes v as JSON; a json.RawMessage is checked, not re-encoded.
func marshal(v any) (json.RawMessage, error) {
	if r, ok := v.(json.RawMessage); ok {
		if !json.Valid(r) {
			return nil, errors.New("client: json.RawMessage is not valid JSON")
		}
		return r, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return b, nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
