package interop_test

import (
	"fmt"
	"testing"
)

// startHeraldV2 runs `herald serve` as the v2 router of the peer tests:
// realm v2Realm, anonymous sessions, the ticket user's JWT and the
// WAMP-CRA users of v2harness_test.go.
func startHeraldV2(t *testing.T) *v2Router {
	t.Helper()
	h := startHerald(t, "-c", v2HeraldConfig(t, ""))
	return &v2Router{Name: "herald", URL: h.wsURL(), Realm: v2Realm}
}

// v2HeraldYAML is herald's configuration for the v2 peers' realm and
// users.
func v2HeraldYAML() string {
	return fmt.Sprintf(`
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
}
