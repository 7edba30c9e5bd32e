package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// probeInterval is how often a topic whose subscribers have not all seen
// a probe gets another one.
const probeInterval = 250 * time.Millisecond

// runner is one run in progress.
type runner struct {
	cfg       Config
	t         *target // the subscribers' server
	pt        *target // the publishers' server: t, or Config.PublishURL's
	requests  map[*target]*request
	protocols []string
	progress  io.Writer

	subs   []subscriber
	shards []shard
	errs   errorLog

	readers  sync.WaitGroup
	stopping atomic.Bool

	// connect phase
	connected, failed atomic.Int64
	ready             atomic.Int64
	dropped           atomic.Int64

	// publish phase
	pubs      []publisher
	sent      atomic.Int64
	pubFailed atomic.Int64
	refused   atomic.Int64
	topicSent []atomic.Int64
	// topicNames[i] is Config.topic(i), built once: publishing must not
	// allocate.
	topicNames []string
	// pubHists holds each publisher's own latency histogram (publish call
	// to outcome), written by that publisher's goroutine alone.
	pubHists []histogram
	// respHists holds each publisher's histogram of the server's answer
	// times (a request's write to the kernel's receive time of its
	// answer), for publishers that wait for answers; written by that
	// publisher's goroutine alone.
	respHists []histogram
	lastPub   atomic.Int64 // Unix nanoseconds of the last outcome
	publishAt atomic.Int64 // Unix nanoseconds of the first publication
	phase     atomic.Value // string, for the progress line

	amqp *amqpConn
	mem  *memoryReader
}

// Run executes one run and returns its summary. Progress lines go to
// progress once a second (nil: none). A Config that cannot run is a
// *ConfigError and no summary. A run aborted because more than 1% of the
// connections failed returns its summary and an error naming the first
// failure. Otherwise the error is nil and Summary.OK tells whether every
// expected event arrived exactly once.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Summary, error) {
	r, err := newRunner(cfg, progress)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// newRunner checks cfg and prepares a run; a Config that cannot run is a
// *ConfigError.
func newRunner(cfg Config, progress io.Writer) (*runner, error) {
	cfg, ts, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := ts.subscribe
	requests := map[*target]*request{}
	for _, tg := range []*target{ts.subscribe, ts.publish} {
		req, err := newRequest(tg, cfg.header(), []string{subprotocol(cfg.Protocol)})
		if err != nil {
			return nil, &ConfigError{Err: err}
		}
		requests[tg] = req
	}
	if err := checkFileLimit(cfg.Conns + cfg.Publishers + 64); err != nil {
		return nil, &ConfigError{Err: err}
	}
	r := &runner{
		cfg:       cfg,
		t:         t,
		pt:        ts.publish,
		requests:  requests,
		protocols: []string{subprotocol(cfg.Protocol)},
		progress:  progress,
		subs:      make([]subscriber, cfg.Conns),
		shards:    make([]shard, numShards),
		topicSent: make([]atomic.Int64, cfg.Topics),
		pubHists:  make([]histogram, cfg.Publishers),
		respHists: make([]histogram, cfg.Publishers),
		mem:       &memoryReader{pid: cfg.PID, metrics: t.metrics, client: &http.Client{Timeout: 5 * time.Second}},
	}
	words := (cfg.Messages + 63) / 64
	bits := make([]uint64, words*cfg.Conns)
	for i := range r.subs {
		s := &r.subs[i]
		s.r, s.id, s.topic, s.maxSeq = r, int32(i), int32(i%cfg.Topics), -1
		s.seen = bits[i*words : (i+1)*words : (i+1)*words]
	}
	r.topicNames = make([]string, cfg.Topics)
	for i := range r.topicNames {
		r.topicNames[i] = cfg.topic(i)
	}
	r.phase.Store("starting")
	return r, nil
}

