package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestWAMPv2Keys(t *testing.T) {
	tests := []struct {
		name, in   string
		env        map[string]string
		realms     []string
		users      []CRAUser
		derivation [][2]int // Derivation() of each user
	}{
		{name: "absent", realms: []string{"realm1"}},
		{name: "empty section", in: "wamp: {}\n", realms: []string{"realm1"}},
		{name: "null and empty lists keep the defaults", in: "wamp:\n  realms: ~\n  cra_users: []\n", realms: []string{"realm1"}},
		{name: "empty realm list means the default", in: "wamp:\n  realms: []\n", realms: []string{"realm1"}},
		{name: "realms replace the default", in: "wamp:\n  realms: [com.example.app, acme/chat, realm1]\n",
			realms: []string{"com.example.app", "acme/chat", "realm1"}},
		{name: "user with defaults", in: "wamp:\n  cra_users:\n    - authid: backend\n      secret: s\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "backend", Secret: "s", Role: "user"}},
			derivation: [][2]int{{0, 0}}},
		{name: "empty role means the default", in: "wamp:\n  cra_users:\n    - {authid: a, secret: s, role: ''}\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "a", Secret: "s", Role: "user"}},
			derivation: [][2]int{{0, 0}}},
		{name: "salt without iterations and keylen: their defaults", in: "wamp:\n  cra_users:\n    - {authid: a, secret: s, role: ROLE_BACKEND, salt: NaCl}\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "a", Secret: "s", Role: "ROLE_BACKEND", Salt: "NaCl"}},
			derivation: [][2]int{{1000, 32}}},
		{name: "null iterations keeps the default", in: "wamp:\n  cra_users:\n    - {authid: a, secret: s, salt: x, iterations: ~, keylen: 64}\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "a", Secret: "s", Role: "user", Salt: "x", KeyLen: new(64)}},
			derivation: [][2]int{{1000, 64}}},
		{name: "secret and iterations from the environment",
			in:         "wamp:\n  cra_users:\n    - authid: a\n      secret: '%env(CRA_SECRET)%'\n      salt: x\n      iterations: '%env(int:CRA_ITER)%'\n",
			env:        map[string]string{"CRA_SECRET": "from env", "CRA_ITER": "5000"},
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "a", Secret: "from env", Role: "user", Salt: "x", Iterations: new(5000)}},
			derivation: [][2]int{{5000, 32}}},
		{name: "iterations and keylen without a salt are unused", in: "wamp:\n  cra_users:\n    - {authid: a, secret: s, salt: '', iterations: 1000, keylen: 32}\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "a", Secret: "s", Role: "user", Iterations: new(1000), KeyLen: new(32)}},
			derivation: [][2]int{{0, 0}}},
		{name: "a numeric secret is a string", in: "wamp:\n  cra_users:\n    - {authid: 42, secret: 1234}\n",
			realms:     []string{"realm1"},
			users:      []CRAUser{{AuthID: "42", Secret: "1234", Role: "user"}},
			derivation: [][2]int{{0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tt.in), "c.yaml", mapEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !reflect.DeepEqual(c.WAMP.Realms, tt.realms) {
				t.Errorf("Realms = %q, want %q", c.WAMP.Realms, tt.realms)
			}
			if !reflect.DeepEqual(c.WAMP.CRAUsers, tt.users) {
				t.Errorf("CRAUsers = %+v, want %+v", c.WAMP.CRAUsers, tt.users)
			}
			for i, u := range c.WAMP.CRAUsers {
				if it, kl := u.Derivation(); i < len(tt.derivation) && [2]int{it, kl} != tt.derivation[i] {
					t.Errorf("user %d: Derivation() = %d, %d; want %d", i, it, kl, tt.derivation[i])
				}
			}
		})
	}
}

