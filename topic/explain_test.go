package topic

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	oro := mustRouter(t, Options{}, loadOro(t)...)
	tests := []struct {
		channel   string
		route     string // the closest route
		reason    string // a substring of its reason
		secondNot string // a route that must not come second
	}{
		{"oro/pong", "oro_sync.ping", `static part "oro/ping" differs from "oro/pong"`, ""},
		{"oro/email_event/abc/7", "oro_email.event", `placeholder user_id: "abc" does not match requirement \d+`, ""},
		{"oro/email_event/5/x", "oro_email.event", `placeholder organization_id: "x" does not match requirement \d+|\*`, ""},
		{"oro/email_event/5/7/8", "oro_email.event", "channel has 5 segments, pattern 4", ""},
		{"oro/email_event/5", "oro_email.event", "channel has 3 segments, pattern 4", ""},
		{"oro/reminder_remind/*", "oro_reminder.remind", `placeholder user_id: "*" does not match requirement \d+`, ""},
		{"oro/reminder_remind/", "oro_reminder.remind", `placeholder user_id: "" does not match requirement \d+`, ""},
		{"oro/imap_sync_fial/1", "oro_imap.sync_fail", `static part "oro/imap_sync_fail" differs`, ""},
		{"oro/data/updates", "oro_sync.data_update", `static part "oro/data/update" differs`, ""},
	}
	for _, tt := range tests {
		misses := oro.Explain(tt.channel, 3)
		if len(misses) != 3 {
			t.Errorf("Explain(%q) gave %d misses, want 3", tt.channel, len(misses))
			continue
		}
		if misses[0].Route.Name != tt.route || !strings.Contains(misses[0].Reason, tt.reason) {
			t.Errorf("Explain(%q)[0] = %s: %s; want %s: …%s…", tt.channel, misses[0].Route.Name, misses[0].Reason, tt.route, tt.reason)
		}
	}
	// Matching routes are left out; max <= 0 means all.
	if got := oro.Explain("oro/ping", 0); len(got) != 8 {
		t.Errorf("Explain(oro/ping, 0) = %d misses, want 8", len(got))
	} else {
		for _, m := range got {
			if m.Route.Name == "oro_sync.ping" || m.Reason == "" {
				t.Errorf("Explain(oro/ping) lists %s: %q", m.Route.Name, m.Reason)
			}
		}
	}
	if got := oro.Explain("oro/ping/x", 1); len(got) != 1 || got[0].Route.Name != "oro_sync.ping" {
		t.Errorf("Explain(oro/ping/x, 1) = %v", got)
	}

	r := mustRouter(t, Options{},
		rt("dot", "a/{x}.{y}", "y", `json|xml`),
		withDefaults(rt("opt", "b/{x}/{y}", "x", `\d+`), "y", "1"),
		rt("adj", "c{x}{y}", "x", `\d`),
		rt("tail", "d/{x}/end"),
		rt("any", "e/{x}", "x", ".+"),
	)
	more := []struct{ channel, route, reason string }{
		{"a/b.yaml", "dot", `placeholder y: "yaml" does not match requirement json|xml`},
		{"a/b,c", "dot", `channel ends where "." and placeholder y are expected`},
		{"a/b.", "dot", `placeholder y: "" does not match requirement json|xml`},
		{"a/b/c.json", "dot", "channel has 3 segments, pattern 2"},
		{"b/x", "opt", `placeholder x: "x" does not match requirement \d+`},
		{"b/1/2/3", "opt", "channel has 4 segments, pattern 2 to 3"},
		{"b", "opt", "channel has 1 segments, pattern 2 to 3"},
		{"cab", "adj", "does not match the route's regular expression"},
		{"d/x/ending", "tail", `channel continues with "ing" after the pattern ends`},
		{"dx/y/end", "tail", `expected "/" before placeholder x, found "x…"`},
		{"d/x/fin", "tail", `static part "/end" differs from "/fin"`},
		{"d/x/end/", "tail", "channel has 4 segments, pattern 3"},
		{"e/", "any", `placeholder x: "" does not match requirement .+`},
	}
	for _, tt := range more {
		var found *Miss
		for _, m := range r.Explain(tt.channel, 0) {
			if m.Route.Name == tt.route {
				found = &m
			}
		}
		if found == nil || !strings.Contains(found.Reason, tt.reason) {
			t.Errorf("Explain(%q) for %s = %+v, want …%s…", tt.channel, tt.route, found, tt.reason)
		}
	}
}

func TestExplainLegacy(t *testing.T) {
	wild := rt("wild", "a/{x}", "x", `\d+|\*`)
	wild.Wildcards = map[string]bool{"x": true}
	r := mustRouter(t, Options{Legacy: true},
		rt("quirk", "q/{x}/{y}", "x", `\d+`),
		wild,
		rt("plain", "ping"),
	)
	tests := []struct{ channel, route, reason string }{
		{"q/1/z", "quirk", `placeholder y has no requirement while the route has some: PubSubRouter 0.x then matches only the literal "y", not "z"`},
		{"q/x/y", "quirk", `placeholder x: "x" does not match requirement \d+ (0.x: anchored at the start, case-insensitive)`},
		{"q/1", "quirk", "channel has 2 segments, pattern 3"},
		{"a/b", "wild", `the wildcard also accepts "*" and "all"`},
		{"pong", "plain", `static part "ping" differs from "pong"`},
		{"ping/x", "plain", `pattern has no "/" separator`},
		{"b/1/y", "quirk", `static part "q" differs from "b"`},
		{"q", "quirk", "channel has 1 segment, pattern 3"},
	}
	for _, tt := range tests {
		var found *Miss
		for _, m := range r.Explain(tt.channel, 0) {
			if m.Route.Name == tt.route {
				found = &m
			}
		}
		if found == nil || !strings.Contains(found.Reason, tt.reason) {
			t.Errorf("Explain(%q) for %s = %+v, want …%s…", tt.channel, tt.route, found, tt.reason)
		}
	}
}

func TestExplainBoundedCost(t *testing.T) {
	r := mustRouter(t, Options{}, loadOro(t)...)
	huge := strings.Repeat("oro/", 100000)
	misses := r.Explain(huge, 2)
	if len(misses) != 2 {
		t.Fatalf("got %d misses", len(misses))
	}
	if len(misses[0].Reason) > 200 {
		t.Errorf("reason is %d bytes long: the channel is not clipped", len(misses[0].Reason))
	}
}