func (r *runner) run(parent context.Context) (*Summary, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, r.cfg.Duration)
	defer cancel()
	sum := &Summary{
		Target: r.cfg.URL, Protocol: r.cfg.Protocol, Via: r.cfg.Via,
		Conns: r.cfg.Conns, Topics: r.cfg.Topics, Messages: r.cfg.Messages, Rate: r.cfg.Rate,
		Publishers: r.cfg.Publishers, Ack: r.cfg.Ack, Size: r.cfg.Size, Sources: len(r.t.sources),
	}
	sum.Memory.IdleSeconds = r.cfg.Idle.Seconds()
	sum.Publish.Intended = r.cfg.Topics * r.cfg.Messages

	stopProgress := r.startProgress(start)
	defer stopProgress()

	// Memory before anything connects.
	before, memErr := r.mem.read(ctx)

	// 1. Connect.
	r.phase.Store("connect")
	connectStart := time.Now()
	abortErr := r.connectAll(ctx)
	connectTime := time.Since(connectStart)
	if r.cfg.Conns >= 1000 {
		// The handshakes left garbage (buffers, parsed responses) several
		// times the size of what the connections keep: give it back, so
		// the bench's own footprint next to the server stays its live
		// state.
		debug.FreeOSMemory()
	}
	sum.Connect.Connected, sum.Connect.Failed = int(r.connected.Load()), int(r.failed.Load())
	sum.Connect.Seconds = connectTime.Seconds()
	if sum.Connect.Seconds > 0 {
		sum.Connect.HandshakesPerSec = float64(sum.Connect.Connected) / sum.Connect.Seconds
	}

	// Publishers, then 2. subscribe (probes), 3. idle and memory, 4.
	// publish, 5. drain.
	if abortErr == nil && ctx.Err() == nil {
		r.phase.Store("publishers")
		if err := r.startPublishers(ctx); err != nil {
			if ctx.Err() == nil {
				abortErr = err
			}
		} else {
			r.phase.Store("subscribe")
			subStart := time.Now()
			r.subscribeAll(ctx)
			r.awaitSubscribed(ctx)
			sum.Connect.SubscribeSeconds = time.Since(subStart).Seconds()
			if r.cfg.Idle > 0 {
				r.phase.Store("idle")
				sleep(ctx, r.cfg.Idle)
			}
			r.measureMemory(ctx, before, memErr, &sum.Memory)
			if ctx.Err() == nil {
				r.phase.Store("publish")
				r.publishAll(ctx)
				r.phase.Store("drain")
				r.drain(ctx)
			}
		}
	}
	if !sum.Memory.Measured && sum.Memory.Note == "" {
		sum.Memory.Note = "the run ended before the connections were all up"
		if memErr != nil {
			sum.Memory.Note = memErr.Error()
		}
	}
	r.phase.Store("closing")
	endTime := time.Now()
	r.shutdown()
	stopProgress()

	r.summarize(sum)
	sum.Seconds = endTime.Sub(start).Seconds()
	switch {
	case abortErr != nil:
		sum.EndedBy = EndedAborted
	case parent.Err() != nil:
		sum.EndedBy = EndedInterrupted
	case ctx.Err() != nil:
		sum.EndedBy = EndedDuration
	case sum.Delivery.Unique < sum.Delivery.Expected:
		sum.EndedBy = EndedDrain
	default:
		sum.EndedBy = EndedComplete
	}
	sum.OK = sum.EndedBy == EndedComplete && sum.Delivery.Lost == 0 && sum.Delivery.Duplicates == 0 && sum.Delivery.Unexpected == 0
	return sum, abortErr
}

// connectAll opens every subscriber connection, ConnectConcurrency at a
// time. It returns an error when more than 1% of them failed.
func (r *runner) connectAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var first, over atomic.Pointer[error] // the first failure; the one over 1%
	var wg sync.WaitGroup
	n := r.cfg.Conns
	for range min(r.cfg.ConnectConcurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				err := r.connect(ctx, i)
				if err == nil {
					r.connected.Add(1)
					continue
				}
				if ctx.Err() != nil {
					return // the run is over, not the connection's fault
				}
				err = fmt.Errorf("subscriber %d: %w", i, err)
				r.errs.add(err.Error())
				first.CompareAndSwap(nil, &err)
				if failed := r.failed.Add(1); failed*100 > int64(n) {
					if over.CompareAndSwap(nil, &err) {
						cancel()
					}
				}
			}
		})
	}
	wg.Wait()
	if over.Load() != nil {
		return fmt.Errorf("aborted: %d of %d connections failed (more than 1%%); the first error: %v", r.failed.Load(), n, *first.Load())
	}
	return nil
}

