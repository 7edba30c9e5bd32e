package cli

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/server"
)

// nonceCapacity bounds the one-time-ticket cache: tickets seen within the
// ticket lifetime, at most this many.
const nonceCapacity = 1 << 20

// buildAuth turns the auth section into the server's authenticator. It
// returns nil when nothing is configured: every connection is anonymous.
// closeUsers releases the user provider's resources (a database pool).
func buildAuth(cfg *config.Config) (a server.Authenticator, closeUsers func(), err error) {
	c := cfg.Auth
	closeUsers = func() {}
	if c.Secret == "" && len(c.JWT.Algorithms) == 0 {
		if !c.Anonymous {
			return nil, closeUsers, cfg.Errorf("auth.anonymous", "false, but neither auth.secret (tickets) nor auth.jwt is configured: nobody could connect")
		}
		return nil, closeUsers, nil
	}
	ta := &server.TicketAuth{AllowAnonymous: c.Anonymous, JWTQueryParam: c.JWT.QueryParam}
	if ta.BackendNetworks, err = c.BackendPrefixes(); err != nil {
		return nil, closeUsers, cfg.Errorf("auth.backend_networks", "%w", err)
	}
	if c.Secret != "" {
		v := &auth.TicketVerifier{Secret: c.Secret, TTL: c.TicketTTL.D(), FutureTolerance: c.TicketFutureTolerance.D()}
		if c.OneTimeTickets {
			v.Nonces = auth.NewNonceCache(nonceCapacity, v.TTL+v.FutureTolerance+auth.DefaultTicketTTL+auth.DefaultFutureTolerance)
		}
		users, closeFn, err := buildUsers(cfg)
		if err != nil {
			return nil, closeUsers, err
		}
		closeUsers = closeFn
		if users != nil {
			ttl := c.Users.CacheTTL.D()
			if ttl >= 0 {
				users = auth.NewCachedUsers(users, ttl)
			}
			v.Users = users
		}
		ta.Tickets = v
	}
	if len(c.JWT.Algorithms) > 0 {
		jv := &auth.JWTVerifier{
			Algorithms:    c.JWT.Algorithms,
			HMACSecret:    []byte(c.JWT.Secret),
			RolesClaim:    c.JWT.RolesClaim,
			ChannelsClaim: c.JWT.ChannelsClaim,
			Audience:      c.JWT.Audience,
			Issuer:        c.JWT.Issuer,
		}
		if c.JWT.PublicKey != "" {
			if err := loadPublicKey(c.JWT.PublicKey, jv); err != nil {
				closeUsers()
				return nil, func() {}, cfg.Errorf("auth.jwt.public_key", "%w", err)
			}
		}
		ta.JWT = jv
	}
	return ta, closeUsers, nil
}

// loadPublicKey reads a PEM public key (PKIX) for RS256 or EdDSA.
func loadPublicKey(path string, jv *auth.JWTVerifier) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("%s holds no PEM block", path)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		jv.RSAPublicKey = k
	case ed25519.PublicKey:
		jv.EdPublicKey = k
	default:
		return fmt.Errorf("%s: a %T key is neither RSA nor Ed25519", path, key)
	}
	return nil
}
