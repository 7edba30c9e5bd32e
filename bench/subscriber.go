package bench

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// Subscriber flags.
const (
	fConnected = 1 << iota // the handshake and WELCOME succeeded
	fReady                 // a probe event arrived: the subscription works
	fClosed                // the read loop ended
	fAnswered              // WAMP v2: SUBSCRIBED (or an ERROR) answered the SUBSCRIBE
)

// subscriber is one subscriber connection. Everything but flags belongs
// to its read loop while it runs; the runner reads the counters after the
// loop ended.
type subscriber struct {
	r     *runner
	id    int32
	topic int32
	flags atomic.Uint32
	fr    frameReader
	// seen has one bit per sequence number.
	seen []uint64
	// frag assembles a fragmented message (rare: herald never fragments).
	frag   []byte
	inFrag bool

	unique, duplicates, outOfOrder, unexpected int32
	maxSeq                                     int32
}

// closedError is the server's CLOSE frame.
type closedError struct {
	code   uint16
	reason string
}

func (e *closedError) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("the server closed the connection (%d)", e.code)
	}
	return fmt.Sprintf("the server closed the connection (%d %s)", e.code, strconv.Quote(e.reason))
}

// open dials t from src, performs the WebSocket handshake and
// reads the WELCOME (after sending HELLO in WAMP v2), leaving fr reading
// the connection. ctx bounds it all. With stamped, the connection is a
// *stampedConn.
func (r *runner) open(ctx context.Context, t *target, src net.IP, fr *frameReader, stamped bool) (net.Conn, error) {
	// No TCP keepalive: a load test does not idle long enough to need it,
	// and it saves setsockopt calls on the connect path.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, KeepAlive: -1, Timeout: r.cfg.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, fmt.Errorf("connecting from %s: %w", src, err)
	}
	if stamped {
		sc, err := stampConn(conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = sc
	}
	// ConnectTimeout bounds the handshake and the WELCOME; ctx's end
	// interrupts them.
	conn.SetDeadline(time.Now().Add(r.cfg.ConnectTimeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	req := r.requests[t]
	if err = r.handshake(conn, req, fr); err != nil {
		err = fmt.Errorf("handshake: %w", err)
	} else {
		fr.limit = r.cfg.ReadBuffer
		fr.now = time.Now().UnixNano()
		err = r.welcome(conn, fr)
	}
	if !stop() {
		err = ctx.Err()
	}
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// welcome sends HELLO (WAMP v2) and reads the WELCOME.
func (r *runner) welcome(conn net.Conn, fr *frameReader) error {
	proto := r.cfg.Protocol
	v2 := IsV2(proto)
	if v2 {
		if err := writeFrame(conn, frameOp(proto), appendHello(nil, proto, r.cfg.Realm)); err != nil {
			return fmt.Errorf("sending HELLO: %w", err)
		}
	}
	for {
		op, _, p, err := fr.next()
		if err != nil {
			return fmt.Errorf("waiting for WELCOME: %w", err)
		}
		switch op {
		case ws.OpPing:
			if err := writeFrame(conn, ws.OpPong, p); err != nil {
				return err
			}
			continue
		case ws.OpClose:
			return fmt.Errorf("waiting for WELCOME: %w", closeFrameError(p))
		case ws.OpText, ws.OpBinary:
		default:
			continue
		}
		m, ok := readMessage(proto, p)
		switch {
		case ok && !v2 && m.typ == v1Welcome, ok && v2 && m.typ == v2Welcome:
			return nil
		case ok && v2 && m.typ == v2Abort:
			return fmt.Errorf("the router refused the session: %s", showMessage(proto, p))
		}
		return fmt.Errorf("the first message is not a WELCOME: %s", showMessage(proto, p))
	}
}

// connect opens subscriber i's connection; subscribeAll subscribes it
// once every connection is open, so the connect phase measures handshakes
// alone.
func (r *runner) connect(ctx context.Context, i int) error {
	s := &r.subs[i]
	if _, err := r.open(ctx, r.t, r.t.sources[i%len(r.t.sources)], &s.fr, false); err != nil {
		return err
	}
	s.flags.Store(fConnected)
	r.readers.Add(1)
	go s.readLoop()
	return nil
}

// readLoop reads the connection until it ends, then closes it.
func (s *subscriber) readLoop() {
	defer s.r.readers.Done()
	err := s.read(&s.r.shards[int(s.id)%numShards])
	s.flags.Or(fClosed)
	conn := s.fr.conn
	if s.r.stopping.Load() {
		// The runner interrupted the read: end the session politely.
		var ce *closedError
		if !errors.As(err, &ce) {
			writeFrame(conn, ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
		}
	} else {
		s.r.dropped.Add(1)
		s.r.errs.add(fmt.Sprintf("subscriber %d (%s) lost its connection: %v", s.id, s.r.cfg.topic(int(s.topic)), err))
	}
	conn.Close()
	s.fr.buf = nil
	s.frag = nil
}

// read handles frames until the connection fails or closes.
func (s *subscriber) read(sh *shard) error {
	for {
		op, fin, p, err := s.fr.next()
		if err != nil {
			return err
		}
		switch op {
		case ws.OpText, ws.OpBinary:
			if s.inFrag {
				return errors.New("websocket: a new message inside a fragmented one")
			}
			if !fin {
				s.frag, s.inFrag = append(s.frag[:0], p...), true
				continue
			}
			s.message(p, sh)
		case ws.OpContinuation:
			if !s.inFrag {
				return errors.New("websocket: a continuation frame without a message")
			}
			s.frag = append(s.frag, p...)
			if fin {
				s.inFrag = false
				s.message(s.frag, sh)
				if cap(s.frag) > 64<<10 {
					s.frag = nil
				}
			}
		case ws.OpPing:
			if err := writeFrame(s.fr.conn, ws.OpPong, p); err != nil {
				return err
			}
		case ws.OpPong:
		case ws.OpClose:
			err := closeFrameError(p)
			code := ws.CloseNormal
			if ce, ok := err.(*closedError); ok && ce.code != ws.CloseNoStatus {
				code = ce.code
			}
			writeFrame(s.fr.conn, ws.OpClose, ws.ClosePayload(code, ""))
			return err
		default:
			return fmt.Errorf("websocket: unknown opcode %d", op)
		}
	}
}

// message handles one WAMP message.
func (s *subscriber) message(p []byte, sh *shard) {
	proto := s.r.cfg.Protocol
	v2 := IsV2(proto)
	m, ok := readMessage(proto, p)
	switch {
	case !ok:
		s.r.errs.add(fmt.Sprintf("subscriber %d received a message that is not WAMP: %s", s.id, showMessage(proto, p)))
	case !v2 && m.typ == v1Event, v2 && m.typ == v2Event:
		seq, sent, ok := m.event(proto)
		if !ok {
			s.unexpected++
			s.r.errs.add(fmt.Sprintf("subscriber %d received an event without \"s\" and \"t\": %s", s.id, showMessage(proto, p)))
			return
		}
		s.event(seq, sent, sh)
	case v2 && m.typ == v2Subscribed:
		s.flags.Or(fAnswered)
	case !v2 && m.typ == v1CallError, v2 && (m.typ == v2Error || m.typ == v2Abort || m.typ == v2Goodbye):
		if v2 && m.typ == v2Error {
			s.flags.Or(fAnswered) // the subscriber's one request is its SUBSCRIBE
		}
		s.r.errs.add(fmt.Sprintf("subscriber %d (%s): the server answered %s", s.id, s.r.cfg.topic(int(s.topic)), showMessage(proto, p)))
	}
}

// event counts one event with sequence number seq sent at sent.
func (s *subscriber) event(seq, sent int64, sh *shard) {
	if seq < 0 { // a probe
		if s.flags.Load()&fReady == 0 {
			s.flags.Or(fReady)
		}
		return
	}
	if seq >= int64(s.r.cfg.Messages) {
		s.unexpected++
		s.r.errs.add(fmt.Sprintf("subscriber %d received sequence number %d, beyond the %d published", s.id, seq, s.r.cfg.Messages))
		return
	}
	w, bit := seq>>6, uint64(1)<<(seq&63)
	if s.seen[w]&bit != 0 {
		s.duplicates++
		sh.duplicates.Add(1)
		sh.delivered.Add(1)
		return
	}
	s.seen[w] |= bit
	s.unique++
	if int32(seq) < s.maxSeq {
		s.outOfOrder++
	} else {
		s.maxSeq = int32(seq)
	}
	now := s.fr.now
	sh.record(max(now-sent, 0), now)
}

// writeFrame writes one masked frame within writeTimeout.
func writeFrame(conn net.Conn, op byte, payload []byte) error {
	frame := ws.AppendMaskedFrame(make([]byte, 0, len(payload)+14), op, payload, maskKey())
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := conn.Write(frame)
	conn.SetWriteDeadline(time.Time{})
	return err
}

// writeTimeout bounds every write of the bench's own.
const writeTimeout = 10 * time.Second

// maskKey returns a fresh masking key.
func maskKey() (k [4]byte) {
	binary.LittleEndian.PutUint32(k[:], rand.Uint32())
	return k
}

// closeFrameError reads a CLOSE frame's payload.
func closeFrameError(p []byte) error {
	code, reason, err := ws.ParseClosePayload(p)
	if err != nil {
		return err
	}
	return &closedError{code: code, reason: reason}
}

// clip shortens a message for an error line; one with control
// characters or invalid UTF-8 is quoted.
func clip(p []byte) string {
	suffix := ""
	if len(p) > 160 {
		p, suffix = p[:160], "…"
	}
	s := string(p)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		s = strconv.Quote(s)
	}
	return s + suffix
}

// showMessage renders a received message for an error line: a msgpack
// one as the JSON of the same WAMP message when it decodes as one (as
// hex otherwise), a JSON one as clip does.
func showMessage(protocol string, p []byte) string {
	if protocol != WAMP2MsgPack {
		return clip(p)
	}
	if m, err := (wamp.V2MsgPack{}).Decode(p); err == nil {
		if j, err := (wamp.V2JSON{}).Append(nil, m); err == nil {
			return clip(j)
		}
	}
	suffix := ""
	if len(p) > 80 {
		p, suffix = p[:80], "…"
	}
	return "msgpack " + hex.EncodeToString(p) + suffix
}

// subscribeAll sends every connected subscriber's SUBSCRIBE,
// ConnectConcurrency at a time. A failed write is reported; that
// subscriber then never sees a probe and counts as not subscribed.
func (r *runner) subscribeAll(ctx context.Context) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(r.cfg.ConnectConcurrency, len(r.subs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.subs) || ctx.Err() != nil {
					return
				}
				s := &r.subs[i]
				if s.flags.Load()&fConnected == 0 || s.flags.Load()&fClosed != 0 {
					continue
				}
				msg := appendSubscribe(nil, r.cfg.Protocol, 1, r.cfg.topic(int(s.topic)))
				if err := writeFrame(s.fr.conn, frameOp(r.cfg.Protocol), msg); err != nil {
					r.errs.add(fmt.Sprintf("subscriber %d: sending SUBSCRIBE: %v", i, err))
				}
			}
		})
	}
	wg.Wait()
}
