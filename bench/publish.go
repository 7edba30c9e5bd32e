package bench

import (
	"bytes"
	"context"
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
// reported to the runner exactly once. An error from publish or flush
// means the publisher cannot go on.
type publisher interface {
	publish(ctx context.Context, topic int, probe bool, event []byte) error
	flush(ctx context.Context) error
	close()
}

// pendingPub is a publication whose outcome is not known yet.
type pendingPub struct {
	topic int32
	probe bool
	dc    *amqp.DeferredConfirmation
}

// ---- WAMP ----------------------------------------------------------------

// wampFlushSize is how many bytes of frames a WAMP publisher gathers
// before writing them when it publishes as fast as possible.
const wampFlushSize = 8 << 10

// wampPublisher publishes over its own WAMP connection. A reader
// goroutine answers PINGs and reports what the server answers (a
// CALLERROR or ERROR means a publication was refused).
type wampPublisher struct {
	r       *runner
	id      int
	conn    net.Conn
	fr      frameReader
	wmu     sync.Mutex // serializes writes with the reader's PONGs
	out     []byte
	pending []pendingPub
	scratch []byte
	req     uint64
	// dead is why the connection cannot be written to any more: a write
	// failed, or the server closed or dropped it.
	dead atomic.Pointer[error]
	done chan struct{}
}

// kill marks the connection dead with err, the first time.
func (p *wampPublisher) kill(err error) { p.dead.CompareAndSwap(nil, &err) }

// deadErr returns why the connection is dead, or nil.
func (p *wampPublisher) deadErr() error {
	if e := p.dead.Load(); e != nil {
		return *e
	}
	return nil
}

func (r *runner) newWAMPPublisher(ctx context.Context, id int) (*wampPublisher, error) {
	p := &wampPublisher{r: r, id: id, done: make(chan struct{})}
	conn, err := r.open(ctx, r.pt, r.pt.sources[id%len(r.pt.sources)], &p.fr)
	if err != nil {
		return nil, fmt.Errorf("publisher %d: %w", id, err)
	}
	p.conn = conn
	go p.readLoop()
	return p, nil
}

func (p *wampPublisher) publish(ctx context.Context, topic int, probe bool, event []byte) error {
	if err := p.deadErr(); err != nil {
		return p.flush(ctx)
	}
	p.req++
	p.scratch = appendPublish(p.scratch[:0], p.r.cfg.Protocol, p.req, p.r.cfg.topic(topic), event)
	p.out = ws.AppendMaskedFrame(p.out, ws.OpText, p.scratch, maskKey())
	p.pending = append(p.pending, pendingPub{topic: int32(topic), probe: probe})
	if len(p.out) >= wampFlushSize {
		return p.flush(ctx)
	}
	return nil
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
	for _, pp := range p.pending {
		p.r.published(int(pp.topic), pp.probe, err)
	}
	p.out, p.pending = p.out[:0], p.pending[:0]
	return err
}

func (p *wampPublisher) readLoop() {
	defer close(p.done)
	v2 := p.r.cfg.Protocol == WAMP2
	for {
		op, _, msg, err := p.fr.next()
		if err != nil {
			p.kill(fmt.Errorf("publisher %d lost its connection: %w", p.id, err))
			if !p.r.stopping.Load() {
				p.r.errs.add(p.deadErr().Error())
			}
			return
		}
		switch op {
		case ws.OpPing:
			p.wmu.Lock()
			writeFrame(p.conn, ws.OpPong, msg)
			p.wmu.Unlock()
		case ws.OpClose:
			if p.r.stopping.Load() {
				return // the answer to close's CLOSE
			}
			p.wmu.Lock()
			p.kill(fmt.Errorf("publisher %d: %w", p.id, closeFrameError(msg)))
			writeFrame(p.conn, ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
			p.wmu.Unlock()
			p.r.errs.add(p.deadErr().Error())
			return
		case ws.OpText, ws.OpBinary:
			typ, _, ok := messageType(msg)
			if !ok || (!v2 && typ == v1CallError) || (v2 && (typ == v2Error || typ == v2Abort || typ == v2Goodbye)) {
				p.r.refused.Add(1)
				p.r.errs.add(fmt.Sprintf("publisher %d: the server answered %s", p.id, clip(msg)))
			}
		}
	}
}

func (p *wampPublisher) close() {
	p.wmu.Lock()
	if p.deadErr() == nil {
		writeFrame(p.conn, ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
	}
	p.wmu.Unlock()
	p.conn.SetReadDeadline(time.Now().Add(time.Second))
	<-p.done
	p.conn.Close()
}

// ---- HTTP ----------------------------------------------------------------

// httpPublisher posts each event to herald's /api/publish and waits for
// the answer.
type httpPublisher struct {
	r      *runner
	client *http.Client
	url    string
	body   []byte
}

// newHTTPClient returns the client every HTTP publisher shares: keep-alive
// connections from the first source address, one per publisher.
func (r *runner) newHTTPClient() *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: r.pt.sources[0]}, Timeout: r.cfg.ConnectTimeout}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: r.cfg.Publishers + 1,
			MaxConnsPerHost:     r.cfg.Publishers + 1,
			DisableCompression:  true,
		},
	}
}

