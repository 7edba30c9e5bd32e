// Package auth authenticates herald's WebSocket clients.
//
// It knows two credentials:
//
//   - Oro Sync tickets (OroSyncBundle's TicketProvider and
//     WebsocketAuthenticationByTicketProvider), reproduced bit for bit:
//     [HashPassword] is Symfony's MessageDigestPasswordHasher (SHA-512,
//     5,000 iterations, base64), [MintTicket] makes tickets the way Oro's
//     TicketProvider does, and [TicketVerifier] checks them the way Oro's
//     WebSocket server does, including PHP's parse_str ([TicketFromQuery]) and
//     non-strict base64_decode ([ParseTicket]) on the way in.
//   - JSON Web Tokens for applications that are not Oro ([JWTVerifier]).
//
// User tickets need the user's stored password hash, id and roles: a
// [UserProvider] answers them. The subpackages sqlusers (PostgreSQL and
// MySQL/MariaDB, Oro's oro_user table by default) and httpusers (a signed
// request to the application) are providers; [CachedUsers] puts a short-lived
// cache in front of either.
//
// The package has no dependency on herald's server: the server adapts what it
// returns ([*User], [*Claims]) into its own connection identity.
package auth
