package wamp

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"
)

// ErrInvalidOption is wrapped by the errors of the option parsers: a
// known option of an Options or Details dict has a value of the wrong
// type or outside its range. Unknown options are ignored, as the spec
// requires. A router answers with ERROR(wamp.error.invalid_argument), or
// for HELLO with ABORT.
var ErrInvalidOption = errors.New("wamp: invalid option")

// OptionError describes an invalid option. It wraps ErrInvalidOption.
type OptionError struct {
	// Key is the option's path in the dict, such as "exclude_me" or
	// "roles.caller".
	Key string
	// Reason says what is wrong, such as "must be a bool".
	Reason string
}

// Error implements error.
func (e *OptionError) Error() string {
	return ErrInvalidOption.Error() + " " + e.Key + ": " + e.Reason
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

func optErr(key, reason string) error { return &OptionError{Key: key, Reason: reason} }

// members calls fn with each key and value of the JSON object obj; an
// empty obj has none. Keys are unescaped; both share obj's memory when
// they can.
func members(obj []byte, what string, fn func(key, val []byte) error) error {
	i := skipWS(obj, 0)
	if i == len(obj) {
		return nil
	}
	if obj[i] != '{' {
		return optErr(what, "must be a dict")
	}
	end, err := scanValue(obj, i, 0)
	if err != nil || skipWS(obj, end) != len(obj) {
		return optErr(what, "is not valid JSON")
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] != '}' {
		kend, escaped, _ := scanString(obj, i)
		key := obj[i+1 : kend-1]
		if escaped {
			key = appendUnescaped(nil, obj[i:kend])
		}
		i = skipWS(obj, skipWS(obj, kend)+1) // past ':'
		vend, _ := scanValue(obj, i, 1)
		if err := fn(key, obj[i:vend]); err != nil {
			return err
		}
		i = skipWS(obj, vend)
		if obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
	return nil
}

// elements calls fn with each element of the checked JSON list list.
func elements(list []byte, fn func(val []byte) error) error {
	i := skipWS(list, 1)
	for i < len(list) && list[i] != ']' {
		end, _ := scanValue(list, i, 1)
		if err := fn(list[i:end]); err != nil {
			return err
		}
		i = skipWS(list, end)
		if list[i] == ',' {
			i = skipWS(list, i+1)
		}
	}
	return nil
}

func optBool(key string, val []byte) (bool, error) {
	switch string(val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, optErr(key, "must be a bool")
}

func optString(key string, val []byte) (string, error) {
	if val[0] != '"' {
		return "", optErr(key, "must be a string")
	}
	end, escaped, _ := scanString(val, 0)
	return unquote(val[:end], escaped), nil
}

func optID(key string, val []byte) (uint64, error) {
	end, isInt, err := scanNumber(val, 0)
	if err != nil || !isInt || end != len(val) || val[0] == '-' {
		return 0, optErr(key, "must be an id")
	}
	u, ok := parseUint(val)
	if !ok || u < 1 || u > MaxID {
		return 0, optErr(key, "id out of range [1, 2^53]")
	}
	return u, nil
}

func optIDs(key string, val []byte) ([]uint64, error) {
	if val[0] != '[' {
		return nil, optErr(key, "must be a list of ids")
	}
	out := []uint64{}
	err := elements(val, func(v []byte) error {
		id, err := optID(key, v)
		out = append(out, id)
		return err
	})
	return out, err
}

func optStrings(key string, val []byte) ([]string, error) {
	if val[0] != '[' {
		return nil, optErr(key, "must be a list of strings")
	}
	out := []string{}
	err := elements(val, func(v []byte) error {
		s, err := optString(key, v)
		if err != nil {
			return optErr(key, "must be a list of strings")
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func optMatch(key string, val []byte) (MatchPolicy, error) {
	s, err := optString(key, val)
	if err != nil {
		return 0, err
	}
	switch s {
	case "exact":
		return MatchPolicyExact, nil
	case "prefix":
		return MatchPolicyPrefix, nil
	case "wildcard":
		return MatchPolicyWildcard, nil
	}
	return 0, optErr(key, strconv.Quote(s)+" is not exact, prefix or wildcard")
}

// optMillis reads a non-negative number of milliseconds.
func optMillis(key string, val []byte) (time.Duration, error) {
	end, _, err := scanNumber(val, 0)
	if err != nil || end != len(val) || val[0] == '-' {
		return 0, optErr(key, "must be a non-negative number of milliseconds")
	}
	ms, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(val), len(val)), 64)
	if err != nil || ms*float64(time.Millisecond) >= math.MaxInt64 {
		return 0, optErr(key, "out of range")
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// PublishOptions are the PUBLISH options herald honours.
type PublishOptions struct {
	// Acknowledge asks for a PUBLISHED answer ("acknowledge").
	Acknowledge bool
	// ExcludeMe ("exclude_me") keeps the event from the publisher; it
	// defaults to true.
	ExcludeMe bool
	// Exclude ("exclude") lists session ids that must not receive the
	// event.
	Exclude []uint64
	// Eligible ("eligible"), when not nil, lists the only session ids that
	// may receive it; an empty non-nil list admits nobody.
	Eligible []uint64
	// ExcludeAuthID and ExcludeAuthRole ("exclude_authid",
	// "exclude_authrole") exclude sessions by authid and authrole.
	ExcludeAuthID, ExcludeAuthRole []string
	// EligibleAuthID and EligibleAuthRole ("eligible_authid",
	// "eligible_authrole"), when not nil, admit only those sessions.
	EligibleAuthID, EligibleAuthRole []string
	// DiscloseMe ("disclose_me") asks that subscribers learn who
	// published.
	DiscloseMe bool
}

// ParsePublishOptions reads PUBLISH.Options. An empty opts gives the
// defaults. Errors are *OptionError.
func ParsePublishOptions(opts json.RawMessage) (PublishOptions, error) {
	o := PublishOptions{ExcludeMe: true}
	err := members(opts, "Options", func(k, v []byte) error {
		var err error
		switch key := string(k); key {
		case "acknowledge":
			o.Acknowledge, err = optBool(key, v)
		case "exclude_me":
			o.ExcludeMe, err = optBool(key, v)
		case "disclose_me":
			o.DiscloseMe, err = optBool(key, v)
		case "exclude":
			o.Exclude, err = optIDs(key, v)
		case "eligible":
			o.Eligible, err = optIDs(key, v)
		case "exclude_authid":
			o.ExcludeAuthID, err = optStrings(key, v)
		case "exclude_authrole":
			o.ExcludeAuthRole, err = optStrings(key, v)
		case "eligible_authid":
			o.EligibleAuthID, err = optStrings(key, v)
		case "eligible_authrole":
			o.EligibleAuthRole, err = optStrings(key, v)
		}
		return err
	})
	return o, err
}

// Admits reports whether the options let a subscriber session receive
// the event of publisher: the subscriber must be on every eligible list
// given and on no exclude list, and not be the publisher when ExcludeMe
// is set.
func (o *PublishOptions) Admits(publisher, session uint64, authid, authrole string) bool {
	if o.ExcludeMe && session == publisher {
		return false
	}
	if slices.Contains(o.Exclude, session) || slices.Contains(o.ExcludeAuthID, authid) ||
		slices.Contains(o.ExcludeAuthRole, authrole) {
		return false
	}
	if o.Eligible != nil && !slices.Contains(o.Eligible, session) {
		return false
	}
	if o.EligibleAuthID != nil && !slices.Contains(o.EligibleAuthID, authid) {
		return false
	}
	return o.EligibleAuthRole == nil || slices.Contains(o.EligibleAuthRole, authrole)
}

// SubscribeOptions are the SUBSCRIBE options herald honours.
type SubscribeOptions struct {
	// Match ("match") is the topic's match policy; exact by default.
	Match MatchPolicy
}

// ParseSubscribeOptions reads SUBSCRIBE.Options. Errors are
// *OptionError.
func ParseSubscribeOptions(opts json.RawMessage) (SubscribeOptions, error) {
	var o SubscribeOptions
	err := members(opts, "Options", func(k, v []byte) error {
		var err error
		if key := string(k); key == "match" {
			o.Match, err = optMatch(key, v)
		}
		return err
	})
	return o, err
}

// CallOptions are the CALL options herald honours.
type CallOptions struct {
	// Timeout ("timeout", in milliseconds) bounds the call; zero means
	// none.
	Timeout time.Duration
	// ReceiveProgress ("receive_progress") asks for progressive results.
	ReceiveProgress bool
	// DiscloseMe ("disclose_me") asks that the callee learn who called.
	DiscloseMe bool
}

// ParseCallOptions reads CALL.Options. Errors are *OptionError.
func ParseCallOptions(opts json.RawMessage) (CallOptions, error) {
	var o CallOptions
	err := members(opts, "Options", func(k, v []byte) error {
		var err error
		switch key := string(k); key {
		case "timeout":
			o.Timeout, err = optMillis(key, v)
		case "receive_progress":
			o.ReceiveProgress, err = optBool(key, v)
		case "disclose_me":
			o.DiscloseMe, err = optBool(key, v)
		}
		return err
	})
	return o, err
}

// InvokePolicy is how a dealer picks the callee of a shared registration:
// the REGISTER option "invoke".
type InvokePolicy uint8

const (
	// InvokeSingle allows one callee per procedure; it is the default.
	InvokeSingle InvokePolicy = iota
	// InvokeRoundRobin takes the callees in turn.
	InvokeRoundRobin
	// InvokeRandom picks one at random.
	InvokeRandom
	// InvokeFirst picks the callee that registered first.
	InvokeFirst
	// InvokeLast picks the callee that registered last.
	InvokeLast
)

var invokeNames = [...]string{"single", "roundrobin", "random", "first", "last"}

// String returns the option value, such as "roundrobin".
func (p InvokePolicy) String() string {
	if int(p) < len(invokeNames) {
		return invokeNames[p]
	}
	return "InvokePolicy(" + strconv.Itoa(int(p)) + ")"
}

// RegisterOptions are the REGISTER options herald honours.
type RegisterOptions struct {
	// Match ("match") is the procedure's match policy; exact by default.
	Match MatchPolicy
	// Invoke ("invoke") is the shared registration policy; single by
	// default.
	Invoke InvokePolicy
	// DiscloseCaller ("disclose_caller") asks that the callee learn who
	// called.
	DiscloseCaller bool
}

// ParseRegisterOptions reads REGISTER.Options. Errors are *OptionError.
func ParseRegisterOptions(opts json.RawMessage) (RegisterOptions, error) {
	var o RegisterOptions
	err := members(opts, "Options", func(k, v []byte) error {
		var err error
		switch key := string(k); key {
		case "match":
			o.Match, err = optMatch(key, v)
		case "invoke":
			var s string
			if s, err = optString(key, v); err != nil {
				return err
			}
			i := slices.Index(invokeNames[:], s)
			if i < 0 {
				return optErr(key, strconv.Quote(s)+" is not single, roundrobin, random, first or last")
			}
			o.Invoke = InvokePolicy(i)
		case "disclose_caller":
			o.DiscloseCaller, err = optBool(key, v)
		}
		return err
	})
	return o, err
}

// YieldOptions are the YIELD options herald honours.
type YieldOptions struct {
	// Progress ("progress") marks a progressive result; more follow.
	Progress bool
}

// ParseYieldOptions reads YIELD.Options. Errors are *OptionError.
func ParseYieldOptions(opts json.RawMessage) (YieldOptions, error) {
	var o YieldOptions
	err := members(opts, "Options", func(k, v []byte) error {
		var err error
		if key := string(k); key == "progress" {
			o.Progress, err = optBool(key, v)
		}
		return err
	})
	return o, err
}

// CancelMode is how a dealer cancels a call: the CANCEL option "mode".
type CancelMode uint8

const (
	// CancelKillNoWait answers the caller at once and interrupts the
	// callee. It is the default when no mode is given, as in nexus.
	CancelKillNoWait CancelMode = iota
	// CancelKill interrupts the callee and answers the caller once the
	// callee has.
	CancelKill
	// CancelSkip answers the caller at once and leaves the callee alone.
	CancelSkip
)

var cancelNames = [...]string{"killnowait", "kill", "skip"}

// String returns the option value, such as "killnowait".
func (m CancelMode) String() string {
	if int(m) < len(cancelNames) {
		return cancelNames[m]
	}
	return "CancelMode(" + strconv.Itoa(int(m)) + ")"
}

// CancelOptions are the CANCEL options.
type CancelOptions struct {
	// Mode ("mode") defaults to CancelKillNoWait.
	Mode CancelMode
}

// ParseCancelOptions reads CANCEL.Options. Errors are *OptionError.
func ParseCancelOptions(opts json.RawMessage) (CancelOptions, error) {
	var o CancelOptions
	err := members(opts, "Options", func(k, v []byte) error {
		if key := string(k); key == "mode" {
			s, err := optString(key, v)
			if err != nil {
				return err
			}
			i := slices.Index(cancelNames[:], s)
			if i < 0 {
				return optErr(key, strconv.Quote(s)+" is not skip, kill or killnowait")
			}
			o.Mode = CancelMode(i)
		}
		return nil
	})
	return o, err
}

// Role names of HELLO.Details.roles and WELCOME.Details.roles.
const (
	RolePublisher  = "publisher"
	RoleSubscriber = "subscriber"
	RoleCaller     = "caller"
	RoleCallee     = "callee"
	RoleBroker     = "broker"
	RoleDealer     = "dealer"
)

// Feature names of roles.<role>.features.
const (
	FeaturePublisherExclusion          = "publisher_exclusion"
	FeaturePublisherIdentification     = "publisher_identification"
	FeatureSubscriberBlackWhiteListing = "subscriber_blackwhite_listing"
	FeaturePatternBasedSubscription    = "pattern_based_subscription"
	FeatureSubscriptionRevocation      = "subscription_revocation"
	FeatureCallerIdentification        = "caller_identification"
	FeatureProgressiveCallResults      = "progressive_call_results"
	FeatureCallCanceling               = "call_canceling"
	FeatureCallTimeout                 = "call_timeout"
	FeaturePatternBasedRegistration    = "pattern_based_registration"
	FeatureSharedRegistration          = "shared_registration"
	FeatureRegistrationRevocation      = "registration_revocation"
)

// Authentication methods.
const (
	AuthAnonymous = "anonymous"
	AuthTicket    = "ticket"
	AuthWAMPCRA   = "wampcra"
)

// HelloDetails are the HELLO details herald reads.
type HelloDetails struct {
	// Roles maps each role the client announced ("publisher",
	// "subscriber", "caller", "callee", or others) to the features it
	// announced as true for it.
	Roles map[string]Features
	// AuthMethods ("authmethods") lists the authentication methods the
	// client offers, in its order of preference.
	AuthMethods []string
	// AuthID ("authid") is the identity the client claims.
	AuthID string
	// AuthExtra ("authextra") is a raw JSON dict, or nil.
	AuthExtra json.RawMessage
	// Agent ("agent") names the client software.
	Agent string
}

// Features is a set of feature names.
type Features map[string]bool

// Has reports whether the client announced role.
func (d *HelloDetails) Has(role string) bool {
	_, ok := d.Roles[role]
	return ok
}

// Feature reports whether the client announced feature for role.
func (d *HelloDetails) Feature(role, feature string) bool { return d.Roles[role][feature] }

// ParseHelloDetails reads HELLO.Details. The spec requires at least one
// role. Feature values other than true are read as not announced.
// Errors are *OptionError.
func ParseHelloDetails(details json.RawMessage) (HelloDetails, error) {
	var d HelloDetails
	err := members(details, "Details", func(k, v []byte) error {
		var err error
		switch key := string(k); key {
		case "roles":
			d.Roles, err = parseRoles(v)
		case "authmethods":
			d.AuthMethods, err = optStrings(key, v)
		case "authid":
			d.AuthID, err = optString(key, v)
		case "agent":
			d.Agent, err = optString(key, v)
		case "authextra":
			if v[0] != '{' {
				return optErr(key, "must be a dict")
			}
			d.AuthExtra = v
		}
		return err
	})
	if err == nil && len(d.Roles) == 0 {
		err = optErr("roles", "must announce at least one role")
	}
	return d, err
}

func parseRoles(v []byte) (map[string]Features, error) {
	if v[0] != '{' {
		return nil, optErr("roles", "must be a dict")
	}
	roles := map[string]Features{}
	err := members(v, "roles", func(role, rv []byte) error {
		name := string(role)
		if rv[0] != '{' {
			return optErr("roles."+name, "must be a dict")
		}
		features := Features{}
		err := members(rv, "roles."+name, func(k, fv []byte) error {
			if string(k) != "features" {
				return nil
			}
			if fv[0] != '{' {
				return optErr("roles."+name+".features", "must be a dict")
			}
			return members(fv, "roles."+name+".features", func(f, b []byte) error {
				if string(b) == "true" {
					features[string(f)] = true
				}
				return nil
			})
		})
		roles[name] = features
		return err
	})
	return roles, err
}
