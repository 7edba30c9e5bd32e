package wamp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Standard WAMP v2 error URIs (ERROR.Error, ABORT.Reason).
const (
	URIInvalidURI               = "wamp.error.invalid_uri"
	URINoSuchProcedure          = "wamp.error.no_such_procedure"
	URIProcedureAlreadyExists   = "wamp.error.procedure_already_exists"
	URINoSuchRegistration       = "wamp.error.no_such_registration"
	URINoSuchSubscription       = "wamp.error.no_such_subscription"
	URIInvalidArgument          = "wamp.error.invalid_argument"
	URIProtocolViolation        = "wamp.error.protocol_violation"
	URINotAuthorized            = "wamp.error.not_authorized"
	URIAuthorizationFailed      = "wamp.error.authorization_failed"
	URIAuthenticationFailed     = "wamp.error.authentication_failed"
	URINoAuthMethod             = "wamp.error.no_auth_method"
	URINoSuchRealm              = "wamp.error.no_such_realm"
	URINoSuchRole               = "wamp.error.no_such_role"
	URINoSuchSession            = "wamp.error.no_such_session"
	URICanceled                 = "wamp.error.canceled"
	URITimeout                  = "wamp.error.timeout"
	URIOptionNotAllowed         = "wamp.error.option_not_allowed"
	URIOptionDisallowedDisclose = "wamp.error.option_disallowed.disclose_me"
	URINoEligibleCallee         = "wamp.error.no_eligible_callee"
	URINetworkFailure           = "wamp.error.network_failure"
	URIFeatureNotSupported      = "wamp.error.feature_not_supported"
)

// Standard WAMP v2 close reasons (GOODBYE.Reason, ABORT.Reason).
const (
	URICloseNormal         = "wamp.close.normal"
	URICloseRealm          = "wamp.close.close_realm"
	URIGoodbyeAndOut       = "wamp.close.goodbye_and_out"
	URISystemShutdown      = "wamp.close.system_shutdown"
	URICloseKilled         = "wamp.close.killed"
	URICloseSessionExpired = "wamp.close.session_expired"
)

// ValidURI reports whether uri is a WAMP URI with no empty component, by
// the spec's loose rule (components hold no '.', '#' or white space) or,
// when strict, its strict rule (components hold only 0-9, a-z and '_').
// The loose rule accepts herald's v1 style topics such as "acme/chat/42".
func ValidURI(uri string, strict bool) bool {
	return validURI(uri, strict, false, false)
}

// ValidPattern reports whether pattern is valid as the topic or procedure
// of a subscription or registration with the given match policy: an exact
// one must be a ValidURI; a prefix may end with an empty component
// ("com.myapp." or ""); a wildcard may have empty components anywhere
// ("com..update"). The rules are those of the spec's regular expressions
// for empty components, as nexus and autobahn apply them.
func ValidPattern(pattern string, match MatchPolicy, strict bool) bool {
	switch match {
	case MatchPolicyPrefix:
		return validURI(pattern, strict, false, true)
	case MatchPolicyWildcard:
		return validURI(pattern, strict, true, true)
	}
	return validURI(pattern, strict, false, false)
}

// validURI checks the components of uri. anyEmpty allows empty components
// anywhere, lastEmpty only as the last one.
func validURI(uri string, strict, anyEmpty, lastEmpty bool) bool {
	for {
		comp, rest, more := strings.Cut(uri, ".")
		if comp == "" && !anyEmpty && (more || !lastEmpty) {
			return false
		}
		if !validComponent(comp, strict) {
			return false
		}
		if !more {
			return true
		}
		uri = rest
	}
}

func validComponent(c string, strict bool) bool {
	for i := 0; i < len(c); {
		b := c[i]
		if strict {
			if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b == '_') {
				return false
			}
			i++
			continue
		}
		if b < utf8.RuneSelf {
			// White space as Python's \s (autobahn's rule): ' ', \t to \r
			// and \x1c to \x1f.
			if b == '#' || b == ' ' || (b >= '\t' && b <= '\r') || (b >= 0x1c && b <= 0x1f) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(c[i:])
		if unicode.IsSpace(r) {
			return false
		}
		i += size
	}
	return true
}

// ReservedURI reports whether uri is in the namespace the spec reserves
// for WAMP itself: its first component is "wamp". Clients must not
// register or publish there.
func ReservedURI(uri string) bool {
	return uri == "wamp" || strings.HasPrefix(uri, "wamp.")
}

// MatchPolicy is how the URI of a subscription or registration matches:
// the SUBSCRIBE or REGISTER option "match".
type MatchPolicy uint8

const (
	// MatchPolicyExact matches one URI; it is the default.
	MatchPolicyExact MatchPolicy = iota
	// MatchPolicyPrefix matches every URI that starts with the pattern,
	// as a string: "com.myapp.topic.emerg" matches
	// "com.myapp.topic.emergency.11".
	MatchPolicyPrefix
	// MatchPolicyWildcard matches the URIs with as many components as the
	// pattern and equal to it in each non-empty one: see MatchWildcard.
	MatchPolicyWildcard
)

// String returns the option value: "exact", "prefix" or "wildcard".
func (p MatchPolicy) String() string {
	switch p {
	case MatchPolicyPrefix:
		return "prefix"
	case MatchPolicyWildcard:
		return "wildcard"
	}
	return "exact"
}

// Match reports whether uri matches pattern under the policy.
func (p MatchPolicy) Match(pattern, uri string) bool {
	switch p {
	case MatchPolicyPrefix:
		return strings.HasPrefix(uri, pattern)
	case MatchPolicyWildcard:
		return MatchWildcard(pattern, uri)
	}
	return pattern == uri
}

// MatchWildcard reports whether uri matches the wildcard pattern: both
// have the same number of '.'-separated components, and each non-empty
// component of the pattern equals the uri's ("com..update" matches
// "com.a.update", not "com.a.b.update"). It allocates nothing.
func MatchWildcard(pattern, uri string) bool {
	for {
		pc, prest, pmore := strings.Cut(pattern, ".")
		uc, urest, umore := strings.Cut(uri, ".")
		if pmore != umore || (pc != "" && pc != uc) {
			return false
		}
		if !pmore {
			return true
		}
		pattern, uri = prest, urest
	}
}
