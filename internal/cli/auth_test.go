package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/internal/ws"
)

func TestBuildAuth(t *testing.T) {
	t.Run("nothing configured: everyone is anonymous", func(t *testing.T) {
		cfg := loadCfg(t, "")
		a, closeFn, err := buildAuth(cfg)
		defer closeFn()
		if err != nil || a != nil {
			t.Fatalf("buildAuth = %v, %v; want nil, nil", a, err)
		}
	})
	t.Run("anonymous refused without any method", func(t *testing.T) {
		_, _, err := buildAuth(loadCfg(t, "auth:\n  anonymous: false\n"))
		if err == nil || !strings.Contains(err.Error(), "nobody could connect") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("EdDSA public key", func(t *testing.T) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(pub)
		path := filepath.Join(t.TempDir(), "key.pem")
		os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
		a, closeFn, err := buildAuth(loadCfg(t, "auth:\n  jwt:\n    algorithms: [EdDSA]\n    public_key: "+yamlQuote(path)+"\n"))
		defer closeFn()
		if err != nil || a == nil {
			t.Fatalf("buildAuth: %v", err)
		}
	})
	t.Run("unreadable public key", func(t *testing.T) {
		_, _, err := buildAuth(loadCfg(t, "auth:\n  jwt:\n    algorithms: [RS256]\n    public_key: /nonexistent.pem\n"))
		if err == nil || !strings.Contains(err.Error(), "auth.jwt.public_key") {
			t.Fatalf("err = %v", err)
		}
	})
}

func loadCfg(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := loadServeConfig(serveOptions{configPath: writeConfig(t, yaml)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// `herald serve` with auth.secret checks tickets: a valid anonymous ticket
// gets in, a forged one gets Oro's refusal.
func TestServeChecksTickets(t *testing.T) {
	const secret = "s3cret"
	r := startServe(t, "-c", writeConfig(t, "auth:\n  secret: "+secret+"\n"), "-p", strconv.Itoa(freePort(t)))
	good := auth.MintAnonymousTicket(secret, time.Now())
	c := upgradePath(t, r.addr, "/ws?ticket="+good)
	c.sendText(`[5,"acme/t"]`)
	c.sendText(`[7,"acme/t",1]`)
	if got := string(c.read(ws.OpText)); got != `[8,"acme/t",1]` {
		t.Fatalf("got %q", got)
	}
	bad := upgradePath(t, r.addr, "/ws?ticket="+auth.MintAnonymousTicket("forged", time.Now()))
	if got := string(bad.read(ws.OpText)); !strings.HasSuffix(got, "\r\n\r\n403") {
		t.Fatalf("forged ticket got %q", got)
	}
	bad.expectClose(ws.CloseNormal)
}
