package push

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Events fans each push Event out to registered callbacks, the Go
// counterpart of listening to gos_web_socket.push_success and push_fail.
// The zero value is ready to use; it is safe for concurrent use.
type Events struct {
	mu  sync.RWMutex
	fns []func(Event)
}

// On registers fn for every event. fn runs on the push handler's goroutine
// and must not block.
func (e *Events) On(fn func(Event)) {
	e.mu.Lock()
	e.fns = append(e.fns, fn)
	e.mu.Unlock()
}

// Report hands ev to every callback.
func (e *Events) Report(ev Event) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, fn := range e.fns {
		fn(ev)
	}
}

// EventWebhook posts events to an application as JSON:
// {"event": "push_success"|"push_fail", "provider", "topic", "body",
// "error"}. Posting happens on its own goroutine from a bounded queue, so a
// slow application never slows a push handler; when the queue is full the
// event is dropped and counted.
type EventWebhook struct {
	url     string
	client  *http.Client
	log     *slog.Logger
	queue   chan Event
	done    chan struct{}
	dropped atomic.Int64
	failed  atomic.Int64
}

// NewEventWebhook starts the poster for url. Close stops it.
func NewEventWebhook(url string, log *slog.Logger) *EventWebhook {
	if log == nil {
		log = slog.Default()
	}
	w := &EventWebhook{
		url:    url,
		client: &http.Client{Timeout: 5 * time.Second},
		log:    log,
		queue:  make(chan Event, 1024),
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

// Report queues ev; it never blocks.
func (w *EventWebhook) Report(ev Event) {
	select {
	case w.queue <- ev:
	default:
		w.dropped.Add(1)
	}
}

// Dropped returns how many events were dropped because the queue was full.
func (w *EventWebhook) Dropped() int64 { return w.dropped.Load() }

// Failed returns how many posts failed.
func (w *EventWebhook) Failed() int64 { return w.failed.Load() }

// Close posts what is queued and stops.
func (w *EventWebhook) Close() {
	close(w.queue)
	<-w.done
}

func (w *EventWebhook) run() {
	defer close(w.done)
	for ev := range w.queue {
		body := map[string]any{"event": "push_success", "provider": ev.Provider, "topic": ev.Topic, "body": string(ev.Body)}
		if ev.Err != nil {
			body["event"], body["error"] = "push_fail", ev.Err.Error()
		}
		payload, _ := json.Marshal(body)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			var resp *http.Response
			if resp, err = w.client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = &statusError{resp.StatusCode}
				}
			}
		}
		cancel()
		if err != nil {
			w.failed.Add(1)
			w.log.Warn("push events webhook failed", "url", w.url, "err", err)
		}
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }
