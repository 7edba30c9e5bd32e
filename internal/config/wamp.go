package config

import (
	"fmt"
	"regexp"

	"github.com/heraldws/herald/wamp"
)

// Defaults of the WAMP v2 keys.
const (
	// defaultRealm is wamp.realms' default, autobahn's and the server's.
	defaultRealm = "realm1"
	// defaultCRARole is the authrole of a wamp.cra_users entry without one.
	defaultCRARole = "user"
)

// CRAUser is one entry of wamp.cra_users: a user who may authenticate with
// WAMP-CRA (authmethod "wampcra").
type CRAUser struct {
	// AuthID is the authid the client sends in HELLO. Required; unique.
	AuthID string `yaml:"authid"`
	// Secret is the shared secret. Required; write '%env(NAME)%' to keep
	// it out of the file.
	Secret string `yaml:"secret"`
	// Role is the authrole, which becomes the connection's one role (for
	// handlers' policies). Default "user" (empty means the default).
	Role string `yaml:"role"`
	// Salt, when set, makes the key PBKDF2(Secret, Salt, Iterations,
	// KeyLen) instead of Secret itself, as autobahn's derive_key. Default
	// empty.
	Salt string `yaml:"salt"`
	// Iterations is the PBKDF2 iteration count of a salted key; it must
	// be positive, and without Salt it is unused. Absent (nil) means
	// 1000. See Derivation.
	Iterations *int `yaml:"iterations"`
	// KeyLen is the length in bytes of a salted key; it must be positive,
	// and without Salt it is unused. Absent (nil) means 32. See
	// Derivation.
	KeyLen *int `yaml:"keylen"`
}

// Derivation returns the PBKDF2 iteration count and key length of a salted
// user: iterations and keylen, or their defaults (1000 and 32) when
// absent. Both are 0 without a salt, where the secret is the key itself.
func (u CRAUser) Derivation() (iterations, keyLen int) {
	if u.Salt == "" {
		return 0, 0
	}
	iterations, keyLen = wamp.CRADefaultIterations, wamp.CRADefaultKeyLen
	if u.Iterations != nil {
		iterations = *u.Iterations
	}
	if u.KeyLen != nil {
		keyLen = *u.KeyLen
	}
	return iterations, keyLen
}

// shellVarRE matches a value that is only a shell-style variable
// (${NAME}), which herald does not expand: such a secret is almost surely
// a mistake for %env(NAME)%.
var shellVarRE = regexp.MustCompile(`^\$\{(\w+)\}$`)

func (c *Config) validateWAMP() []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	w := c.WAMP
	realms := map[string]int{}
	for i, r := range w.Realms {
		path := fmt.Sprintf("wamp.realms[%d]", i)
		if first, dup := realms[r]; dup {
			bad(path, "duplicate realm %q (first at wamp.realms[%d])", r, first)
			continue
		}
		realms[r] = i
		if !wamp.ValidURI(r, false) {
			bad(path, "%q is not a WAMP URI (dot-separated non-empty components without '#' or white space)", r)
		} else if wamp.ReservedURI(r) {
			bad(path, "%q is in the namespace WAMP reserves for itself (wamp.*)", r)
		}
	}
	users := map[string]int{}
	for i, u := range w.CRAUsers {
		p := fmt.Sprintf("wamp.cra_users[%d].", i)
		if u.AuthID == "" {
			bad(p+"authid", "required")
		} else if first, dup := users[u.AuthID]; dup {
			bad(p+"authid", "duplicate authid %q (first at wamp.cra_users[%d])", u.AuthID, first)
		} else {
			users[u.AuthID] = i
		}
		if u.Secret == "" {
			bad(p+"secret", "required")
		} else if m := shellVarRE.FindStringSubmatch(u.Secret); m != nil {
			bad(p+"secret", "%q is not expanded: write '%%env(%s)%%' to read the variable", u.Secret, m[1])
		}
		for _, n := range []struct {
			key string
			v   *int
		}{{"iterations", u.Iterations}, {"keylen", u.KeyLen}} {
			if n.v != nil && *n.v <= 0 {
				bad(p+n.key, "%d is not positive", *n.v)
			}
		}
	}
	return errs
}
