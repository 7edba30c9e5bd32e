package wamp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WAMP v1 message type ids.
const (
	V1Welcome     = 0
	V1Prefix      = 1
	V1Call        = 2
	V1CallResult  = 3
	V1CallError   = 4
	V1Subscribe   = 5
	V1Unsubscribe = 6
	V1Publish     = 7
	V1Event       = 8
)

// V1Subprotocol is the WebSocket subprotocol of WAMP v1.
const V1Subprotocol = "wamp"

// V1 is the WAMP v1 codec, following Ratchet 0.4's ServerProtocol to the
// letter where clients can tell the difference:
//
//   - a message is a JSON list; anything else is invalid;
//   - the element at index 1, when present and not null, must be a string
//     or a number (numbers are used as their JSON text);
//   - the type id is matched as PHP's loose switch does, so 5, 5.0 and "5"
//     are all SUBSCRIBE;
//   - PUBLISH's fourth element is either a list of session ids to exclude or
//     a value whose PHP truthiness means "exclude me"; the fifth, a list of
//     eligible session ids. Elements of those lists that are neither strings
//     nor numbers are ignored (PHP would compare them loosely);
//   - a WELCOME is never exactly 91 bytes long: 91 is '[' and the PHP
//     clients search the handshake bytes for the first '['. Longer WELCOMEs
//     are likewise padded so that no byte of their extended frame length
//     is '[' (347 bytes is 0x015B, for instance).
//
// V1 is stateless and safe for concurrent use. CURIE resolution (PREFIX) is
// session state: see Prefixes.
type V1 struct{}

var _ Codec = V1{}

// Subprotocol implements Codec.
func (V1) Subprotocol() string { return V1Subprotocol }

// Binary implements Codec: v1 messages are JSON in text frames.
func (V1) Binary() bool { return false }

// Decode implements Codec.
func (V1) Decode(data []byte) (Message, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		if !json.Valid(data) {
			return nil, invalid("not JSON")
		}
		return nil, invalid("not a JSON list")
	}
	if parts == nil {
		return nil, invalid("not a JSON list")
	}
	if len(parts) == 0 {
		return nil, invalid("empty list")
	}
	if len(parts) > 1 && !isNull(parts[1]) && !isStringOrNumber(parts[1]) {
		return nil, invalid("element 1 must be a string or a number")
	}
	typ, ok := typeID(parts[0])
	if !ok {
		return nil, invalid("unknown message type %s", truncate(parts[0]))
	}
	switch typ {
	case V1Welcome:
		if len(parts) < 4 {
			return nil, invalid("WELCOME needs 4 elements")
		}
		sid, err := uriArg(parts, 1, "session id")
		if err != nil {
			return nil, err
		}
		ident, _ := stringArg(parts[3])
		return &Welcome{SessionID: sid, ServerIdent: ident}, nil
	case V1Prefix:
		prefix, err := uriArg(parts, 1, "prefix")
		if err != nil {
			return nil, err
		}
		uri, err := uriArg(parts, 2, "prefix URI")
		if err != nil {
			return nil, err
		}
		return &Prefix{Prefix: prefix, URI: uri}, nil
	case V1Call:
		if len(parts) < 2 || isNull(parts[1]) {
			return nil, invalid("CALL needs a call id")
		}
		proc, err := uriArg(parts, 2, "procedure URI")
		if err != nil {
			return nil, err
		}
		return &Call{CallID: parts[1], Procedure: proc, Args: parts[3:]}, nil
	case V1CallResult:
		if len(parts) < 3 {
			return nil, invalid("CALLRESULT needs 3 elements")
		}
		return &CallResult{CallID: parts[1], Result: parts[2]}, nil
	case V1CallError:
		if len(parts) < 4 {
			return nil, invalid("CALLERROR needs at least 4 elements")
		}
		uri, err := uriArg(parts, 2, "error URI")
		if err != nil {
			return nil, err
		}
		desc, _ := stringArg(parts[3])
		m := &CallError{CallID: parts[1], ErrorURI: uri, Description: desc}
		if len(parts) > 4 {
			m.Details = parts[4]
		}
		return m, nil
	case V1Subscribe, V1Unsubscribe:
		topic, err := uriArg(parts, 1, "topic")
		if err != nil {
			return nil, err
		}
		if typ == V1Subscribe {
			return &Subscribe{Topic: topic}, nil
		}
		return &Unsubscribe{Topic: topic}, nil
	case V1Publish:
		return decodePublish(parts)
	case V1Event:
		topic, err := uriArg(parts, 1, "topic")
		if err != nil {
			return nil, err
		}
		if len(parts) < 3 {
			return nil, invalid("EVENT needs an event")
		}
		return &Event{Topic: topic, Event: parts[2]}, nil
	}
	return nil, invalid("unknown message type %d", typ)
}

