// Package httpusers is an auth.UserProvider that asks the application
// over HTTP, for deployments where herald should not read the user
// database itself.
//
// # Protocol
//
// herald sends
//
//	GET {URL}?username={username}
//	Accept: application/json
//	X-Herald-Timestamp: {Unix seconds}
//	X-Herald-Signature: sha256={hex HMAC-SHA256(secret, canonical)}
//
// where canonical is the method, the request URI exactly as sent (path and
// query, e.g. "/internal/ws-user?username=j%C3%B6hn") and the timestamp,
// joined by "\n": "GET\n/internal/ws-user?username=j%C3%B6hn\n1735787045".
// Any query already in URL is kept, with username added to it.
//
// The application checks the signature in constant time and the timestamp
// against its clock (VerifyRequest does both), then answers
//
//	200 {"id": "42", "username": "john", "password_hash": "…", "roles": ["ROLE_USER"]}
//	404 when there is no such user
//
// id may be a JSON string or number; password_hash is the hash stored for
// the user (Oro: oro_user.password), which user tickets are signed with.
// Any other status is an error, and so are redirects, which are not
// followed.
package httpusers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldws/herald/auth"
)

// Header names of the signed request.
const (
	TimestampHeader = "X-Herald-Timestamp"
	SignatureHeader = "X-Herald-Signature"
)

// DefaultTimeout bounds one lookup when Provider.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// MaxResponseBytes bounds the response body read.
const MaxResponseBytes = 1 << 20

// Provider looks users up by asking the application. Set the fields
// before first use and never change them; LookupUser is safe for
// concurrent use.
type Provider struct {
	// URL is the application's endpoint, http or https.
	URL string
	// Secret is the HMAC-SHA256 key shared with the application.
	Secret []byte
	// Timeout bounds one lookup, connection included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Client makes the requests. Nil means a client of the default
	// transport that does not follow redirects.
	Client *http.Client
	// Now is the clock for the timestamp. Nil means time.Now.
	Now func() time.Time
}

// New returns a provider for endpoint signing with secret.
func New(endpoint string, secret []byte) (*Provider, error) {
	p := &Provider{URL: endpoint, Secret: secret}
	if _, err := p.endpoint(); err != nil {
		return nil, err
	}
	return p, nil
}

var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (p *Provider) endpoint() (*url.URL, error) {
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, fmt.Errorf("httpusers: URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpusers: URL %q: want an http or https URL", p.URL)
	}
	if len(p.Secret) == 0 {
		return nil, errors.New("httpusers: empty secret")
	}
	return u, nil
}

// response is the application's answer.
type response struct {
	ID           json.RawMessage `json:"id"`
	Username     string          `json:"username"`
	PasswordHash string          `json:"password_hash"`
	Roles        []string        `json:"roles"`
}

// LookupUser implements auth.UserProvider.
func (p *Provider) LookupUser(ctx context.Context, username string) (*auth.User, error) {
	base, err := p.endpoint()
	if err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := *base
	q := u.Query()
	q.Set("username", username)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("httpusers: look up %q: %w", username, err)
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Accept", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, "sha256="+Sign(p.Secret, http.MethodGet, u.RequestURI(), ts))

	client := p.Client
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpusers: look up %q: %w", username, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("httpusers: look up %q: read response: %w", username, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("httpusers: look up %q: %w", username, auth.ErrUserNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("httpusers: look up %q: %s: %s", username, resp.Status, snippet(body))
	case len(body) > MaxResponseBytes:
		return nil, fmt.Errorf("httpusers: look up %q: response over %d bytes", username, MaxResponseBytes)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("httpusers: look up %q: decode response: %w", username, err)
	}
	id, err := idString(r.ID)
	if err != nil {
		return nil, fmt.Errorf("httpusers: look up %q: %w", username, err)
	}
	user := &auth.User{ID: id, Username: r.Username, PasswordHash: r.PasswordHash, Roles: r.Roles}
	if user.Username == "" {
		user.Username = username
	}
	return user, nil
}

// idString accepts a JSON string or number.
func idString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New(`response without "id"`)
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf(`"id": %w`, err)
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf(`"id": not a string or a number`)
		}
		s = n.String()
	}
	if s == "" {
		return "", errors.New(`empty "id"`)
	}
	return s, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Sign returns the hex HMAC-SHA256 with secret of the canonical string
// method + "\n" + requestURI + "\n" + timestamp.
func Sign(secret []byte, method, requestURI, timestamp string) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, method+"\n"+requestURI+"\n"+timestamp)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by VerifyRequest for a request that is not
// signed with the secret, or signed too long ago.
var ErrBadSignature = errors.New("httpusers: bad request signature")

// VerifyRequest checks, for an application written in Go, that r was
// signed by herald with secret less than maxSkew (zero: 60 s) from now,
// either way. The signature is compared in constant time.
func VerifyRequest(r *http.Request, secret []byte, maxSkew time.Duration, now time.Time) error {
	if maxSkew <= 0 {
		maxSkew = 60 * time.Second
	}
	ts := r.Header.Get(TimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: timestamp %s off by %v", ErrBadSignature, ts, d)
	}
	got, ok := strings.CutPrefix(r.Header.Get(SignatureHeader), "sha256=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil {
		return fmt.Errorf("%w: malformed %s", ErrBadSignature, SignatureHeader)
	}
	uri := r.RequestURI // as received; r.URL.RequestURI() for client-side requests
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	want, _ := hex.DecodeString(Sign(secret, r.Method, uri, ts))
	if !hmac.Equal(sig, want) {
		return ErrBadSignature
	}
	return nil
}

var _ auth.UserProvider = (*Provider)(nil)
