package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/internal/ws"
)

// publisher sends events one at a time from one goroutine. publish may
// buffer or leave the confirmation pending; flush sends what is buffered
// and waits for every pending confirmation. Each publication's outcome is
// reported to the runner exactly once (runner.published), with start,
// the Unix time in nanoseconds its publish call began, for the
// publisher's latency. An error from publish or flush means the publisher
// cannot go on.
type publisher interface {
	publish(ctx context.Context, topic int, probe bool, event []byte, start int64) error
	flush(ctx context.Context) error
	close()
}

// pendingPub is a publication whose outcome is not known yet.
type pendingPub struct {
	topic int32
	probe bool
	start int64 // Unix nanoseconds of its publish call
	dc    *amqp.DeferredConfirmation
}

// ---- WAMP ----------------------------------------------------------------

// wampFlushSize is how many bytes of frames a WAMP publisher gathers
// before writing them when it publishes as fast as possible.
const wampFlushSize = 8 << 10

// wampPublisher publishes over its own WAMP connection. A reader
// goroutine answers PINGs and reports what the server answers (a
// CALLERROR or ERROR means a publication was refused).
//
// Pipelined (the default), publications are gathered into batches of
// frames and their outcome is the write of their batch. With Config.Ack,
// each publication is written alone and waited for: the reader passes the
// acknowledgement (the PONG of the PING that followed it in v1, PUBLISHED
// or ERROR in v2) to the waiting publish through acks.
type wampPublisher struct {
	r       *runner
	id      int
	h       *histogram
	conn    net.Conn
	stamps  *stampedConn // conn, with Config.Ack
	fr      frameReader
	wmu     sync.Mutex // serializes writes with the reader's PONGs
	out     []byte
	pending []pendingPub
	scratch []byte
	req     uint64
	// dead is why the connection cannot be written to any more: a write
	// failed, the server closed or dropped it, or an acknowledgement did
	// not come.
	dead atomic.Pointer[error]
	done chan struct{}

	// Config.Ack: the request the publisher waits for (0: none), the
	// reader's answers, and the bound on the wait.
	ack      bool
	awaiting atomic.Uint64
	acks     chan ackAnswer
	timer    *time.Timer
}

// ackAnswer is what answered an acknowledged publication: its request
// number, the Unix time in nanoseconds of the read that brought the
// answer and the kernel's receive time of its bytes, and nil or why the
// server refused the publication.
type ackAnswer struct {
	req      uint64
	at, recv int64
	err      error
}

// kill marks the connection dead with err, the first time; it reports
// whether it was the first.
func (p *wampPublisher) kill(err error) bool { return p.dead.CompareAndSwap(nil, &err) }

// deadErr returns why the connection is dead, or nil.
func (p *wampPublisher) deadErr() error {
	if e := p.dead.Load(); e != nil {
		return *e
	}
	return nil
}

func (r *runner) newWAMPPublisher(ctx context.Context, id int) (*wampPublisher, error) {
	p := &wampPublisher{r: r, id: id, h: &r.pubHists[id], done: make(chan struct{}), ack: r.cfg.Ack}
	if p.ack {
		p.acks = make(chan ackAnswer, 1)
		p.timer = time.NewTimer(time.Hour)
		p.timer.Stop()
	}
	conn, err := r.open(ctx, r.pt, r.pt.sources[id%len(r.pt.sources)], &p.fr, p.ack)
	if err != nil {
		return nil, fmt.Errorf("publisher %d: %w", id, err)
	}
	p.conn = conn
	p.stamps, _ = conn.(*stampedConn)
	go p.readLoop()
	return p, nil
}

func (p *wampPublisher) publish(ctx context.Context, topic int, probe bool, event []byte, start int64) error {
	if err := p.deadErr(); err != nil {
		return p.flush(ctx)
	}
	p.req++
	p.scratch = appendPublish(p.scratch[:0], p.r.cfg.Protocol, p.req, p.ack, p.r.topicNames[topic], event)
	p.out = ws.AppendMaskedFrame(p.out, frameOp(p.r.cfg.Protocol), p.scratch, maskKey())
	if p.ack {
		return p.publishAcked(ctx, topic, probe, start)
	}
	p.pending = append(p.pending, pendingPub{topic: int32(topic), probe: probe, start: start})
	if len(p.out) >= wampFlushSize {
		return p.flush(ctx)
	}
	return nil
}