func decodePublish(parts []json.RawMessage) (Message, error) {
	topic, err := uriArg(parts, 1, "topic")
	if err != nil {
		return nil, err
	}
	if len(parts) < 3 {
		return nil, invalid("PUBLISH needs an event")
	}
	m := &Publish{Topic: topic, Event: parts[2]}
	if len(parts) > 3 {
		switch firstByte(parts[3]) {
		case '[', '{':
			if m.Exclude, err = sessionList(parts[3]); err != nil {
				return nil, err
			}
		default:
			m.ExcludeMe = phpTruthy(parts[3])
		}
	}
	if len(parts) > 4 && !isNull(parts[4]) {
		switch firstByte(parts[4]) {
		case '[', '{':
			if m.Eligible, err = sessionList(parts[4]); err != nil {
				return nil, err
			}
		default:
			return nil, invalid("PUBLISH eligible must be a list")
		}
	}
	return m, nil
}

// Append implements Codec.
func (V1) Append(dst []byte, m Message) ([]byte, error) {
	switch m := m.(type) {
	case *Event:
		dst = append(dst, "[8,"...)
		dst = AppendString(dst, m.Topic)
		dst = append(dst, ',')
		dst = appendRaw(dst, m.Event)
		return append(dst, ']'), nil
	case *Welcome:
		start := len(dst)
		dst = append(dst, "[0,"...)
		dst = AppendString(dst, m.SessionID)
		dst = append(dst, ",1,"...)
		dst = AppendString(dst, m.ServerIdent)
		// Pad before the closing ']' until no byte of the frame header
		// that will carry the message is '[' (see the V1 doc).
		pad := 0
		for frameHeaderHasBracket(len(dst) - start + 1 + pad) {
			pad++
		}
		for range pad {
			dst = append(dst, ' ')
		}
		return append(dst, ']'), nil
	case *CallResult:
		dst = append(dst, "[3,"...)
		dst = appendRaw(dst, m.CallID)
		dst = append(dst, ',')
		dst = appendRaw(dst, m.Result)
		return append(dst, ']'), nil
	case *CallError:
		dst = append(dst, "[4,"...)
		dst = appendRaw(dst, m.CallID)
		dst = append(dst, ',')
		dst = AppendString(dst, m.ErrorURI)
		dst = append(dst, ',')
		dst = AppendString(dst, m.Description)
		if len(m.Details) > 0 {
			dst = append(dst, ',')
			dst = append(dst, m.Details...)
		}
		return append(dst, ']'), nil
	case *Prefix:
		dst = append(dst, "[1,"...)
		dst = AppendString(dst, m.Prefix)
		dst = append(dst, ',')
		dst = AppendString(dst, m.URI)
		return append(dst, ']'), nil
	case *Call:
		dst = append(dst, "[2,"...)
		dst = appendRaw(dst, m.CallID)
		dst = append(dst, ',')
		dst = AppendString(dst, m.Procedure)
		for _, a := range m.Args {
			dst = append(dst, ',')
			dst = appendRaw(dst, a)
		}
		return append(dst, ']'), nil
	case *Subscribe:
		dst = append(dst, "[5,"...)
		dst = AppendString(dst, m.Topic)
		return append(dst, ']'), nil
	case *Unsubscribe:
		dst = append(dst, "[6,"...)
		dst = AppendString(dst, m.Topic)
		return append(dst, ']'), nil
	case *Publish:
		dst = append(dst, "[7,"...)
		dst = AppendString(dst, m.Topic)
		dst = append(dst, ',')
		dst = appendRaw(dst, m.Event)
		switch {
		case len(m.Exclude) > 0 || len(m.Eligible) > 0:
			if m.ExcludeMe {
				return nil, fmt.Errorf("wamp: ExcludeMe cannot be sent with Exclude or Eligible lists: add the session id to Exclude")
			}
			dst = append(dst, ',')
			dst = appendStrings(dst, m.Exclude)
			dst = append(dst, ',')
			dst = appendStrings(dst, m.Eligible)
		case m.ExcludeMe:
			dst = append(dst, ",true"...)
		}
		return append(dst, ']'), nil
	}
	return nil, fmt.Errorf("wamp: v1 cannot encode %T", m)
}

