package dealer_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/wamp"
)

const (
	exact    = wamp.MatchPolicyExact
	prefix   = wamp.MatchPolicyPrefix
	wildcard = wamp.MatchPolicyWildcard

	single     = wamp.InvokeSingle
	roundrobin = wamp.InvokeRoundRobin
	random     = wamp.InvokeRandom
	first      = wamp.InvokeFirst
	last       = wamp.InvokeLast
)

// reg is one Register call.
type reg struct {
	callee    dealer.SessionID
	procedure string
	match     wamp.MatchPolicy
	invoke    wamp.InvokePolicy
}

func mustRegister(t testing.TB, r *dealer.Registry, regs ...reg) []dealer.Registration {
	t.Helper()
	var out []dealer.Registration
	for _, g := range regs {
		got, err := r.Register(g.callee, g.procedure, g.match, g.invoke, false)
		if err != nil {
			t.Fatalf("Register(%+v): %v", g, err)
		}
		out = append(out, got)
	}
	return out
}

func TestRegisterRules(t *testing.T) {
	tests := []struct {
		name    string
		before  []reg
		reg     reg
		wantErr error // nil: joins or creates
		callees []int // callees of the registration after success
		sameAs  int   // index in before of the registration joined, or -1
	}{
		{"new", nil, reg{1, "com.a", exact, single}, nil, []int{1}, -1},
		{"single refuses a second callee",
			[]reg{{1, "com.a", exact, single}}, reg{2, "com.a", exact, single}, dealer.ErrProcedureAlreadyExists, nil, 0},
		{"same callee twice, single",
			[]reg{{1, "com.a", exact, single}}, reg{1, "com.a", exact, single}, dealer.ErrProcedureAlreadyExists, nil, 0},
		{"same callee twice, shared",
			[]reg{{1, "com.a", exact, roundrobin}}, reg{1, "com.a", exact, roundrobin}, dealer.ErrProcedureAlreadyExists, nil, 0},
		{"other invoke policy",
			[]reg{{1, "com.a", exact, roundrobin}}, reg{2, "com.a", exact, random}, dealer.ErrProcedureAlreadyExists, nil, 0},
		{"single asked of a shared one",
			[]reg{{1, "com.a", exact, first}}, reg{2, "com.a", exact, single}, dealer.ErrProcedureAlreadyExists, nil, 0},
		{"shared joins",
			[]reg{{1, "com.a", exact, last}, {2, "com.a", exact, last}}, reg{3, "com.a", exact, last}, nil, []int{1, 2, 3}, 0},
		{"same pattern, other match policy, is another registration",
			[]reg{{1, "com.a", exact, single}}, reg{2, "com.a", prefix, single}, nil, []int{2}, -1},
		{"same callee, other match policy",
			[]reg{{1, "com.a", prefix, single}}, reg{1, "com.a", wildcard, single}, nil, []int{1}, -1},
		{"unknown match policy", nil, reg{1, "com.a", wamp.MatchPolicy(3), single}, dealer.ErrInvalidArgument, nil, -1},
		{"unknown invoke policy", nil, reg{1, "com.a", exact, wamp.InvokePolicy(5)}, dealer.ErrInvalidArgument, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dealer.NewRegistry()
			before := mustRegister(t, r, tt.before...)
			got, err := r.Register(tt.reg.callee, tt.reg.procedure, tt.reg.match, tt.reg.invoke, false)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var want string
				if e, ok := errors.AsType[*dealer.Error](tt.wantErr); ok {
					want = e.URI
				}
				if uri := dealer.ErrorURI(err); uri != want {
					t.Errorf("ErrorURI = %q, want %q", uri, want)
				}
				if len(before) > 0 {
					// The refusal changed nothing.
					if n, _ := r.CountCallees(before[0].ID); n != len(before) {
						t.Errorf("CountCallees = %d after refusal, want %d", n, len(before))
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := make([]dealer.SessionID, len(tt.callees))
			for i, c := range tt.callees {
				want[i] = dealer.SessionID(c)
			}
			if !slices.Equal(got.Callees, want) {
				t.Errorf("Callees = %v, want %v", got.Callees, want)
			}
			if tt.sameAs >= 0 && got.ID != before[tt.sameAs].ID {
				t.Errorf("joined %d, want %d", got.ID, before[tt.sameAs].ID)
			}
			for _, b := range before {
				if tt.sameAs < 0 && got.ID == b.ID {
					t.Errorf("id %d reused", got.ID)
				}
			}
			if got.ID == 0 || got.ID > wamp.MaxID {
				t.Errorf("id %d out of [1, 2^53]", got.ID)
			}
			if got.Procedure != tt.reg.procedure || got.Match != tt.reg.match || got.Created.IsZero() {
				t.Errorf("registration %+v", got)
			}
		})
	}
}

func TestErrorURI(t *testing.T) {
	if uri := dealer.ErrorURI(fmt.Errorf("x: %w", dealer.ErrNoSuchRegistration)); uri != wamp.URINoSuchRegistration {
		t.Errorf("ErrorURI = %q", uri)
	}
	if uri := dealer.ErrorURI(errors.New("other")); uri != "" {
		t.Errorf("ErrorURI of a foreign error = %q", uri)
	}
}

func TestRegistrationIDsUnique(t *testing.T) {
	r := dealer.NewRegistry()
	seen := map[uint64]bool{}
	for i := range 200 {
		g, err := r.Register(dealer.SessionID(i%7+1), fmt.Sprint("p.", i), wamp.MatchPolicy(i%3), single, false)
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == 0 || seen[g.ID] {
			t.Fatalf("id %d zero or reused", g.ID)
		}
		seen[g.ID] = true
		if i%2 == 0 { // free some ids: they are not handed out again
			if _, _, err := r.Unregister(g.Callees[0], g.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRoutePrecedence(t *testing.T) {
	tests := []struct {
		name      string
		regs      []reg
		procedure string
		want      string // "pattern/match", or "" for no match
	}{
		{"none", nil, "com.a", ""},
		{"exact", []reg{{1, "com.a", exact, single}}, "com.a", "com.a/exact"},
		{"exact does not match others", []reg{{1, "com.a", exact, single}}, "com.a.b", ""},
		{"exact beats prefix and wildcard",
			[]reg{{1, "com.a", prefix, single}, {2, "com.", wildcard, single}, {3, "com.a", exact, single}},
			"com.a", "com.a/exact"},
		{"longest prefix",
			[]reg{{1, "com.", prefix, single}, {2, "com.a.", prefix, single}, {3, "com.a.b.c", prefix, single}, {4, "c", prefix, single}},
			"com.a.b", "com.a./prefix"},
		{"prefix is a string prefix, not by components",
			[]reg{{1, "com.myapp.topic.emerg", prefix, single}}, "com.myapp.topic.emergency.11", "com.myapp.topic.emerg/prefix"},
		{"prefix equal to the procedure", []reg{{1, "com.a", prefix, single}}, "com.a", "com.a/prefix"},
		{"empty prefix matches everything", []reg{{1, "", prefix, single}}, "x.y", "/prefix"},
		{"prefix beats wildcard",
			[]reg{{1, "com.a.b", wildcard, single}, {2, "com", prefix, single}}, "com.a.b", "com/prefix"},
		{"wildcard", []reg{{1, "com..b", wildcard, single}}, "com.x.b", "com..b/wildcard"},
		{"wildcard needs as many components", []reg{{1, "com..b", wildcard, single}}, "com.x.y.b", ""},
		{"wildcard: most non-empty components, then lexical order",
			[]reg{{1, "a..", wildcard, single}, {2, "a.b.", wildcard, single}, {3, ".b.c", wildcard, single}, {4, "..c", wildcard, single}},
			"a.b.c", ".b.c/wildcard"},
		{"wildcard: lexical order among equals",
			[]reg{{1, "a.b.", wildcard, single}, {2, "a..c", wildcard, single}}, "a.b.c", "a..c/wildcard"},
		{"wildcard: the more specific wins whatever the order",
			[]reg{{1, "..", wildcard, single}, {2, "a.b.", wildcard, single}}, "a.b.c", "a.b./wildcard"},
		{"wildcard: only the matching ones count",
			[]reg{{1, "a.x.c", wildcard, single}, {2, "a..", wildcard, single}}, "a.b.c", "a../wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dealer.NewRegistry()
			mustRegister(t, r, tt.regs...)
			g, callee, ok := r.Route(tt.procedure)
			id, mok := r.Match(tt.procedure)
			if tt.want == "" {
				if ok || mok {
					t.Fatalf("Route(%q) = %s/%s, want no match", tt.procedure, g.Procedure, g.Match)
				}
				return
			}
			if !ok || !mok {
				t.Fatalf("Route(%q): no match, want %s", tt.procedure, tt.want)
			}
			if got := g.Procedure + "/" + g.Match.String(); got != tt.want {
				t.Errorf("Route(%q) = %s, want %s", tt.procedure, got, tt.want)
			}
			if id != g.ID {
				t.Errorf("Match = %d, Route = %d", id, g.ID)
			}
			if !slices.Contains(g.Callees, callee) {
				t.Errorf("callee %d not on %v", callee, g.Callees)
			}
		})
	}
}

// TestRouteAfterUnregister checks that the indexes follow deletions: once
// a registration is gone the next best one is used.
func TestRouteAfterUnregister(t *testing.T) {
	r := dealer.NewRegistry()
	regs := mustRegister(t, r,
		reg{1, "a.b.c", exact, single}, reg{2, "a.b", prefix, single}, reg{3, "a.", prefix, single},
		reg{4, "a.b.", wildcard, single}, reg{5, "a..", wildcard, single})
	for _, want := range regs {
		g, callee, ok := r.Route("a.b.c")
		if !ok || g.ID != want.ID || callee != want.Callees[0] {
			t.Fatalf("Route = %v %d %v, want %d", g.ID, callee, ok, want.ID)
		}
		if _, deleted, err := r.Unregister(want.Callees[0], want.ID); err != nil || !deleted {
			t.Fatalf("Unregister: %v %v", deleted, err)
		}
	}
	if _, _, ok := r.Route("a.b.c"); ok {
		t.Fatal("Route after all are gone")
	}
	if e, p, w := r.List(); len(e)+len(p)+len(w) != 0 {
		t.Fatalf("List = %v %v %v", e, p, w)
	}
}

// picks routes n calls of proc and returns the callees.
func picks(t *testing.T, r *dealer.Registry, proc string, n int) []dealer.SessionID {
	t.Helper()
	var out []dealer.SessionID
	for range n {
		_, c, ok := r.Route(proc)
		if !ok {
			t.Fatalf("Route(%q): no match", proc)
		}
		out = append(out, c)
	}
	return out
}

func ids(s ...int) []dealer.SessionID {
	out := make([]dealer.SessionID, len(s))
	for i, v := range s {
		out[i] = dealer.SessionID(v)
	}
	return out
}

func TestInvokePolicies(t *testing.T) {
	tests := []struct {
		name   string
		invoke wamp.InvokePolicy
		join   []int
		leave  []int // callees that leave after the picks before
		before []int // picks before anyone leaves
		after  []int // picks after
	}{
		{"single", single, []int{7}, nil, []int{7, 7}, []int{7}},
		{"first", first, []int{3, 1, 2}, []int{3}, []int{3, 3, 3}, []int{1, 1}},
		{"first, another leaves", first, []int{3, 1, 2}, []int{1}, []int{3}, []int{3}},
		{"last", last, []int{3, 1, 2}, []int{2}, []int{2, 2}, []int{1, 1}},
		{"last, another leaves", last, []int{3, 1, 2}, []int{3}, []int{2}, []int{2}},
		{"roundrobin", roundrobin, []int{1, 2, 3}, nil, []int{1, 2, 3, 1, 2, 3, 1}, []int{2, 3}},
		// Two picks made: 3 is next. 2, before it, leaves: 3 still next.
		{"roundrobin, an earlier one leaves", roundrobin, []int{1, 2, 3}, []int{2}, []int{1, 2}, []int{3, 1, 3, 1}},
		// One pick made: 2 is next and leaves: 3 comes next.
		{"roundrobin, the next one leaves", roundrobin, []int{1, 2, 3}, []int{2}, []int{1}, []int{3, 1, 3}},
		// Two picks made: 3 is next, the last, and leaves: back to 1.
		{"roundrobin, the next and last one leaves", roundrobin, []int{1, 2, 3}, []int{3}, []int{1, 2}, []int{1, 2, 1}},
		// Two picks made: 3 is next; 4, after it, leaves.
		{"roundrobin, a later one leaves", roundrobin, []int{1, 2, 3, 4}, []int{4}, []int{1, 2}, []int{3, 1, 2, 3}},
		{"roundrobin, all but one leave", roundrobin, []int{1, 2, 3}, []int{1, 3}, []int{1}, []int{2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dealer.NewRegistry()
			var id uint64
			for _, c := range tt.join {
				id = mustRegister(t, r, reg{dealer.SessionID(c), "p", exact, tt.invoke})[0].ID
			}
			if got := picks(t, r, "p", len(tt.before)); !slices.Equal(got, ids(tt.before...)) {
				t.Errorf("picks = %v, want %v", got, tt.before)
			}
			for _, c := range tt.leave {
				if _, _, err := r.Unregister(dealer.SessionID(c), id); err != nil {
					t.Fatal(err)
				}
			}
			if got := picks(t, r, "p", len(tt.after)); !slices.Equal(got, ids(tt.after...)) {
				t.Errorf("picks after %v left = %v, want %v", tt.leave, got, tt.after)
			}
		})
	}
}

func TestInvokeRoundRobinJoin(t *testing.T) {
	r := dealer.NewRegistry()
	mustRegister(t, r, reg{1, "p", exact, roundrobin}, reg{2, "p", exact, roundrobin})
	if got := picks(t, r, "p", 3); !slices.Equal(got, ids(1, 2, 1)) {
		t.Fatalf("picks = %v", got)
	}
	// 2 is next; 3 joins at the end of the rotation.
	mustRegister(t, r, reg{3, "p", exact, roundrobin})
	if got := picks(t, r, "p", 4); !slices.Equal(got, ids(2, 3, 1, 2)) {
		t.Fatalf("picks after 3 joined = %v, want [2 3 1 2]", got)
	}
}

func TestInvokeRandom(t *testing.T) {
	r := dealer.NewRegistry()
	mustRegister(t, r, reg{1, "p", exact, random}, reg{2, "p", exact, random}, reg{3, "p", exact, random})
	seen := map[dealer.SessionID]int{}
	for _, c := range picks(t, r, "p", 300) {
		seen[c]++
	}
	// Each has probability 1/3; the chance one is never picked in 300 is
	// about 3·(2/3)^300, nil in practice.
	for _, c := range ids(1, 2, 3) {
		if seen[c] == 0 {
			t.Errorf("callee %d never picked: %v", c, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("picked %v", seen)
	}
}

func TestUnregister(t *testing.T) {
	r := dealer.NewRegistry()
	g := mustRegister(t, r, reg{1, "p", exact, first}, reg{2, "p", exact, first})[0]
	other := mustRegister(t, r, reg{3, "q", exact, single})[0]

	for _, tt := range []struct {
		callee dealer.SessionID
		id     uint64
	}{{3, g.ID}, {1, other.ID}, {1, 999}, {0, 0}} {
		if _, _, err := r.Unregister(tt.callee, tt.id); !errors.Is(err, dealer.ErrNoSuchRegistration) ||
			dealer.ErrorURI(err) != wamp.URINoSuchRegistration {
			t.Errorf("Unregister(%d, %d) = %v, want no such registration", tt.callee, tt.id, err)
		}
	}
	removed, deleted, err := r.Unregister(1, g.ID)
	if err != nil || deleted || removed.ID != g.ID || !slices.Equal(removed.Callees, ids(2)) {
		t.Fatalf("Unregister(1) = %+v %v %v", removed, deleted, err)
	}
	if _, _, err := r.Unregister(1, g.ID); !errors.Is(err, dealer.ErrNoSuchRegistration) {
		t.Fatalf("second Unregister(1) = %v", err)
	}
	removed, deleted, err = r.Unregister(2, g.ID)
	if err != nil || !deleted || len(removed.Callees) != 0 {
		t.Fatalf("Unregister(2) = %+v %v %v", removed, deleted, err)
	}
	if _, ok := r.Get(g.ID); ok {
		t.Fatal("Get after delete")
	}
	if _, ok := r.Lookup("p", exact); ok {
		t.Fatal("Lookup after delete")
	}
	// The procedure is free again, for any policy.
	again := mustRegister(t, r, reg{4, "p", exact, single})[0]
	if again.ID == g.ID {
		t.Fatalf("new registration reuses id %d", g.ID)
	}
}

func TestRemoveSession(t *testing.T) {
	r := dealer.NewRegistry()
	regs := mustRegister(t, r,
		reg{1, "a", exact, single},      // 0: only 1: deleted
		reg{1, "b", prefix, roundrobin}, // 1: shared with 2: stays
		reg{2, "b", prefix, roundrobin}, //
		reg{1, "c..", wildcard, single}, // 3: deleted
		reg{2, "d", exact, single},      // 4: not 1's
	)
	left, deleted := r.RemoveSession(1)
	leftIDs := func(rs []dealer.Registration) []uint64 {
		var out []uint64
		for _, g := range rs {
			out = append(out, g.ID)
		}
		return out
	}
	if got, want := leftIDs(left), []uint64{regs[0].ID, regs[1].ID, regs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("left = %v, want %v", got, want)
	}
	if got, want := leftIDs(deleted), []uint64{regs[0].ID, regs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("deleted = %v, want %v", got, want)
	}
	for _, g := range left {
		if slices.Contains(g.Callees, 1) {
			t.Errorf("%d still has callee 1: %v", g.ID, g.Callees)
		}
	}
	for _, g := range deleted {
		if _, ok := r.Get(g.ID); ok {
			t.Errorf("deleted %d still there", g.ID)
		}
	}
	if _, c, ok := r.Route("b.x"); !ok || c != 2 {
		t.Errorf("Route(b.x) = %d %v, want callee 2", c, ok)
	}
	if _, _, ok := r.Route("c.x.y"); ok {
		t.Error("Route(c.x.y) still matches")
	}
	if left, deleted := r.RemoveSession(1); len(left)+len(deleted) != 0 {
		t.Errorf("second RemoveSession = %v %v", left, deleted)
	}
	if _, deleted := r.RemoveSession(2); len(deleted) != 2 {
		t.Errorf("RemoveSession(2) deleted %d, want 2", len(deleted))
	}
	if e, p, w := r.List(); len(e)+len(p)+len(w) != 0 {
		t.Errorf("List = %v %v %v", e, p, w)
	}
}

func TestMeta(t *testing.T) {
	r := dealer.NewRegistry()
	e1, _ := r.Register(5, "com.e", exact, last, true)
	e2, _ := r.Register(6, "com.e", exact, last, false)
	p1, _ := r.Register(5, "com.", prefix, single, false)
	w1, _ := r.Register(5, ".y.x", wildcard, single, true)
	if e1.ID != e2.ID {
		t.Fatal("second callee did not join")
	}
	if len(e1.Callees) != 1 {
		t.Errorf("the first snapshot changed: %v", e1.Callees)
	}
	exactIDs, prefixIDs, wildcardIDs := r.List()
	if !slices.Equal(exactIDs, []uint64{e1.ID}) || !slices.Equal(prefixIDs, []uint64{p1.ID}) || !slices.Equal(wildcardIDs, []uint64{w1.ID}) {
		t.Errorf("List = %v %v %v", exactIDs, prefixIDs, wildcardIDs)
	}
	for _, tt := range []struct {
		proc  string
		match wamp.MatchPolicy
		want  uint64
	}{{"com.e", exact, e1.ID}, {"com.", prefix, p1.ID}, {".y.x", wildcard, w1.ID}, {"com.e", prefix, 0}, {"com.", exact, 0}, {"com.e", wamp.MatchPolicy(9), 0}} {
		if id, ok := r.Lookup(tt.proc, tt.match); id != tt.want || ok != (tt.want != 0) {
			t.Errorf("Lookup(%q, %s) = %d %v, want %d", tt.proc, tt.match, id, ok, tt.want)
		}
	}
	for _, tt := range []struct {
		proc string
		want uint64
	}{{"com.e", e1.ID}, {"com.f", p1.ID}, {"com.y.x", p1.ID}, {"org.y.x", w1.ID}, {"org", 0}} {
		if id, ok := r.Match(tt.proc); id != tt.want || ok != (tt.want != 0) {
			t.Errorf("Match(%q) = %d %v, want %d", tt.proc, id, ok, tt.want)
		}
	}
	g, ok := r.Get(e1.ID)
	if !ok || g.Procedure != "com.e" || g.Invoke != last || !slices.Equal(g.Callees, ids(5, 6)) || g.Created != e1.Created {
		t.Errorf("Get = %+v %v", g, ok)
	}
	if !g.DiscloseCaller(5) || g.DiscloseCaller(6) || g.DiscloseCaller(7) {
		t.Errorf("DiscloseCaller(5, 6, 7) = %v %v %v, want true false false", g.DiscloseCaller(5), g.DiscloseCaller(6), g.DiscloseCaller(7))
	}
	callees, ok := r.Callees(e1.ID)
	if !ok || !slices.Equal(callees, ids(5, 6)) {
		t.Errorf("Callees = %v %v", callees, ok)
	}
	callees[0] = 99 // a copy: the registry keeps its own
	if c, _ := r.Callees(e1.ID); c[0] != 5 {
		t.Error("Callees returned the registry's slice")
	}
	if n, ok := r.CountCallees(e1.ID); n != 2 || !ok {
		t.Errorf("CountCallees = %d %v", n, ok)
	}
	if _, ok := r.Get(12345); ok {
		t.Error("Get of an unknown id")
	}
	if c, ok := r.Callees(12345); ok || c != nil {
		t.Errorf("Callees of an unknown id = %v %v", c, ok)
	}
	if n, ok := r.CountCallees(12345); ok || n != 0 {
		t.Errorf("CountCallees of an unknown id = %d %v", n, ok)
	}
	// The callee that disclosed leaves: the other's option stays its own.
	r.RemoveSession(5)
	if g, _ := r.Get(e1.ID); g.DiscloseCaller(6) || !slices.Equal(g.Callees, ids(6)) {
		t.Errorf("after 5 left: %v, DiscloseCaller(6) = %v", g.Callees, g.DiscloseCaller(6))
	}
}

// TestRegistryConcurrent runs registrations, routes and removals at once
// for the race detector, then checks the registry is empty.
func TestRegistryConcurrent(t *testing.T) {
	r := dealer.NewRegistry()
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Go(func() {
			callee := dealer.SessionID(s + 1)
			for i := range 200 {
				proc := fmt.Sprint("p.", i%10)
				_, _ = r.Register(callee, proc, wamp.MatchPolicy(i%3), roundrobin, i%2 == 0)
				if g, c, ok := r.Route(proc); ok && !slices.Contains(g.Callees, c) {
					t.Errorf("callee %d not on %v", c, g.Callees)
				}
				_, _ = r.Match(proc)
				r.List()
				if i%50 == 49 {
					r.RemoveSession(callee)
				}
			}
			r.RemoveSession(callee)
		})
	}
	wg.Wait()
	if e, p, w := r.List(); len(e)+len(p)+len(w) != 0 {
		t.Fatalf("List = %v %v %v after every session left", e, p, w)
	}
}

func benchmarkRoute(b *testing.B, match wamp.MatchPolicy, pattern, call func(i int) string) {
	r := dealer.NewRegistry()
	for i := range 1000 {
		if _, err := r.Register(dealer.SessionID(i%50+1), pattern(i), match, roundrobin, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, ok := r.Route(call(i % 1000)); !ok {
			b.Fatal("no match")
		}
		i++
	}
}

var (
	exactProcs  = procs("com.example.service.proc%d")
	prefixPats  = procs("com.example.service%d.")
	prefixCalls = procs("com.example.service%d.method.call")
)

func procs(format string) []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// BenchmarkRouteExact routes calls among 1,000 exact registrations.
func BenchmarkRouteExact(b *testing.B) {
	at := func(i int) string { return exactProcs[i] }
	benchmarkRoute(b, exact, at, at)
}

// BenchmarkRoutePrefix routes calls among 1,000 prefix registrations.
func BenchmarkRoutePrefix(b *testing.B) {
	benchmarkRoute(b, prefix, func(i int) string { return prefixPats[i] }, func(i int) string { return prefixCalls[i] })
}