// publishAcked writes the PUBLISH in p.out, followed in WAMP v1 by a PING
// carrying its request number, and waits for its acknowledgement: at most
// ConnectTimeout, after which the publication fails and the connection is
// given up; a lost connection fails it at once. The run's end (ctx) stops
// the wait and leaves the publication without an outcome, as unsent.
func (p *wampPublisher) publishAcked(ctx context.Context, topic int, probe bool, start int64) error {
	req := p.req
	if !IsV2(p.r.cfg.Protocol) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], req)
		p.out = ws.AppendMaskedFrame(p.out, ws.OpPing, n[:], maskKey())
	}
	select {
	case <-p.acks: // an answer to an earlier wait that ended without it
	default:
	}
	p.awaiting.Store(req)
	defer p.awaiting.Store(0)
	p.wmu.Lock()
	sent := time.Now()
	p.conn.SetWriteDeadline(sent.Add(writeTimeout))
	_, err := p.conn.Write(p.out)
	p.wmu.Unlock()
	p.out = p.out[:0]
	if err != nil {
		p.kill(fmt.Errorf("publisher %d: writing PUBLISH: %w", p.id, err))
		err = p.deadErr()
		p.r.published(p.h, topic, probe, start, time.Now().UnixNano(), err)
		return err
	}
	p.timer.Reset(p.r.cfg.ConnectTimeout)
	defer p.timer.Stop()
	for {
		select {
		case a := <-p.acks:
			if a.req != req {
				continue
			}
			p.r.answered(p.id, probe, sent.UnixNano(), a.recv)
			p.r.published(p.h, topic, probe, start, a.at, a.err)
			return nil
		case <-p.done:
			select {
			case a := <-p.acks: // answered just before the connection ended
				if a.req == req {
					p.r.answered(p.id, probe, sent.UnixNano(), a.recv)
					p.r.published(p.h, topic, probe, start, a.at, a.err)
					return nil
				}
			default:
			}
			err := p.deadErr()
			p.r.published(p.h, topic, probe, start, time.Now().UnixNano(), err)
			return err
		case <-p.timer.C:
			p.kill(fmt.Errorf("publisher %d: no acknowledgement of a publication within %v (--connect-timeout)", p.id, p.r.cfg.ConnectTimeout))
			err := p.deadErr()
			p.r.published(p.h, topic, probe, start, time.Now().UnixNano(), err)
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// answer passes the answer to request req to the publication waiting for
// it, if any; it reports whether one was.
func (p *wampPublisher) answer(req uint64, err error) bool {
	if req == 0 || p.awaiting.Load() != req {
		return false
	}
	select {
	case p.acks <- ackAnswer{req: req, at: p.fr.now, recv: p.stamps.recvAt.Load(), err: err}:
	default:
	}
	return true
}

func (p *wampPublisher) flush(context.Context) error {
	err := p.deadErr()
	if len(p.pending) == 0 {
		return err
	}
	if err == nil {
		p.wmu.Lock()
		p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err = p.conn.Write(p.out)
		p.wmu.Unlock()
		if err != nil {
			p.kill(fmt.Errorf("publisher %d: writing PUBLISH: %w", p.id, err))
			err = p.deadErr()
		}
	}
	// One clock reading for the whole batch: its publications' outcome is
	// the write that carried them.
	now := time.Now().UnixNano()
	for _, pp := range p.pending {
		p.r.published(p.h, int(pp.topic), pp.probe, pp.start, now, err)
	}
	p.out, p.pending = p.out[:0], p.pending[:0]
	return err
}

func (p *wampPublisher) readLoop() {
	defer close(p.done)
	proto := p.r.cfg.Protocol
	v2 := IsV2(proto)
	for {
		op, _, msg, err := p.fr.next()
		if err != nil {
			if p.kill(fmt.Errorf("publisher %d lost its connection: %w", p.id, err)) && !p.r.stopping.Load() {
				p.r.errs.add(p.deadErr().Error())
			}
			return
		}
		switch op {
		case ws.OpPing:
			p.wmu.Lock()
			writeFrame(p.conn, ws.OpPong, msg)
			p.wmu.Unlock()
		case ws.OpPong:
			if p.ack && !v2 && len(msg) == 8 {
				p.answer(binary.BigEndian.Uint64(msg), nil)
			}
		case ws.OpClose:
			if p.r.stopping.Load() {
				return // the answer to close's CLOSE
			}
			p.wmu.Lock()
			first := p.kill(fmt.Errorf("publisher %d: %w", p.id, closeFrameError(msg)))
			writeFrame(p.conn, ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
			p.wmu.Unlock()
			if first {
				p.r.errs.add(p.deadErr().Error())
			}
			return
		case ws.OpText, ws.OpBinary:
			m, ok := readMessage(proto, msg)
			switch {
			case ok && v2 && m.typ == v2Published:
				if p.ack {
					p.answer(m.request(proto), nil)
				}
			case !ok || (!v2 && m.typ == v1CallError) || (v2 && (m.typ == v2Error || m.typ == v2Abort || m.typ == v2Goodbye)):
				p.r.refused.Add(1)
				err := fmt.Errorf("publisher %d: the server answered %s", p.id, showMessage(proto, msg))
				// With Config.Ack, a refusal of the publication in flight
				// is its outcome: v2's ERROR names its request; v1's
				// CALLERROR comes before the PONG that acknowledges it.
				var req uint64
				switch {
				case !p.ack || !ok:
				case v2 && m.typ == v2Error:
					req = m.request(proto)
				case !v2:
					req = p.awaiting.Load()
				}
				if !p.answer(req, err) {
					p.r.errs.add(err.Error())
				}
			}
		}
	}
}

func (p *wampPublisher) close() {
	deadline := time.Now().Add(time.Second)
	p.wmu.Lock()
	if p.deadErr() == nil {
		writeFrame(p.conn, ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
	} else {
		deadline = time.Now() // no closing handshake to wait for
	}
	p.wmu.Unlock()
	p.conn.SetReadDeadline(deadline)
	<-p.done
	p.conn.Close()
}

// ---- HTTP ----------------------------------------------------------------

// httpPublisher posts each event to herald's /api/publish and waits for
// the answer, over its own keep-alive connection.
type httpPublisher struct {
	r      *runner
	id     int
	h      *histogram
	client *http.Client
	url    string
	body   []byte
	// conn is the client's connection, to time the server's answers.
	conn atomic.Pointer[stampedConn]
}

// newHTTPPublisher returns HTTP publisher id, with a client of its own
// that keeps one connection from the first source address.
func (r *runner) newHTTPPublisher(id int) *httpPublisher {
	p := &httpPublisher{r: r, id: id, h: &r.pubHists[id], url: r.pt.httpBase + "/api/publish"}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: r.pt.sources[0]}, Timeout: r.cfg.ConnectTimeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc, err := stampConn(conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		sc.markRequest() // dialed for the request being sent
		p.conn.Store(sc)
		return sc, nil
	}
	p.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         dial,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
		},
	}
	return p
}

func (p *httpPublisher) publish(ctx context.Context, topic int, probe bool, event []byte, start int64) error {
	p.body = append(p.body[:0], `{"topic":`...)
	p.body = appendString(p.body, p.r.topicNames[topic])
	p.body = append(p.body, `,"data":`...)
	p.body = append(p.body, event...)
	p.body = append(p.body, '}')
	if c := p.conn.Load(); c != nil {
		c.markRequest()
	}
	answered, err := p.post(ctx)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if c := p.conn.Load(); answered && c != nil {
		// Sent no earlier than this call began: the send time is this
		// request's, not an earlier one's on a connection since replaced.
		if sent := c.sentAt.Load(); sent >= start {
			p.r.answered(p.id, probe, sent, c.recvAt.Load())
		}
	}
	// The API's own response time as the client sees it: from building
	// the request to the answer's body read.
	p.r.published(p.h, topic, probe, start, time.Now().UnixNano(), err)
	return nil
}

// post sends p.body and reads the answer; answered reports whether the
// server answered (any status).
func (p *httpPublisher) post(ctx context.Context) (answered bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", p.r.cfg.APIKey)
	resp, err := p.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("POST %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return false, fmt.Errorf("POST %s: reading the answer: %w", p.url, err)
		}
		return true, nil
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return true, fmt.Errorf("POST %s: %s: %s", p.url, resp.Status, bytes.TrimSpace(answer))
}

func (p *httpPublisher) flush(context.Context) error { return nil }
func (p *httpPublisher) close()                      { p.client.CloseIdleConnections() }

// ---- AMQP ----------------------------------------------------------------

// DefaultAMQPWindow is AMQPConfig.Window's default.
const DefaultAMQPWindow = 256

// amqpConn is the run's connection to RabbitMQ.
type amqpConn struct {
	conn *amqp.Connection
	cfg  AMQPConfig
}

// dialAMQP connects to RabbitMQ and declares the exchange as Gos's pusher
// and herald's push handler do (durable, direct).
func (r *runner) dialAMQP() (*amqpConn, error) {
	c := *r.cfg.AMQP
	if c.Port == 0 {
		c.Port = 5672
	}
	if c.Vhost == "" {
		c.Vhost = "/"
	}
	if c.Exchange == "" {
		c.Exchange = "gos_websocket_exchange"
	}
	if c.Window <= 0 {
		c.Window = DefaultAMQPWindow
		if r.cfg.Ack {
			c.Window = 1
		}
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("herald-bench")
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	conn, err := amqp.DialConfig("amqp://"+addr+"/", amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: c.Login, Password: c.Password}},
		Vhost:      c.Vhost,
		Properties: props,
		Dial:       amqp.DefaultDial(r.cfg.ConnectTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to RabbitMQ at %s (vhost %q) as %q: %w", addr, c.Vhost, c.Login, err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.ExchangeDeclare(c.Exchange, amqp.ExchangeDirect, true, false, false, false, nil)
		if err != nil {
			err = fmt.Errorf("declaring exchange %q (durable, direct): %w", c.Exchange, err)
		} else {
			err = ch.Close()
		}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &amqpConn{conn: conn, cfg: c}, nil
}

// amqpPublisher publishes {"topic","data"} envelopes on its own channel
// in confirm mode, keeping up to the window of confirmations pending.
// Confirmations that already came are reported at each publication, so
// that a publication's latency ends when its confirmation was first seen,
// not when the window settled.
type amqpPublisher struct {
	r  *runner
	id int
	h  *histogram
	ac *amqpConn
	ch *amqp.Channel
	// pending[head:] await their confirmation, oldest first.
	pending []pendingPub
	head    int
	mode    uint8
}

func (r *runner) newAMQPPublisher(ac *amqpConn, id int) (*amqpPublisher, error) {
	ch, err := ac.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("AMQP publisher %d: opening a channel: %w", id, err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("AMQP publisher %d: confirm mode: %w", id, err)
	}
	p := &amqpPublisher{r: r, id: id, h: &r.pubHists[id], ac: ac, ch: ch, mode: amqp.Transient}
	if ac.cfg.Persistent {
		p.mode = amqp.Persistent
	}
	return p, nil
}

func (p *amqpPublisher) publish(ctx context.Context, topic int, probe bool, event []byte, start int64) error {
	// A fresh body each time: amqp091-go may still hold it.
	body := append(make([]byte, 0, 48+len(event)), `{"topic":`...)
	body = appendString(body, p.r.topicNames[topic])
	body = append(body, `,"data":`...)
	body = append(body, event...)
	body = append(body, '}')
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.ac.cfg.Exchange, p.ac.cfg.RoutingKey, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: p.mode, Body: body,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("AMQP publisher %d: publishing to exchange %q: %w", p.id, p.ac.cfg.Exchange, err)
		p.r.published(p.h, topic, probe, start, time.Now().UnixNano(), err)
		return err
	}
	p.reap()
	if p.head > 0 && len(p.pending) == cap(p.pending) {
		p.pending = p.pending[:copy(p.pending, p.pending[p.head:])]
		p.head = 0
	}
	p.pending = append(p.pending, pendingPub{topic: int32(topic), probe: probe, start: start, dc: dc})
	if n := len(p.pending) - p.head; n >= p.ac.cfg.Window {
		return p.settle(ctx, max(n/2, 1))
	}
	return nil
}

// reap reports the oldest pending confirmations that already came.
func (p *amqpPublisher) reap() {
	var now int64
	for p.head < len(p.pending) {
		pp := &p.pending[p.head]
		select {
		case <-pp.dc.Done():
		default:
			return
		}
		if now == 0 {
			now = time.Now().UnixNano()
		}
		p.confirmed(pp, pp.dc.Acked(), now)
		p.head++
		if p.head == len(p.pending) {
			p.pending, p.head = p.pending[:0], 0
		}
	}
}

// confirmed reports a pending publication's confirmation, seen at now.
func (p *amqpPublisher) confirmed(pp *pendingPub, acked bool, now int64) {
	var err error
	if !acked {
		err = fmt.Errorf("AMQP publisher %d: RabbitMQ refused (nacked) a message to exchange %q", p.id, p.ac.cfg.Exchange)
	}
	p.r.published(p.h, int(pp.topic), pp.probe, pp.start, now, err)
}

// settle waits for the oldest n pending confirmations.
func (p *amqpPublisher) settle(ctx context.Context, n int) error {
	for range n {
		pp := &p.pending[p.head]
		acked, err := pp.dc.WaitContext(ctx)
		if err != nil {
			// Pending confirmations are neither counted nor failed: the
			// run is over.
			return err
		}
		p.confirmed(pp, acked, time.Now().UnixNano())
		p.head++
	}
	if p.head == len(p.pending) {
		p.pending, p.head = p.pending[:0], 0
	}
	if p.ch.IsClosed() {
		return errors.New("the AMQP channel closed")
	}
	return nil
}

func (p *amqpPublisher) flush(ctx context.Context) error { return p.settle(ctx, len(p.pending)-p.head) }

func (p *amqpPublisher) close() { p.ch.Close() }
