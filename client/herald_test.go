package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/server"
)

// startHerald serves a real herald server on loopback for the test.
func startHerald(t *testing.T) string {
	t.Helper()
	srv, err := server.New(server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxMessageSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "ws://" + hs.Listener.Addr().String() + "/"
}

func dialHerald(t *testing.T, url string, opts client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The acceptance case, end to end against the real server: a
// client subscribed to acme/channel receives the event another publishes.
func TestAgainstHerald(t *testing.T) {
	url := startHerald(t)
	rec := newRecorder()
	sub := dialHerald(t, url, rec.options())
	pub := dialHerald(t, url, client.Options{})
	if sub.Protocol() != "wamp" || len(sub.SessionID()) != 24 {
		t.Fatalf("protocol %q, session %q", sub.Protocol(), sub.SessionID())
	}
	if err := sub.Subscribe("acme/channel"); err != nil {
		t.Fatal(err)
	}
	// The subscription is processed before the call that follows it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub.Call(ctx, "sync")

	if err := pub.Publish("acme/channel", map[string]any{"msg": "hello"}); err != nil {
		t.Fatal(err)
	}
	if got := rec.nextEvent(t); got != (event{"acme/channel", `{"msg":"hello"}`}) {
		t.Fatalf("got %+v", got)
	}
	// Eligible lists reach only the named sessions.
	other := newRecorder()
	sub2 := dialHerald(t, url, other.options())
	sub2.Subscribe("acme/channel")
	sub2.Call(ctx, "sync")
	pub.Publish("acme/channel", "for sub2", client.Eligible(sub2.SessionID()))
	if got := other.nextEvent(t); got.event != `"for sub2"` {
		t.Fatalf("sub2 got %+v", got)
	}
	rec.noEvent(t)

	// Until routing lands, every CALL gets a CALLERROR naming the procedure.
	_, err := pub.Call(ctx, "acme/sum", 1, 2)
	var callErr *client.CallError
	if !errors.As(err, &callErr) || callErr.URI != "acme/sum" {
		t.Fatalf("Call: %v, want a CallError for acme/sum", err)
	}

	// Bad input closes with 1007, an oversized message with 1009.
	for _, c := range []struct {
		payload string
		code    uint16
	}{
		{`{"not":"a list"}`, ws.CloseInvalidPayload},
		{`[7,"t","` + string(make([]byte, 2000)) + `"]`, ws.CloseMessageTooBig},
	} {
		bad := dialHerald(t, url, client.Options{})
		if err := bad.WriteRaw(ws.OpText, []byte(c.payload)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-bad.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection not closed")
		}
		if code, _ := bad.CloseStatus(); code != c.code {
			t.Fatalf("close code %d, want %d", code, c.code)
		}
	}
}
