package httpusers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/auth"
)

var secret = []byte("shared-secret")

// app is a fake application: it checks the signature independently of
// VerifyRequest and answers from a map.
func app(t *testing.T, users map[string]string) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var lastReq atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastReq.Store(r.Clone(context.Background()))
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(r.Method + "\n" + r.RequestURI + "\n" + r.Header.Get(TimestampHeader)))
		if r.Header.Get(SignatureHeader) != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if err := VerifyRequest(r, secret, 0, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		body, ok := users[r.URL.Query().Get("username")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &lastReq
}

func TestLookup(t *testing.T) {
	srv, last := app(t, map[string]string{
		"jöhn":  `{"id": 42, "username": "jöhn", "password_hash": "$2y$13$h", "roles": ["ROLE_USER", "ROLE_ADMIN"]}`,
		"a&b=c": `{"id": "u-7", "password_hash": "h7", "extra": true}`,
	})
	p, err := New(srv.URL+"/internal/ws-user?v=1", secret)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.LookupUser(context.Background(), "jöhn")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "42" || u.Username != "jöhn" || u.PasswordHash != "$2y$13$h" || !slices.Equal(u.Roles, []string{"ROLE_USER", "ROLE_ADMIN"}) {
		t.Fatalf("user %+v", u)
	}
	r := last.Load().(*http.Request)
	if r.Method != http.MethodGet || r.URL.Path != "/internal/ws-user" || r.URL.Query().Get("v") != "1" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("request %s %s", r.Method, r.RequestURI)
	}
	// Usernames are query-escaped; the response's username defaults to it.
	u, err = p.LookupUser(context.Background(), "a&b=c")
	if err != nil || u.ID != "u-7" || u.Username != "a&b=c" || u.Roles != nil {
		t.Fatalf("user %+v, %v", u, err)
	}
	if _, err := p.LookupUser(context.Background(), "ghost"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("ghost: %v", err)
	}
}

func TestLookupWrongSecretIsAnError(t *testing.T) {
	srv, _ := app(t, map[string]string{"x": `{"id":1}`})
	p, _ := New(srv.URL, []byte("other"))
	_, err := p.LookupUser(context.Background(), "x")
	if err == nil || errors.Is(err, auth.ErrUserNotFound) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %v, want a 401 error", err)
	}
}

func TestLookupBadResponses(t *testing.T) {
	for name, c := range map[string]struct {
		status int
		body   string
	}{
		"500":          {500, "boom"},
		"no id":        {200, `{"username":"x"}`},
		"empty id":     {200, `{"id":""}`},
		"bool id":      {200, `{"id":true}`},
		"not json":     {200, `<html>`},
		"roles string": {200, `{"id":1,"roles":"ROLE_X"}`},
		"too large":    {200, `{"id":1,"pad":"` + strings.Repeat("x", MaxResponseBytes) + `"}`},
		"redirect":     {302, ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.status == 302 {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			w.WriteHeader(c.status)
			w.Write([]byte(c.body))
		}))
		p, _ := New(srv.URL, secret)
		_, err := p.LookupUser(context.Background(), "x")
		if err == nil || errors.Is(err, auth.ErrUserNotFound) {
			t.Errorf("%s: err %v, want an error", name, err)
		}
		srv.Close()
	}
}

func TestLookupTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, _ := New(srv.URL, secret)
	p.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := p.LookupUser(context.Background(), "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v, want deadline exceeded", err, time.Since(start))
	}
}

func TestNewErrors(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "http://", "://bad"} {
		if _, err := New(u, secret); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	if _, err := New("http://app/x", nil); err == nil {
		t.Error("empty secret accepted")
	}
}

func TestVerifyRequest(t *testing.T) {
	now := time.Unix(1735787045, 0)
	r := httptest.NewRequest("GET", "/u?username=j%C3%B6hn", nil)
	r.Header.Set(TimestampHeader, "1735787045")
	// Known vector: HMAC-SHA256("shared-secret", "GET\n/u?username=j%C3%B6hn\n1735787045").
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("GET\n/u?username=j%C3%B6hn\n1735787045"))
	want := hex.EncodeToString(m.Sum(nil))
	if got := Sign(secret, "GET", "/u?username=j%C3%B6hn", "1735787045"); got != want {
		t.Fatalf("Sign %s, want %s", got, want)
	}
	r.Header.Set(SignatureHeader, "sha256="+want)
	if err := VerifyRequest(r, secret, 0, now); err != nil {
		t.Fatalf("valid: %v", err)
	}
	if err := VerifyRequest(r, secret, 0, now.Add(61*time.Second)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("stale: %v", err)
	}
	if err := VerifyRequest(r, secret, 0, now.Add(-61*time.Second)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("future: %v", err)
	}
	if err := VerifyRequest(r, []byte("other"), 0, now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	r2 := httptest.NewRequest("GET", "/u?username=mallory", nil)
	r2.Header = r.Header.Clone()
	if err := VerifyRequest(r2, secret, 0, now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other username with the same signature: %v", err)
	}
	r.Header.Set(SignatureHeader, want)
	if err := VerifyRequest(r, secret, 0, now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("no sha256= prefix: %v", err)
	}
}

func TestProviderInVerifier(t *testing.T) {
	hash := "$2y$13$storedhash"
	body, _ := json.Marshal(map[string]any{"id": 5, "username": "alice", "password_hash": hash, "roles": []string{"ROLE_USER"}})
	srv, _ := app(t, map[string]string{"alice": string(body)})
	p, _ := New(srv.URL, secret)
	v := &auth.TicketVerifier{Secret: "kernel-secret", Users: auth.NewCachedUsers(p, 0)}
	u, err := v.Verify(context.Background(), auth.MintTicket("kernel-secret", "alice", hash, time.Now()))
	if err != nil || u == nil || u.ID != "5" {
		t.Fatalf("user %+v, %v", u, err)
	}
}
