package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/server"
)

// Every protocol against a real herald: a burst of 100 subscribers of two
// topics, 30 events each, from two publishers, published over WAMP in the
// subscribers' protocol, then waiting for each acknowledgement, then
// through the HTTP API: every event arrives exactly once, in order.
func TestEveryProtocolAgainstHerald(t *testing.T) {
	h := startHerald(t, server.Config{APIKey: "k"})
	for _, protocol := range []string{WAMP1, WAMP2, WAMP2MsgPack} {
		for _, run := range []struct {
			name string
			via  string
			ack  bool
		}{{"wamp", ViaWAMP, false}, {"wamp --ack", ViaWAMP, true}, {"http", ViaHTTP, false}} {
			t.Run(protocol+"/"+run.name, func(t *testing.T) {
				sum, err := Run(t.Context(), Config{URL: h.url, Protocol: protocol, Via: run.via, Ack: run.ack, APIKey: "k",
					Conns: 100, Topics: 2, Messages: 30, Publishers: 2, Size: 64, Duration: 20 * time.Second}, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkComplete(t, sum, 100, 2, 30)
				if sum.Protocol != protocol || sum.Via != run.via || sum.Ack != run.ack || sum.Delivery.OutOfOrder != 0 {
					t.Errorf("protocol %s, via %s, ack %v, out of order %d", sum.Protocol, sum.Via, sum.Ack, sum.Delivery.OutOfOrder)
				}
				// 100 subscribers, and 2 publishers for WAMP.
				want := int64(100)
				if run.via == ViaWAMP {
					want = 102
				}
				if m := sum.Memory; m.ServerConnectionsAfter != want {
					t.Errorf("herald_connections %d, want %d", m.ServerConnectionsAfter, want)
				}
				if run.ack && sum.Publish.Response.Count != 60 {
					t.Errorf("answer times %+v, want 60", sum.Publish.Response)
				}
			})
		}
	}
}

// WAMP v2 against herald's refusals, in both serializations: SUBSCRIBE to
// a deny route gets an ERROR, an acknowledged PUBLISH to it an ERROR that
// fails the publication, and an unknown realm an ABORT; the error lines
// show a msgpack message as its JSON form.
func TestV2RefusalsFromHerald(t *testing.T) {
	h := startHeraldWithDenyRoute(t)
	for _, protocol := range []string{WAMP2, WAMP2MsgPack} {
		t.Run(protocol, func(t *testing.T) {
			sum, err := Run(t.Context(), Config{URL: h.url, Protocol: protocol, Conns: 20, Topics: 2, Messages: 30, Ack: true,
				SubscribeTimeout: 500 * time.Millisecond, Drain: 200 * time.Millisecond, MetricsURL: "off", Duration: 20 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := sum.Publish
			if sum.OK || p.Sent != 30 || p.Failed != 30 || p.Unsent != 0 || p.Refused < 30 || p.Latency.Count != 60 {
				t.Errorf("ok %v, publish %+v", sum.OK, p)
			}
			if d := sum.Delivery; d.Unique != 300 || d.Lost != 300 || d.LostUnpublished != 300 || d.Unexpected != 0 {
				t.Errorf("delivery %+v", d)
			}
			if c := sum.Connect; c.Subscribed != 10 || c.NotSubscribed != 10 {
				t.Errorf("connect %+v", c)
			}
			errs := strings.Join(sum.Errors, "\n")
			for _, want := range []string{"(bench/1): the server answered [8,32,1,", "publisher 0: the server answered [8,16,"} {
				if !strings.Contains(errs, want) {
					t.Errorf("errors lack %q: %q", want, sum.Errors)
				}
			}

			sum, err = Run(t.Context(), Config{URL: h.url, Protocol: protocol, Realm: "nowhere", Conns: 3, Topics: 1, Messages: 1, MetricsURL: "off"}, nil)
			if err == nil || !strings.Contains(err.Error(), `the router refused the session: [3,{`) || !strings.Contains(err.Error(), `"wamp.error.no_such_realm"]`) || sum.EndedBy != EndedAborted {
				t.Errorf("unknown realm: %v", err)
			}
		})
	}
}
