package interop_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// startHeraldV2 runs `herald serve` as the v2 router of the peer tests:
// realm v2Realm, anonymous sessions, the ticket user's JWT and the
// WAMP-CRA users of v2harness_test.go.
func startHeraldV2(t *testing.T) *v2Router {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "herald.yaml")
	yaml := fmt.Sprintf(`
auth:
  anonymous: true
  jwt: { algorithms: [HS256], secret: %q }
wamp:
  realms: [%s]
  cra_users:
    - { authid: %s, secret: %s, role: %s }
    - { authid: %s, secret: %s, role: %s, salt: %s, iterations: %d, keylen: %d }
`, v2JWTKey, v2Realm, craAuthID, craSecret, craRole,
		craSaltedAuthID, craSaltedSecret, craSaltedRole, craSaltedSalt, craSaltedIters, craSaltedKeyLength)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHerald(t, "-c", cfg)
	return &v2Router{Name: "herald", URL: h.wsURL(), Realm: v2Realm}
}
