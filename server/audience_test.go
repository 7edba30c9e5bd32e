package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldws/herald/wamp"
)

func TestSessionIDsHaveTwoFormsOfOneID(t *testing.T) {
	ids, err := newSessionIDs("0a1b2c3d")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := ids.next()
		if len(id) != 24 || !isLowerHex(id) || !strings.HasPrefix(id, "0a1b2c3d") || seen[id] {
			t.Fatalf("id %q: want 24 new lowercase hex characters starting with the node id", id)
		}
		seen[id] = true
		n, ok := sessionNumber(id)
		if !ok || n == 0 || n > wamp.MaxID {
			t.Fatalf("sessionNumber(%q) = %d, %v: want an integer in [1, 2^53]", id, n, ok)
		}
		if back := ids.forNumber(n); back != id {
			t.Fatalf("forNumber(%d) = %q, want %q", n, back, id)
		}
	}
	for _, bad := range []string{"", "0a1b2c3d", "0a1b2c3d0000000000000000", "0a1b2c3d0020000000000001", "0A1B2C3D00000000000004D2", "session-1", "0a1b2c3d00000000000004d2x"} {
		if n, ok := sessionNumber(bad); ok {
			t.Errorf("sessionNumber(%q) = %d, true: want false", bad, n)
		}
	}
	if n, ok := sessionNumber("0a1b2c3d0020000000000000"); !ok || n != wamp.MaxID {
		t.Errorf("2^53 itself: %d, %v", n, ok)
	}
}

// identityServer names each connection by its query: ?user=alice&role=R.
func identityServer(t *testing.T) *testServer {
	return startServer(t, Config{Authenticator: AuthenticatorFunc(func(r *http.Request, _ string) (Identity, error) {
		q := r.URL.Query()
		if q.Get("user") == "" {
			return Identity{Anonymous: true}, nil
		}
		return Identity{UserID: q.Get("user") + "-id", Username: q.Get("user"), Roles: q["role"]}, nil
	})})
}

func TestAudienceByAuthIDAuthRoleAndEitherIDForm(t *testing.T) {
	ts := identityServer(t)
	dialAs := func(query string) *peer {
		p := dialRequest(t, ts.addr, strings.Replace(gosRequest(ts.addr, "wamp"), "GET ws://"+ts.addr+"/ ", "GET /?"+query+" ", 1))
		p.subscribe("acme/news")
		p.sync()
		return p
	}
	alice, bob, anon := dialAs("user=alice&role=ROLE_ADMIN&role=ROLE_USER"), dialAs("user=bob&role=ROLE_USER"), dialAs("")
	number := func(p *peer) string {
		n, ok := sessionNumber(p.session)
		if !ok {
			t.Fatalf("session id %q has no number", p.session)
		}
		return strconv.FormatUint(n, 10)
	}
	peers := map[string]*peer{"alice": alice, "bob": bob, "anon": anon}
	for i, c := range []struct {
		name string
		to   Audience
		want []string
	}{
		{"everyone", Audience{}, []string{"alice", "anon", "bob"}},
		{"exclude_authid", Audience{ExcludeAuthID: []string{"alice"}}, []string{"anon", "bob"}},
		{"eligible_authid", Audience{EligibleAuthID: []string{"bob", "nobody"}}, []string{"bob"}},
		{"an anonymous authid is its session id", Audience{EligibleAuthID: []string{anon.session}}, []string{"anon"}},
		{"exclude_authrole: any role", Audience{ExcludeAuthRole: []string{"ROLE_USER"}}, []string{"anon"}},
		{"eligible_authrole", Audience{EligibleAuthRole: []string{"ROLE_ADMIN", "anonymous"}}, []string{"alice", "anon"}},
		{"exclude by v2 number", Audience{Exclude: []string{number(alice)}}, []string{"anon", "bob"}},
		{"eligible by both forms", Audience{Eligible: []string{number(bob), anon.session}}, []string{"anon", "bob"}},
		{"exclusions first", Audience{Eligible: []string{number(bob)}, ExcludeAuthRole: []string{"ROLE_USER"}}, nil},
		{"eligible by number and role", Audience{Eligible: []string{number(alice), number(bob)}, EligibleAuthRole: []string{"ROLE_ADMIN"}}, []string{"alice"}},
		{"unknown number", Audience{Eligible: []string{"12345"}}, nil},
	} {
		event := strconv.Itoa(i)
		if err := ts.Publish(context.Background(), Publication{Topic: "acme/news", Payload: wamp.PayloadOfV1(json.RawMessage(event)), Audience: c.to}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for name, p := range peers {
			switch frames := p.sync(); {
			case len(frames) == 1 && frames[0] == eventFrame("acme/news", event):
				got = append(got, name)
			case len(frames) != 0:
				t.Fatalf("%s: %s got %q", c.name, name, frames)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: delivered to %q, want %q", c.name, got, c.want)
		}
	}
}

func TestIdentityAuthIDAndAuthRole(t *testing.T) {
	for _, c := range []struct {
		id           Identity
		authid, role string
		roles        []string
	}{
		{Identity{Username: "alice", UserID: "7", Roles: []string{"ROLE_ADMIN", "ROLE_USER"}}, "alice", "ROLE_ADMIN", []string{"ROLE_ADMIN", "ROLE_USER"}},
		{Identity{UserID: "7"}, "7", "user", []string{"user"}},
		{Identity{Anonymous: true}, "sid", "anonymous", []string{"anonymous"}},
		{Identity{Backend: true, Anonymous: true}, "sid", "backend", []string{"backend"}},
	} {
		if got := c.id.AuthID("sid"); got != c.authid {
			t.Errorf("%+v: authid %q, want %q", c.id, got, c.authid)
		}
		if got := c.id.AuthRole(); got != c.role {
			t.Errorf("%+v: authrole %q, want %q", c.id, got, c.role)
		}
		if got := c.id.AuthRoles(); !slices.Equal(got, c.roles) {
			t.Errorf("%+v: roles %q, want %q", c.id, got, c.roles)
		}
	}
}