func TestWAMPv2KeysInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // every error line, in file order
	}{
		{"realm not a URI", "wamp:\n  realms:\n    - realm1\n    - 'my realm'\n    - a..b\n    - ''\n    - 'x#y'\n", []string{
			`c.yaml:4: wamp.realms[1]: "my realm" is not a WAMP URI (dot-separated non-empty components without '#' or white space)`,
			`c.yaml:5: wamp.realms[2]: "a..b" is not a WAMP URI (dot-separated non-empty components without '#' or white space)`,
			`c.yaml:6: wamp.realms[3]: "" is not a WAMP URI (dot-separated non-empty components without '#' or white space)`,
			`c.yaml:7: wamp.realms[4]: "x#y" is not a WAMP URI (dot-separated non-empty components without '#' or white space)`,
		}},
		{"reserved realm", "wamp:\n  realms:\n    - wamp.realm\n    - wamp\n", []string{
			`c.yaml:3: wamp.realms[0]: "wamp.realm" is in the namespace WAMP reserves for itself (wamp.*)`,
			`c.yaml:4: wamp.realms[1]: "wamp" is in the namespace WAMP reserves for itself (wamp.*)`,
		}},
		{"duplicate realm", "wamp:\n  realms:\n    - a.b\n    - realm1\n    - a.b\n", []string{
			`c.yaml:5: wamp.realms[2]: duplicate realm "a.b" (first at wamp.realms[0])`,
		}},
		{"missing authid and secret", "wamp:\n  cra_users:\n    - role: admin\n", []string{
			`c.yaml:3: wamp.cra_users[0].authid: required`,
			`c.yaml:3: wamp.cra_users[0].secret: required`,
		}},
		{"empty authid and secret", "wamp:\n  cra_users:\n    - authid: ''\n      secret: ''\n", []string{
			`c.yaml:3: wamp.cra_users[0].authid: required`,
			`c.yaml:4: wamp.cra_users[0].secret: required`,
		}},
		{"duplicate authid", "wamp:\n  cra_users:\n    - authid: backend\n      secret: a\n    - authid: other\n      secret: b\n    - authid: backend\n      secret: c\n", []string{
			`c.yaml:7: wamp.cra_users[2].authid: duplicate authid "backend" (first at wamp.cra_users[0])`,
		}},
		{"shell variable secret", "wamp:\n  cra_users:\n    - authid: a\n      secret: \"${CRA_SECRET}\"\n", []string{
			`c.yaml:4: wamp.cra_users[0].secret: "${CRA_SECRET}" is not expanded: write '%env(CRA_SECRET)%' to read the variable`,
		}},
		{"iterations and keylen not positive", "wamp:\n  cra_users:\n    - authid: a\n      secret: s\n      salt: x\n      iterations: 0\n      keylen: -1\n", []string{
			`c.yaml:6: wamp.cra_users[0].iterations: 0 is not positive`,
			`c.yaml:7: wamp.cra_users[0].keylen: -1 is not positive`,
		}},
		{"not positive without a salt either", "wamp:\n  cra_users:\n    - authid: a\n      secret: s\n      salt: ''\n      iterations: -5\n      keylen: 0\n", []string{
			`c.yaml:6: wamp.cra_users[0].iterations: -5 is not positive`,
			`c.yaml:7: wamp.cra_users[0].keylen: 0 is not positive`,
		}},
		{"in file order with other sections", "log:\n  level: loud\nwamp:\n  realms: [wamp.x]\n  prefix_mode: strict\n", []string{
			`c.yaml:2: log.level: "loud" is not one of debug, info, warn, error`,
			`c.yaml:4: wamp.realms[0]: "wamp.x" is in the namespace WAMP reserves for itself (wamp.*)`,
			`c.yaml:5: wamp.prefix_mode: "strict" is not one of ratchet, spec`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tt.in), "c.yaml", noEnv)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := errLines(c.Validate()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate() =\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestWAMPv2KeysDecodeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown key in a user", "wamp:\n  cra_users:\n    - authid: a\n      secrte: s\n",
			`c.yaml:4: unknown key "wamp.cra_users[0].secrte" (did you mean "secret"?)`},
		{"unknown key beside realms", "wamp:\n  realm: [a]\n",
			`c.yaml:2: unknown key "wamp.realm" (did you mean "realms"?)`},
		{"realms not a list", "wamp:\n  realms: realm1\n",
			`c.yaml:2: wamp.realms: want a list, got "realm1"`},
		{"realm not a string", "wamp:\n  realms:\n    - {a: b}\n",
			`c.yaml:3: wamp.realms[0]: want a string, got a mapping`},
		{"user not a mapping", "wamp:\n  cra_users:\n    - backend\n",
			`c.yaml:3: wamp.cra_users[0]: want a mapping, got "backend"`},
		{"iterations not an integer", "wamp:\n  cra_users:\n    - {authid: a, secret: s, salt: x, iterations: many}\n",
			`c.yaml:3: wamp.cra_users[0].iterations: want an integer, got "many"`},
		{"secret variable unset", "wamp:\n  cra_users:\n    - authid: a\n      secret: '%env(CRA_SECRET)%'\n",
			`c.yaml:4: wamp.cra_users[0].secret: environment variable "CRA_SECRET" is not set`},
		{"duplicate key in a user", "wamp:\n  cra_users:\n    - authid: a\n      authid: b\n",
			`c.yaml:4: duplicate key "wamp.cra_users[0].authid" (first at line 3)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tt.in), "c.yaml", noEnv)
			if c != nil {
				t.Error("got a config along with the error")
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestWAMPv2ValidateProgrammatic(t *testing.T) {
	// A Config built in Go, without a file: errors name the key alone,
	// and absent (nil) iterations and keylen are their defaults.
	c := Default()
	c.WAMP.Realms = []string{"realm1", "realm1"}
	c.WAMP.CRAUsers = []CRAUser{{AuthID: "a", Secret: "s", Salt: "x"}, {AuthID: "a", Secret: "t", KeyLen: new(0)}}
	want := []string{
		`wamp.realms[1]: duplicate realm "realm1" (first at wamp.realms[0])`,
		`wamp.cra_users[1].authid: duplicate authid "a" (first at wamp.cra_users[0])`,
		`wamp.cra_users[1].keylen: 0 is not positive`,
	}
	if got := errLines(c.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if it, kl := c.WAMP.CRAUsers[0].Derivation(); it != 1000 || kl != 32 {
		t.Errorf("Derivation() = %d, %d; want the defaults 1000, 32", it, kl)
	}
}
