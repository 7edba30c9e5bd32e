package topic

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadOro(t testing.TB) []*Route {
	t.Helper()
	routes, err := Load([]Resource{{Resource: "testdata/oro", Type: "oro"}}, ".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return routes
}

func TestOroTree(t *testing.T) {
	routes := loadOro(t)
	// Bundles sorted by path: Email, EntityConfig, Imap, MessageQueue,
	// Reminder, Sync, User.
	wantOrder := []string{
		"oro_email.event",
		"oro_entity_config.attribute_import",
		"oro_imap.sync_fail",
		"oro_message_queue.message_queue_heartbeat",
		"oro_reminder.remind",
		"oro_sync.ping",
		"oro_sync.data_update",
		"oro_sync.maintenance",
		"oro_user.outdated_user_page",
	}
	if got := names(routes); !slices.Equal(got, wantOrder) {
		t.Fatalf("routes = %q, want %q", got, wantOrder)
	}
	for _, r := range routes {
		if r.Callback != r.Name || !slices.Equal(r.Callbacks, []string{r.Name}) {
			t.Errorf("%s: callback %q %q, want the route name", r.Name, r.Callback, r.Callbacks)
		}
		wantLine := map[string]int{"oro_sync.data_update": 6, "oro_sync.maintenance": 11}[r.Name]
		if wantLine == 0 {
			wantLine = 1
		}
		if r.Source.Line != wantLine || !strings.HasSuffix(filepath.ToSlash(r.Source.File), "Resources/config/oro/websocket_routing.yml") {
			t.Errorf("%s: source %v", r.Name, r.Source)
		}
	}
	email := routes[0]
	if email.Requirements["user_id"] != `\d+` || email.Requirements["organization_id"] != `\d+|\*` {
		t.Errorf("oro_email.event requirements = %q", email.Requirements)
	}
	if !email.Wildcards["organization_id"] || email.Wildcards["user_id"] {
		t.Errorf("oro_email.event wildcards = %v", email.Wildcards)
	}
	if routes[2].Requirements["user_id"] != `\d+|\*` || !routes[2].Wildcards["user_id"] {
		t.Errorf("oro_imap.sync_fail requirement %q wildcards %v", routes[2].Requirements["user_id"], routes[2].Wildcards)
	}
	if routes[4].Requirements["user_id"] != `\d+` || routes[4].Wildcards != nil {
		t.Errorf("oro_reminder.remind requirement %q wildcards %v", routes[4].Requirements["user_id"], routes[4].Wildcards)
	}

	r := mustRouter(t, Options{}, routes...)
	tests := []struct {
		channel string
		route   string // "" for no match
		params  map[string]string
	}{
		{"oro/ping", "oro_sync.ping", nil},
		{"oro/data/update", "oro_sync.data_update", nil},
		{"oro/maintenance", "oro_sync.maintenance", nil},
		{"oro/email_event/5/7", "oro_email.event", map[string]string{"user_id": "5", "organization_id": "7"}},
		{"oro/email_event/5/*", "oro_email.event", map[string]string{"user_id": "5", "organization_id": "*"}},
		{"oro/attribute_import/3/12", "oro_entity_config.attribute_import", map[string]string{"user_id": "3", "config_model_id": "12"}},
		{"oro/imap_sync_fail/42", "oro_imap.sync_fail", map[string]string{"user_id": "42"}},
		{"oro/imap_sync_fail/*", "oro_imap.sync_fail", map[string]string{"user_id": "*"}},
		{"oro/message_queue_heartbeat", "oro_message_queue.message_queue_heartbeat", nil},
		{"oro/reminder_remind/9", "oro_reminder.remind", map[string]string{"user_id": "9"}},
		{"oro/outdated_user_page", "oro_user.outdated_user_page", nil},

		{"oro/reminder_remind/*", "", nil},      // no wildcard on this one
		{"oro/email_event/*/7", "", nil},        // user_id has no wildcard
		{"oro/email_event/5/all", "", nil},      // "all" is 0.x only
		{"oro/attribute_import/3/*", "", nil},   // no wildcard
		{"oro/imap_sync_fail/abc", "", nil},     // \d+
		{"oro/imap_sync_fail/5*", "", nil},      // anchored as a whole
		{"oro/email_event/5", "", nil},          // too few segments
		{"oro/email_event/5/7/", "", nil},       // trailing slash
		{"oro/ping/", "", nil},                  // exact
		{"Oro/ping", "", nil},                   // case-sensitive
		{"oro/data", "", nil},                   // prefix of a static route
		{"oro/reminder_remind/", "", nil},       // empty parameter
		{"oro/reminder_remind/1/2", "", nil},    // [^/]: no slash in a value
		{"xoro/reminder_remind/1", "", nil},     // anchored at the start
		{"oro/reminder_remind/１", "", nil},      // \d is ASCII
		{"oro/email_event/5/7\n", "", nil},      // $ is the very end
		{"oro/outdated_user_page\x00", "", nil}, // exact
		{"", "", nil},                           // nothing
	}
	for _, tt := range tests {
		m, ok := r.Match(tt.channel)
		if tt.route == "" {
			if ok {
				t.Errorf("Match(%q) = %s %v, want no match", tt.channel, m.Route.Name, m.Params)
			}
			continue
		}
		if !ok {
			t.Errorf("Match(%q): no match, want %s", tt.channel, tt.route)
			continue
		}
		if m.Route.Name != tt.route || m.Channel != tt.channel || !sameParams(m.Params, tt.params) {
			t.Errorf("Match(%q) = %s %v, want %s %v", tt.channel, m.Route.Name, m.Params, tt.route, tt.params)
		}
		// Generation round-trips.
		got, err := r.Generate(m.Route.Name, m.Params)
		if err != nil || got != tt.channel {
			t.Errorf("Generate(%s, %v) = %q, %v; want %q", m.Route.Name, m.Params, got, err, tt.channel)
		}
	}
}

func TestOroGenerateAllNine(t *testing.T) {
	r := mustRouter(t, Options{}, loadOro(t)...)
	params := map[string]map[string]string{
		"oro_email.event":                    {"user_id": "1", "organization_id": "2"},
		"oro_entity_config.attribute_import": {"user_id": "1", "config_model_id": "3"},
		"oro_imap.sync_fail":                 {"user_id": "*"},
		"oro_reminder.remind":                {"user_id": "77"},
	}
	seen := 0
	for _, route := range r.Routes() {
		ch, err := r.Generate(route.Name, params[route.Name])
		if err != nil {
			t.Errorf("Generate(%s): %v", route.Name, err)
			continue
		}
		m, ok := r.Match(ch)
		if !ok || m.Route != route || !sameParams(m.Params, params[route.Name]) {
			t.Errorf("Generate(%s) = %q, which does not match back with %v", route.Name, ch, params[route.Name])
		}
		seen++
	}
	if seen != 9 {
		t.Errorf("round-tripped %d routes, want 9", seen)
	}
	if _, err := r.Generate("oro_reminder.remind", map[string]string{"user_id": "*"}); err == nil {
		t.Error("Generate(oro_reminder.remind, *) succeeded; the route has no wildcard")
	}
}

func TestOroLegacy(t *testing.T) {
	r := mustRouter(t, Options{Legacy: true}, loadOro(t)...)
	tests := []struct {
		channel, route string
		params         map[string]string
	}{
		{"oro/email_event/5/7", "oro_email.event", map[string]string{"user_id": "5", "organization_id": "7"}},
		{"oro/email_event/5/*", "oro_email.event", map[string]string{"user_id": "5", "organization_id": "*"}},
		{"oro/email_event/5/all", "oro_email.event", map[string]string{"user_id": "5", "organization_id": "all"}},
		{"oro/imap_sync_fail/all", "oro_imap.sync_fail", map[string]string{"user_id": "all"}},
		{"oro/reminder_remind/12abc", "oro_reminder.remind", map[string]string{"user_id": "12abc"}}, // #^\d+#i
		{"oro/ping", "oro_sync.ping", nil},
		{"oro/reminder_remind/*", "", nil},
		{"oro/ping/x", "", nil},
	}
	for _, tt := range tests {
		m, ok := r.Match(tt.channel)
		switch {
		case tt.route == "" && ok:
			t.Errorf("legacy Match(%q) = %s, want none", tt.channel, m.Route.Name)
		case tt.route != "" && !ok:
			t.Errorf("legacy Match(%q): no match, want %s", tt.channel, tt.route)
		case ok && (m.Route.Name != tt.route || !sameParams(m.Params, tt.params)):
			t.Errorf("legacy Match(%q) = %s %v, want %s %v", tt.channel, m.Route.Name, m.Params, tt.route, tt.params)
		}
	}
}

// The nine Oro channels plus a miss, as a server sees them.
var oroChannels = []string{
	"oro/ping", "oro/data/update", "oro/maintenance", "oro/email_event/5/7",
	"oro/attribute_import/3/12", "oro/imap_sync_fail/*", "oro/message_queue_heartbeat",
	"oro/reminder_remind/9", "oro/outdated_user_page", "acme/unknown/topic",
}

func BenchmarkMatch(b *testing.B) {
	r := mustRouter(b, Options{}, loadOro(b)...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Match(oroChannels[i%len(oroChannels)])
		i++
	}
}

func BenchmarkMatchLegacy(b *testing.B) {
	r := mustRouter(b, Options{Legacy: true}, loadOro(b)...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Match(oroChannels[i%len(oroChannels)])
		i++
	}
}

func BenchmarkGenerate(b *testing.B) {
	r := mustRouter(b, Options{}, loadOro(b)...)
	p := map[string]string{"user_id": "5", "organization_id": "7"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Generate("oro_email.event", p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMatchAllocations(t *testing.T) {
	r := mustRouter(t, Options{}, loadOro(t)...)
	for _, ch := range []string{"oro/email_event/5/7", "oro/ping", "oro/imap_sync_fail/*"} {
		n := testing.AllocsPerRun(200, func() { r.Match(ch) })
		// The *Match and its Params map (a header and one group of slots).
		if n > 3 {
			t.Errorf("Match(%q) allocates %v times, want at most 3", ch, n)
		}
	}
	if n := testing.AllocsPerRun(200, func() { r.Match("acme/unknown/topic") }); n != 0 {
		t.Errorf("a miss allocates %v times, want 0", n)
	}
}
