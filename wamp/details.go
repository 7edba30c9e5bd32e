package wamp

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// obj writes a JSON object member by member.
type obj struct {
	dst []byte
	n   int
}

func (o *obj) key(k string) {
	if o.n == 0 {
		o.dst = append(o.dst, '{')
	} else {
		o.dst = append(o.dst, ',')
	}
	o.n++
	o.dst = AppendString(o.dst, k)
	o.dst = append(o.dst, ':')
}

func (o *obj) str(k, v string) {
	if v != "" {
		o.key(k)
		o.dst = AppendString(o.dst, v)
	}
}

func (o *obj) uint(k string, v uint64) {
	if v != 0 {
		o.key(k)
		o.dst = strconv.AppendUint(o.dst, v, 10)
	}
}

func (o *obj) flag(k string, v bool) {
	if v {
		o.key(k)
		o.dst = append(o.dst, "true"...)
	}
}

func (o *obj) raw(k string, v json.RawMessage) {
	if len(v) != 0 {
		o.key(k)
		o.dst = append(o.dst, v...)
	}
}

func (o *obj) end() []byte {
	if o.n == 0 {
		return append(o.dst, "{}"...)
	}
	return append(o.dst, '}')
}

// MessageDetails returns the Details dict {"message": message} of an
// ABORT, GOODBYE or ERROR that explains itself; {} when message is empty.
func MessageDetails(message string) json.RawMessage {
	o := obj{}
	o.str("message", message)
	return o.end()
}

// WelcomeDetails builds WELCOME.Details.
type WelcomeDetails struct {
	// Roles maps the router's roles ("broker", "dealer") to the features
	// it announces for each, such as FeaturePublisherExclusion.
	Roles map[string][]string
	// AuthID, AuthRole, AuthMethod and AuthProvider describe how the
	// session was authenticated ("authid", "authrole", "authmethod",
	// "authprovider"); empty ones are left out.
	AuthID, AuthRole, AuthMethod, AuthProvider string
	// AuthExtra ("authextra") is a raw JSON dict, or nil.
	AuthExtra json.RawMessage
	// Agent ("agent") names the router, such as "herald/1.4.0".
	Agent string
}

// AppendJSON appends the details as a JSON object: roles in name order,
// each with its features (true) in the order given.
func (d *WelcomeDetails) AppendJSON(dst []byte) []byte {
	o := obj{dst: dst}
	o.str("agent", d.Agent)
	o.key("roles")
	o.dst = append(o.dst, '{')
	names := make([]string, 0, len(d.Roles))
	for name := range d.Roles {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		if i > 0 {
			o.dst = append(o.dst, ',')
		}
		o.dst = AppendString(o.dst, name)
		o.dst = append(o.dst, `:{"features":{`...)
		for j, f := range d.Roles[name] {
			if j > 0 {
				o.dst = append(o.dst, ',')
			}
			o.dst = AppendString(o.dst, f)
			o.dst = append(o.dst, ":true"...)
		}
		o.dst = append(o.dst, "}}"...)
	}
	o.dst = append(o.dst, '}')
	o.str("authid", d.AuthID)
	o.str("authrole", d.AuthRole)
	o.str("authmethod", d.AuthMethod)
	o.str("authprovider", d.AuthProvider)
	o.raw("authextra", d.AuthExtra)
	return o.end()
}

// JSON returns the details as a JSON object.
func (d *WelcomeDetails) JSON() json.RawMessage { return d.AppendJSON(nil) }

// EventDetails builds EVENT.Details. Zero fields are left out, so the
// zero value is {}.
type EventDetails struct {
	// Publisher ("publisher") is the publisher's session id, disclosed
	// when it asked for disclose_me.
	Publisher uint64
	// PublisherAuthID and PublisherAuthRole ("publisher_authid",
	// "publisher_authrole") go with Publisher.
	PublisherAuthID, PublisherAuthRole string
	// Topic ("topic") is the publication's topic, which the spec requires
	// on events delivered on prefix and wildcard subscriptions.
	Topic string
}

// AppendJSON appends the details as a JSON object. It allocates nothing
// beyond the growth of dst.
func (d *EventDetails) AppendJSON(dst []byte) []byte {
	o := obj{dst: dst}
	o.uint("publisher", d.Publisher)
	o.str("publisher_authid", d.PublisherAuthID)
	o.str("publisher_authrole", d.PublisherAuthRole)
	o.str("topic", d.Topic)
	return o.end()
}

// JSON returns the details as a JSON object.
func (d *EventDetails) JSON() json.RawMessage { return d.AppendJSON(nil) }

// InvocationDetails builds INVOCATION.Details. Zero fields are left out.
type InvocationDetails struct {
	// Caller ("caller") is the caller's session id, when disclosed.
	Caller uint64
	// CallerAuthID and CallerAuthRole ("caller_authid",
	// "caller_authrole") go with Caller.
	CallerAuthID, CallerAuthRole string
	// Procedure ("procedure") is the called URI, required for calls
	// routed by a prefix or wildcard registration.
	Procedure string
	// ReceiveProgress ("receive_progress") tells the callee it may yield
	// progressive results.
	ReceiveProgress bool
	// Timeout ("timeout", whole milliseconds) is the caller's timeout.
	Timeout time.Duration
}

// AppendJSON appends the details as a JSON object.
func (d *InvocationDetails) AppendJSON(dst []byte) []byte {
	o := obj{dst: dst}
	o.uint("caller", d.Caller)
	o.str("caller_authid", d.CallerAuthID)
	o.str("caller_authrole", d.CallerAuthRole)
	o.str("procedure", d.Procedure)
	o.flag("receive_progress", d.ReceiveProgress)
	if ms := d.Timeout.Milliseconds(); ms > 0 {
		o.uint("timeout", uint64(ms))
	}
	return o.end()
}

// JSON returns the details as a JSON object.
func (d *InvocationDetails) JSON() json.RawMessage { return d.AppendJSON(nil) }

// ResultDetails builds RESULT.Details.
type ResultDetails struct {
	// Progress ("progress") marks a progressive result.
	Progress bool
}

// AppendJSON appends the details as a JSON object.
func (d *ResultDetails) AppendJSON(dst []byte) []byte {
	o := obj{dst: dst}
	o.flag("progress", d.Progress)
	return o.end()
}

// JSON returns the details as a JSON object.
func (d *ResultDetails) JSON() json.RawMessage { return d.AppendJSON(nil) }
