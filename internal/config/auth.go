package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Auth is the auth section: who may connect and as whom.
type Auth struct {
	// Secret is the application secret (Oro's kernel.secret): it signs
	// anonymous tickets, salts every ticket digest, and lets herald's
	// client verbs mint tickets. Empty means tickets are not checked:
	// every connection is anonymous.
	Secret string `yaml:"secret"`
	// Anonymous accepts connections that bring no ticket or token (a
	// ticket that is present must still be valid). Default true, as Oro.
	Anonymous bool `yaml:"anonymous"`
	// OnFailure is what a refused ticket gets: "oro" (Oro's behaviour:
	// WELCOME, then a text frame holding "403", then close) or "http"
	// (HTTP 403 before the upgrade). Default oro.
	OnFailure string `yaml:"on_failure"`
	// TicketTTL is how long a ticket is valid. Default 300s.
	TicketTTL Duration `yaml:"ticket_ttl"`
	// TicketFutureTolerance accepts tickets created this far ahead of the
	// server's clock. Default 30s.
	TicketFutureTolerance Duration `yaml:"ticket_future_tolerance"`
	// OneTimeTickets refuses a ticket seen before (a bounded in-memory
	// nonce cache). Default false, as Oro, whose tickets are reusable.
	OneTimeTickets bool `yaml:"one_time_tickets"`
	// BackendNetworks lists the addresses (CIDR or single IPs) whose
	// connections with a valid anonymous ticket count as the application's
	// backend, for `publish: backend` policies. Default none. Do not list
	// the address of a proxy that forwards browsers.
	BackendNetworks []string `yaml:"backend_networks"`
	// Users looks up the users of user tickets.
	Users Users `yaml:"users"`
	// JWT accepts JSON Web Tokens, for applications that are not Oro.
	JWT JWT `yaml:"jwt"`
}

// Users is auth.users: where user tickets' users come from.
type Users struct {
	// Type is none, sql or http. Default none: user tickets are refused
	// as "user not found".
	Type string `yaml:"type"`
	// Driver (sql) is postgres or mysql.
	Driver string `yaml:"driver"`
	// DSN (sql) is the database address, as the driver takes it.
	DSN string `yaml:"dsn"`
	// Query (sql) selects id, username, password hash and roles for one
	// username ($1 or ?). Default: Oro's oro_user table.
	Query string `yaml:"query"`
	// URL (http) answers user lookups.
	URL string `yaml:"url"`
	// Secret (http) signs the lookups.
	Secret string `yaml:"secret"`
	// Timeout (http) bounds one lookup. Default 5s.
	Timeout Duration `yaml:"timeout"`
	// CacheTTL is how long a lookup is remembered. Default 30s; 0s after
	// a default means the default, use a negative value to disable.
	CacheTTL Duration `yaml:"cache_ttl"`
}

// JWT is auth.jwt.
type JWT struct {
	// Algorithms is the allow-list: HS256, RS256, EdDSA. Empty disables
	// JWT.
	Algorithms []string `yaml:"algorithms"`
	// Secret is the HS256 key.
	Secret string `yaml:"secret"`
	// PublicKey is a PEM file with the RS256 or EdDSA public key.
	PublicKey string `yaml:"public_key"`
	// QueryParam carries the token in the URL. Default "token"; the
	// Authorization: Bearer header always works.
	QueryParam string `yaml:"query_param"`
	// RolesClaim names the roles claim. Default "roles".
	RolesClaim string `yaml:"roles_claim"`
	// ChannelsClaim names the claim listing the channels the bearer may
	// subscribe to. Default "channels"; absent means any channel.
	ChannelsClaim string `yaml:"channels_claim"`
	// Audience, when set, must be among the token's aud.
	Audience string `yaml:"audience"`
	// Issuer, when set, must equal the token's iss.
	Issuer string `yaml:"issuer"`
}

// API is the api section: the HTTP publish API.
type API struct {
	// Key is required in `Authorization: apikey KEY` or `X-API-Key`.
	// Empty turns the API off.
	Key string `yaml:"key"`
	// MaxBodySize bounds a request body. Default 1MiB.
	MaxBodySize Size `yaml:"max_body_size"`
}

// BackendPrefixes parses BackendNetworks.
func (a Auth) BackendPrefixes() ([]netip.Prefix, error) { return parsePrefixes(a.BackendNetworks) }

// parsePrefixes reads CIDRs and single addresses.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// TrustedProxyPrefixes parses server.trusted_proxies.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes(c.Server.TrustedProxies)
}

// BlockedPrefixes parses blocked_ip_addresses.
func (c *Config) BlockedPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes(c.BlockedIPAddresses)
}

func (c *Config) validateAuth() []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	a := c.Auth
	if strings.ContainsAny(a.Secret, "{}") {
		bad("auth.secret", "must not contain { or } (Symfony's password hasher refuses such a salt)")
	}
	if a.OnFailure != "" && a.OnFailure != "oro" && a.OnFailure != "http" {
		bad("auth.on_failure", "%q is not one of oro, http", a.OnFailure)
	}
	if _, err := a.BackendPrefixes(); err != nil {
		bad("auth.backend_networks", "%v", err)
	}
	if _, err := c.BlockedPrefixes(); err != nil {
		bad("blocked_ip_addresses", "%v", err)
	}
	switch a.Users.Type {
	case "", "none":
	case "sql":
		if a.Users.Driver != "postgres" && a.Users.Driver != "mysql" {
			bad("auth.users.driver", "%q is not one of postgres, mysql", a.Users.Driver)
		}
		if a.Users.DSN == "" {
			bad("auth.users.dsn", "an sql user provider needs a dsn")
		}
	case "http":
		if !strings.HasPrefix(a.Users.URL, "http://") && !strings.HasPrefix(a.Users.URL, "https://") {
			bad("auth.users.url", "an http user provider needs an http:// or https:// URL, got %q", a.Users.URL)
		}
	default:
		bad("auth.users.type", "%q is not one of none, sql, http", a.Users.Type)
	}
	if a.Users.Type != "" && a.Users.Type != "none" && a.Secret == "" {
		bad("auth.secret", "user tickets need the application secret")
	}
	for i, alg := range a.JWT.Algorithms {
		switch alg {
		case "HS256":
			if a.JWT.Secret == "" {
				bad("auth.jwt.secret", "HS256 needs a secret")
			}
		case "RS256", "EdDSA":
			if a.JWT.PublicKey == "" {
				bad("auth.jwt.public_key", "%s needs a public key file", alg)
			}
		default:
			bad(fmt.Sprintf("auth.jwt.algorithms[%d]", i), "%q is not one of HS256, RS256, EdDSA", alg)
		}
	}
	if c.API.MaxBodySize < 0 {
		bad("api.max_body_size", "must not be negative")
	}
	return errs
}