// AppendString appends s as a JSON string. Like encoding/json it escapes
// quotes, backslashes, control characters, U+2028 and U+2029, and replaces
// invalid UTF-8 with U+FFFD; unlike it, it leaves '<', '>' and '&' alone.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendStrings(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// appendRaw appends raw JSON, or null when it is empty.
func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

// frameHeaderHasBracket reports whether the header of an unmasked frame
// carrying n payload bytes contains '[' (0x5B).
func frameHeaderHasBracket(n int) bool {
	switch {
	case n < 126:
		return n == '['
	case n <= 0xFFFF:
		return byte(n>>8) == '[' || byte(n) == '['
	}
	for i := range 8 {
		if byte(uint64(n)>>(8*i)) == '[' {
			return true
		}
	}
	return false
}

// typeID reads a message type id the way PHP's loose switch compares it.
func typeID(raw json.RawMessage) (int, bool) {
	var text string
	if s, ok := stringArg(raw); ok {
		text = s
	} else if isNumber(raw) {
		text = string(raw)
	} else {
		return 0, false
	}
	f, ok := phpNumeric(text)
	if !ok || f != math.Trunc(f) || f < 0 || f > V1Event {
		return 0, false
	}
	return int(f), true
}

// phpNumeric parses s if it is a PHP 8 numeric string: optional
// whitespace, an optional sign, decimal digits with an optional point and
// an optional exponent, optional whitespace. Go-only syntax that
// strconv.ParseFloat also accepts ("0x5p0", "0_5", "Inf") is refused.
func phpNumeric(s string) (float64, bool) {
	s = strings.Trim(s, " \t\n\r\v\f")
	isDigit := func(i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; isDigit(i); i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; isDigit(i); i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !isDigit(i) {
			return 0, false
		}
		for isDigit(i) {
			i++
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// uriArg returns parts[i] as a URI: a string, or a number's JSON text.
func uriArg(parts []json.RawMessage, i int, what string) (string, error) {
	if i >= len(parts) {
		return "", invalid("missing %s", what)
	}
	if s, ok := stringArg(parts[i]); ok {
		return s, nil
	}
	if isNumber(parts[i]) {
		return string(bytes.TrimSpace(parts[i])), nil
	}
	return "", invalid("%s must be a string", what)
}

func stringArg(raw json.RawMessage) (string, bool) {
	if firstByte(raw) != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// sessionList reads a JSON list (or, as PHP would, an object's values) of
// session ids. Elements that are not strings or numbers are ignored.
func sessionList(raw json.RawMessage) ([]string, error) {
	var elems []json.RawMessage
	if firstByte(raw) == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, invalid("bad session list")
		}
		for _, v := range obj {
			elems = append(elems, v)
		}
	} else if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, invalid("bad session list")
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if s, ok := stringArg(e); ok {
			out = append(out, s)
		} else if isNumber(e) {
			out = append(out, string(bytes.TrimSpace(e)))
		}
	}
	return out, nil
}

// phpTruthy reports whether a scalar JSON value is true by PHP's rules:
// false, 0, 0.0, "", "0" and null are false; everything else is true.
func phpTruthy(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(t, []byte("false")), bytes.Equal(t, []byte("null")):
		return false
	case isNumber(t):
		f, err := strconv.ParseFloat(string(t), 64)
		return err != nil || f != 0
	}
	if s, ok := stringArg(t); ok {
		return s != "" && s != "0"
	}
	return true
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func isNumber(raw json.RawMessage) bool {
	b := firstByte(raw)
	return b == '-' || (b >= '0' && b <= '9')
}

func isStringOrNumber(raw json.RawMessage) bool {
	return firstByte(raw) == '"' || isNumber(raw)
}

func truncate(raw json.RawMessage) string {
	if len(raw) > 32 {
		return string(raw[:32]) + "…"
	}
	return string(raw)
}