// startPublishers opens the publishers' connections.
func (r *runner) startPublishers(ctx context.Context) error {
	switch r.cfg.Via {
	case ViaHTTP:
		for i := range r.cfg.Publishers {
			r.pubs = append(r.pubs, r.newHTTPPublisher(i))
		}
	case ViaAMQP:
		ac, err := r.dialAMQP()
		if err != nil {
			return err
		}
		r.amqp = ac
		for i := range r.cfg.Publishers {
			p, err := r.newAMQPPublisher(ac, i)
			if err != nil {
				return err
			}
			r.pubs = append(r.pubs, p)
		}
	default:
		for i := range r.cfg.Publishers {
			p, err := r.newWAMPPublisher(ctx, i)
			if err != nil {
				return err
			}
			r.pubs = append(r.pubs, p)
		}
	}
	return nil
}

// awaitSubscribed publishes probe events (sequence -1) until every
// connected subscriber has seen one, re-probing a topic every
// probeInterval, for at most SubscribeTimeout. In WAMP v2, which
// acknowledges SUBSCRIBE, the probes start once every subscriber's
// SUBSCRIBE was answered (SUBSCRIBED or ERROR), so that the run publishes
// to a server that is done subscribing, as it does in the publish phase.
func (r *runner) awaitSubscribed(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.SubscribeTimeout)
	if IsV2(r.cfg.Protocol) {
		r.awaitAnswered(ctx, deadline)
	}
	lastProbe := make([]time.Time, r.cfg.Topics)
	waiting := make([]bool, r.cfg.Topics)
	pub := r.pubs[0]
	var event []byte
	for {
		clear(waiting)
		ready, missing := 0, 0
		for i := range r.subs {
			f := r.subs[i].flags.Load()
			switch {
			case f&fConnected == 0:
			case f&fReady != 0:
				ready++
			case f&fClosed == 0:
				missing++
				waiting[r.subs[i].topic] = true
			}
		}
		r.ready.Store(int64(ready))
		if missing == 0 || ctx.Err() != nil || time.Now().After(deadline) {
			return
		}
		now := time.Now()
		for t, w := range waiting {
			if w && now.Sub(lastProbe[t]) >= probeInterval {
				lastProbe[t] = now
				event = r.appendEvent(event[:0], -1, now.UnixNano(), 0)
				if err := pub.publish(ctx, t, true, event, now.UnixNano()); err != nil {
					r.errs.add(fmt.Sprintf("publishing a probe: %v", err))
					return
				}
			}
		}
		if err := pub.flush(ctx); err != nil {
			r.errs.add(fmt.Sprintf("publishing a probe: %v", err))
			return
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

// awaitAnswered waits until every connected WAMP v2 subscriber's
// SUBSCRIBE was answered (or its connection ended), at most until
// deadline.
func (r *runner) awaitAnswered(ctx context.Context, deadline time.Time) {
	for i := 0; i < len(r.subs); {
		f := r.subs[i].flags.Load()
		if f&fConnected == 0 || f&(fAnswered|fClosed) != 0 {
			i++
			continue
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return
		}
		sleep(ctx, 2*time.Millisecond)
	}
}

// measureMemory reads the server's memory now and fills m.
func (r *runner) measureMemory(ctx context.Context, before memSample, beforeErr error, m *MemorySummary) {
	if beforeErr != nil {
		m.Note = beforeErr.Error()
		return
	}
	after, err := r.mem.read(ctx)
	if err != nil {
		m.Note = err.Error()
		return
	}
	m.Measured = true
	m.Source = r.mem.source()
	m.RSSBefore, m.RSSAfter = before.rss, after.rss
	m.ServerConnectionsBefore, m.ServerConnectionsAfter = before.conns, after.conns
	if n := r.connected.Load(); n > 0 {
		m.PerConn = float64(after.rss-before.rss) / float64(n)
	}
	if after.rss < before.rss {
		m.Note = "the server's RSS fell while connecting: it was reusing memory from earlier work; measure a freshly started server"
	}
}

// publishAll runs the publishers to the end.
func (r *runner) publishAll(ctx context.Context) {
	start := time.Now()
	r.publishAt.Store(start.UnixNano())
	var wg sync.WaitGroup
	for i, p := range r.pubs {
		wg.Go(func() { r.publishLoop(ctx, i, p, start) })
	}
	wg.Wait()
}

// share is the part of the publications one publisher sends: sequence
// numbers first, first, first+step, … < Messages, of each of its topics.
// With at least as many topics as publishers each publisher has whole
// topics (t % P == i), so every topic is published in order by one
// publisher; with fewer, the publishers of a topic (i % T == t) take turns
// in its sequence, and their events may arrive out of order.
type share struct {
	topics      []int
	first, step int
}

func (r *runner) shareOf(i int) share {
	P, T := len(r.pubs), r.cfg.Topics
	if T >= P {
		var sh share
		for t := i; t < T; t += P {
			sh.topics = append(sh.topics, t)
		}
		sh.step = 1
		return sh
	}
	t := i % T
	return share{topics: []int{t}, first: i / T, step: (P - t + T - 1) / T}
}

// count is the number of publications in the share.
func (sh share) count(messages int) int {
	if sh.first >= messages {
		return 0
	}
	return len(sh.topics) * ((messages - sh.first + sh.step - 1) / sh.step)
}

// publishLoop sends publisher i's share, paced so that all publishers
// together make Config.Rate publications per second and finish together.
func (r *runner) publishLoop(ctx context.Context, i int, pub publisher, start time.Time) {
	sh := r.shareOf(i)
	mine := sh.count(r.cfg.Messages)
	var interval float64 // seconds between this publisher's publications
	if r.cfg.Rate > 0 && mine > 0 {
		interval = float64(r.cfg.Topics*r.cfg.Messages) / float64(mine) / r.cfg.Rate
	}
	var event []byte
	n := 0
	for seq := sh.first; seq < r.cfg.Messages; seq += sh.step {
		for _, t := range sh.topics {
			if ctx.Err() != nil {
				return
			}
			if interval > 0 {
				due := start.Add(time.Duration(float64(n) * interval * float64(time.Second)))
				if wait := time.Until(due); wait > 0 {
					if err := pub.flush(ctx); err != nil {
						r.errs.add(err.Error())
						return
					}
					if !sleep(ctx, wait) {
						return
					}
				}
			}
			n++
			// One clock reading per publication: the event's "t" and the
			// start of its publisher latency.
			now := time.Now().UnixNano()
			event = r.appendEvent(event[:0], int64(seq), now, r.cfg.Size)
			if err := pub.publish(ctx, t, false, event, now); err != nil {
				if ctx.Err() == nil {
					r.errs.add(err.Error())
				}
				return
			}
		}
	}
	if err := pub.flush(ctx); err != nil && ctx.Err() == nil {
		r.errs.add(err.Error())
	}
}

// appendEvent appends the event with sequence number seq sent at sent,
// of about size bytes, as the publishers send it: msgpack for WAMP v2
// msgpack publishers (appendPayloadMsgPack), JSON for every other
// publisher, HTTP and AMQP ones included whatever the subscribers speak
// (herald transcodes it for them).
func (r *runner) appendEvent(dst []byte, seq, sent int64, size int) []byte {
	if r.cfg.Via == ViaWAMP && r.cfg.Protocol == WAMP2MsgPack {
		return appendPayloadMsgPack(dst, seq, sent, size)
	}
	return appendPayload(dst, seq, sent, size)
}

// published records the outcome of one publication, whose publish call
// started at start and whose outcome came at end (Unix nanoseconds), in
// the runner's counters and, unless it is a probe, in its publisher's
// histogram h.
func (r *runner) published(h *histogram, topic int, probe bool, start, end int64, err error) {
	if probe {
		if err != nil {
			r.errs.add(fmt.Sprintf("publishing a probe to %s: %v", r.cfg.topic(topic), err))
		}
		return
	}
	h.record(end - start)
	r.lastPub.Store(end)
	if err != nil {
		r.pubFailed.Add(1)
		r.errs.add(err.Error())
		return
	}
	r.sent.Add(1)
	r.topicSent[topic].Add(1)
}

// answered records publisher id's answer time: from sent, the start of a
// request's write, to recv, the kernel's receive time of its answer.
// Probes and answers without a receive time are not counted.
func (r *runner) answered(id int, probe bool, sent, recv int64) {
	if probe || recv == 0 || sent == 0 {
		return
	}
	r.respHists[id].record(max(recv-sent, 0))
}

// drain waits for the missing deliveries, at most Drain after the last
// publication.
func (r *runner) drain(ctx context.Context) {
	expected := r.connected.Load() * int64(r.cfg.Messages)
	deadline := time.Now().Add(r.cfg.Drain)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		var unique int64
		for i := range r.shards {
			unique += r.shards[i].unique.Load()
		}
		if unique >= expected {
			return
		}
		sleep(ctx, 2*time.Millisecond)
	}
}

// shutdown closes the publishers and every subscriber connection and
// waits for their goroutines.
func (r *runner) shutdown() {
	r.stopping.Store(true)
	for _, p := range r.pubs {
		p.close()
	}
	if r.amqp != nil {
		r.amqp.conn.Close()
	}
	now := time.Now()
	for i := range r.subs {
		s := &r.subs[i]
		if s.flags.Load()&fConnected != 0 {
			s.fr.conn.SetReadDeadline(now)
		}
	}
	r.readers.Wait()
	r.mem.client.CloseIdleConnections()
}

// summarize fills the connect, publish, delivery, latency and error
// fields once every goroutine is done.
func (r *runner) summarize(sum *Summary) {
	sum.Connect.Subscribed = int(r.ready.Load())
	sum.Connect.Dropped = int(r.dropped.Load())
	M := int64(r.cfg.Messages)
	d := &sum.Delivery
	for i := range r.subs {
		s := &r.subs[i]
		f := s.flags.Load()
		if f&fConnected == 0 {
			continue
		}
		if f&fReady == 0 {
			sum.Connect.NotSubscribed++
		}
		d.Expected += M
		d.OutOfOrder += int64(s.outOfOrder)
		d.Unexpected += int64(s.unexpected)
		if lost := M - int64(s.unique); lost > 0 {
			d.SubscribersWithLoss++
			d.WorstSubscriberLoss = max(d.WorstSubscriberLoss, lost)
			d.Lost += lost
			d.LostUnpublished += min(lost, M-r.topicSent[s.topic].Load())
		}
	}
	sum.Connect.Subscribed = sum.Connect.Connected - sum.Connect.NotSubscribed
	var last int64
	for i := range r.shards {
		sh := &r.shards[i]
		d.Delivered += sh.delivered.Load()
		d.Unique += sh.unique.Load()
		d.Duplicates += sh.duplicates.Load()
		last = max(last, sh.lastNanos.Load())
	}
	if first := r.publishAt.Load(); first > 0 {
		if last > first {
			d.Seconds = float64(last-first) / 1e9
			d.PerSec = float64(d.Delivered) / d.Seconds
		}
		p := &sum.Publish
		p.Sent, p.Failed, p.Refused = int(r.sent.Load()), int(r.pubFailed.Load()), int(r.refused.Load())
		if lp := r.lastPub.Load(); lp > first {
			p.Seconds = float64(lp-first) / 1e9
			p.PerSec = float64(p.Sent) / p.Seconds
		}
	}
	sum.Publish.Unsent = sum.Publish.Intended - sum.Publish.Sent - sum.Publish.Failed
	sum.Latency = merge(r.shards).summary()
	var ph histogram
	for i := range r.pubHists {
		ph.add(&r.pubHists[i])
	}
	sum.Publish.Latency = ph.summary()
	var rh histogram
	for i := range r.respHists {
		rh.add(&r.respHists[i])
	}
	sum.Publish.Response = rh.summary()
	sum.Errors, sum.ErrorCount = r.errs.list()
	if sum.Errors == nil {
		sum.Errors = []string{}
	}
}

// startProgress prints a progress line every second until the returned
// function is called (which may be called more than once).
func (r *runner) startProgress(start time.Time) func() {
	if r.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var lastDelivered int64
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				var delivered int64
				for i := range r.shards {
					delivered += r.shards[i].delivered.Load()
				}
				rate := float64(delivered-lastDelivered) / now.Sub(last).Seconds()
				lastDelivered, last = delivered, now
				fmt.Fprintf(r.progress, "[%5.1fs] %-10s connected %d/%d (failed %d)  subscribed %d  published %d/%d  delivered %d/%d  %.0f/s\n",
					now.Sub(start).Seconds(), r.phase.Load(), r.connected.Load(), r.cfg.Conns, r.failed.Load(), r.ready.Load(),
					r.sent.Load(), r.cfg.Topics*r.cfg.Messages, delivered, r.connected.Load()*int64(r.cfg.Messages), rate)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-stopped
	}
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
