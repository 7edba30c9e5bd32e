package bench

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
)

// The WAMP v2 codecs against a real WAMP v2 router: nexus v3.3.0, with
// the JSON and the msgpack serializers. nexus decodes every event and
// encodes it again (keys in map order, numbers through its codec), so
// this also checks that the subscribers read payloads they did not write
// byte for byte.
func TestWAMP2AgainstNexus(t *testing.T) {
	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{URI: "realm1", AnonymousAuth: true}},
	}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(router.NewWebsocketServer(r))
	defer func() {
		hs.Close()
		r.Close()
	}()
	url := "ws://" + hs.Listener.Addr().String() + "/"
	for _, protocol := range []string{WAMP2, WAMP2MsgPack} {
		t.Run(protocol, func(t *testing.T) {
			sum, err := Run(t.Context(), Config{URL: url, Protocol: protocol, Conns: 20, Topics: 2, Messages: 30, Publishers: 2, Size: 80,
				MetricsURL: "off", Duration: 20 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkComplete(t, sum, 20, 2, 30)
			if sum.Protocol != protocol || sum.Memory.Measured {
				t.Errorf("protocol %s, memory %+v", sum.Protocol, sum.Memory)
			}

			// --ack: every PUBLISH asks for {"acknowledge":true} and waits
			// for its PUBLISHED; each publication's latency ends there.
			sum, err = Run(t.Context(), Config{URL: url, Protocol: protocol, Ack: true, Conns: 20, Topics: 2, Messages: 30, Publishers: 2,
				MetricsURL: "off", Duration: 20 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkComplete(t, sum, 20, 2, 30)
			var text strings.Builder
			sum.WriteText(&text)
			if !sum.Ack || !strings.Contains(text.String(), "60 samples; time from publish to acknowledged)") {
				t.Errorf("ack %v, summary:\n%s", sum.Ack, text.String())
			}

			// A realm the router does not have: the router ABORTs every
			// session, so every connection fails and the run is aborted
			// with the reason.
			sum, err = Run(t.Context(), Config{URL: url, Protocol: protocol, Realm: "nowhere", Conns: 3, Topics: 1, Messages: 1, MetricsURL: "off"}, nil)
			if err == nil || !strings.Contains(err.Error(), "the router refused the session: [3,") || sum.EndedBy != EndedAborted {
				t.Errorf("unknown realm: %v, ended by %v", err, sum.EndedBy)
			}
		})
	}
}
