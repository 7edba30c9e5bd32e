package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/auth/httpusers"
	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
)

const symfonyAutoload = "/usr/share/php/Symfony/Component/PasswordHasher/autoload.php"

// phpMintTicket mints a user ticket with Symfony's real password hasher,
// the way Oro's TicketProvider does (auth/testdata/oro.php).
func phpMintTicket(t *testing.T, secret, username, passwordHash string) string {
	t.Helper()
	php := needPHP(t)
	testpeer.Require(t, testpeer.SymfonyPasswordHasher)
	in, _ := json.Marshal([]map[string]string{{"secret": secret, "username": username, "password": passwordHash}})
	cmd := exec.Command(php[0], filepath.Join(moduleRoot, "auth", "testdata", "oro.php"), symfonyAutoload, "mint")
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php oro.php mint: %v", err)
	}
	var res []struct{ Ticket string }
	if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 || res[0].Ticket == "" {
		t.Fatalf("php oro.php mint answered %s (%v)", out, err)
	}
	return res[0].Ticket
}

// The acceptance case of tickets: a browser-like WAMP v1 client with a user
// ticket made by Symfony's hasher subscribes to its own
// oro/email_event/{id}/{org} topic, is refused another user's, and both
// `herald publish` and POST /api/publish reach it.
func TestOroUserTicketEndToEnd(t *testing.T) {
	const (
		secret      = "ThisTokenIsNotSoSecretChangeIt"
		usersSecret = "users-secret"
		janeHash    = "$2y$13$Cz0ZbNrpjO7Y2wTz4N3hxeQ3qD0a0Vt4n5W0vQW6xk7o3hPzjR3Ue"
	)
	// The application answers user lookups (auth.users.type: http).
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpusers.VerifyRequest(r, []byte(usersSecret), time.Minute, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("username") != "jane" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"id": 5, "username": "jane", "password_hash": %q, "roles": ["ROLE_USER"]}`, janeHash)
	}))
	defer users.Close()

	cfg := filepath.Join(t.TempDir(), "herald.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `
server:
  router:
    resources:
      - { resource: %q, type: oro }
auth:
  secret: %q
  users: { type: http, url: %q, secret: %q }
api:
  key: api-key
`, filepath.Join(moduleRoot, "topic", "testdata", "oro"), secret, users.URL, usersSecret), 0o600)
	h := startHerald(t, "-c", cfg)

	ticket := phpMintTicket(t, secret, "jane", janeHash)
	events := make(chan string, 10)
	texts := make(chan string, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	jane, err := client.Dial(ctx, "ws://"+h.addr()+"/ws", client.Options{
		Ticket:  ticket,
		Header:  http.Header{"Origin": {"https://oro.example.com"}},
		OnEvent: func(topic string, ev json.RawMessage) { events <- topic + " " + string(ev) },
		OnText:  func(data []byte) { texts <- string(data) },
	})
	if err != nil {
		t.Fatalf("jane's ticket was refused: %v\n%s", err, h.log.String())
	}
	defer jane.Close()
	jane.Subscribe("oro/email_event/5/1")
	jane.Subscribe("oro/email_event/6/1")
	select {
	case text := <-texts:
		if text != `You are not allowed to subscribe on topic "oro/email_event/6/1".` {
			t.Fatalf("refusal %q", text)
		}
	case <-ctx.Done():
		t.Fatal("jane was not refused another user's topic")
	}

	expect := func(how, want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("%s: got %q, want %q", how, got, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s: nothing arrived\n%s", how, h.log.String())
		}
	}
	publish := exec.CommandContext(ctx, heraldBin, "publish", "--url", h.wsURL(), "--secret", secret, "oro/email_event/5/1", `{"hasNewEmail":true}`)
	if out, err := publish.CombinedOutput(); err != nil {
		t.Fatalf("herald publish: %v: %s", err, out)
	}
	expect("herald publish", `oro/email_event/5/1 {"hasNewEmail":true}`)

	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+h.addr()+"/api/publish",
		strings.NewReader(`{"route":"oro_email.event","params":{"user_id":"5","organization_id":"1"},"data":{"hasNewEmail":false}}`))
	req.Header.Set("Authorization", "apikey api-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/publish: %d %s", resp.StatusCode, body)
	}
	expect("POST /api/publish", `oro/email_event/5/1 {"hasNewEmail":false}`)

	// A ticket for a user the application does not know, and a forged one,
	// are refused the way Oro refuses them.
	for _, bad := range []string{phpMintTicket(t, secret, "mallory", "x"), phpMintTicket(t, "another secret", "jane", janeHash)} {
		err := client.Check(ctx, "ws://"+h.addr()+"/ws", client.Options{Ticket: bad})
		var ce *client.CheckError
		if err == nil || !errors.As(err, &ce) || ce.Reason != client.CheckForbidden {
			t.Fatalf("bad ticket: %v, want a forbidden CheckError", err)
		}
	}
}