func (p *httpPublisher) publish(ctx context.Context, topic int, probe bool, event []byte) error {
	p.body = append(p.body[:0], `{"topic":`...)
	p.body = appendString(p.body, p.r.cfg.topic(topic))
	p.body = append(p.body, `,"data":`...)
	p.body = append(p.body, event...)
	p.body = append(p.body, '}')
	err := p.post(ctx)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	p.r.published(topic, probe, err)
	return nil
}

func (p *httpPublisher) post(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", p.r.cfg.APIKey)
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("POST %s: %s: %s", p.url, resp.Status, bytes.TrimSpace(answer))
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
type amqpPublisher struct {
	r       *runner
	id      int
	ac      *amqpConn
	ch      *amqp.Channel
	pending []pendingPub
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
	p := &amqpPublisher{r: r, id: id, ac: ac, ch: ch, mode: amqp.Transient}
	if ac.cfg.Persistent {
		p.mode = amqp.Persistent
	}
	return p, nil
}

func (p *amqpPublisher) publish(ctx context.Context, topic int, probe bool, event []byte) error {
	// A fresh body each time: amqp091-go may still hold it.
	body := append(make([]byte, 0, 48+len(event)), `{"topic":`...)
	body = appendString(body, p.r.cfg.topic(topic))
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
		p.r.published(topic, probe, err)
		return err
	}
	p.pending = append(p.pending, pendingPub{topic: int32(topic), probe: probe, dc: dc})
	if len(p.pending) >= p.ac.cfg.Window {
		return p.settle(ctx, len(p.pending)/2)
	}
	return nil
}

// settle waits for the oldest n pending confirmations.
func (p *amqpPublisher) settle(ctx context.Context, n int) error {
	for i, pp := range p.pending[:n] {
		acked, err := pp.dc.WaitContext(ctx)
		if err != nil {
			// Pending confirmations are neither counted nor failed: the
			// run is over.
			p.pending = append(p.pending[:0], p.pending[i:]...)
			return err
		}
		if !acked {
			err = fmt.Errorf("AMQP publisher %d: RabbitMQ refused (nacked) a message to exchange %q", p.id, p.ac.cfg.Exchange)
		}
		p.r.published(int(pp.topic), pp.probe, err)
	}
	p.pending = append(p.pending[:0], p.pending[n:]...)
	if p.ch.IsClosed() {
		return errors.New("the AMQP channel closed")
	}
	return nil
}

func (p *amqpPublisher) flush(ctx context.Context) error { return p.settle(ctx, len(p.pending)) }

func (p *amqpPublisher) close() { p.ch.Close() }
