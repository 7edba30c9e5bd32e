package wamp

import "encoding/json"

// Payload is the application payload of a v2 PUBLISH, EVENT, CALL,
// RESULT, INVOCATION, YIELD or ERROR: the positional and keyword
// arguments, each raw JSON.
//
// The v2 codecs write Args when either field is set (nil Args as []) and
// Kwargs when it is set, so the zero Payload is "no payload". Decoding
// leaves a field nil when the message did not carry it, and keeps an
// empty [] or {} that was sent. A null in either place (nexus writes nil
// arguments as null when it sends keyword arguments) reads as absent,
// except a null Arguments before a dict ArgumentsKw, which reads as [].
// The JSON codec copies both fields as they are; the binary codecs
// transcode them.
type Payload struct {
	// Args is a JSON array, or nil.
	Args json.RawMessage
	// Kwargs is a JSON object, or nil.
	Kwargs json.RawMessage
}

// PayloadOfV1 maps a v1 event (one JSON value) to the v2 payload a v2
// subscriber receives: positional arguments [event]. An empty event reads
// as null.
func PayloadOfV1(event json.RawMessage) Payload {
	args := make([]byte, 0, len(event)+2)
	args = append(args, '[')
	args = appendRaw(args, event)
	return Payload{Args: append(args, ']')}
}

// V1Event maps the payload to the single JSON value a v1 subscriber
// receives: the first positional argument when there is one (any others
// are dropped), else Kwargs when it has at least one member, else null.
// The result shares memory with the payload; nothing is re-encoded.
func (p Payload) V1Event() json.RawMessage {
	if first, ok := firstElement(p.Args); ok {
		return first
	}
	if i := skipWS(p.Kwargs, 0); i < len(p.Kwargs) && p.Kwargs[i] == '{' {
		if j := skipWS(p.Kwargs, i+1); j < len(p.Kwargs) && p.Kwargs[j] != '}' {
			return p.Kwargs
		}
	}
	return json.RawMessage("null")
}

// SingleArg returns the payload's only positional argument when it is
// exactly one and no keyword argument is set: the payloads a v1 event
// carries whole (PayloadOfV1's). It shares memory with the payload.
func (p Payload) SingleArg() (json.RawMessage, bool) {
	if i := skipWS(p.Kwargs, 0); i < len(p.Kwargs) && p.Kwargs[i] == '{' {
		if j := skipWS(p.Kwargs, i+1); j < len(p.Kwargs) && p.Kwargs[j] != '}' {
			return nil, false
		}
	}
	start, end, ok := firstElementAt(p.Args)
	if !ok {
		return nil, false
	}
	if i := skipWS(p.Args, end); i >= len(p.Args) || p.Args[i] != ']' {
		return nil, false // more than one
	}
	return p.Args[start:end:end], true
}

// IsZero reports whether the payload carries neither Args nor Kwargs.
func (p Payload) IsZero() bool { return len(p.Args) == 0 && len(p.Kwargs) == 0 }

// firstElement returns the first element of the JSON array args.
func firstElement(args []byte) ([]byte, bool) {
	start, end, ok := firstElementAt(args)
	if !ok {
		return nil, false
	}
	return args[start:end:end], true
}

// firstElementAt returns where the first element of the JSON array args
// starts and ends.
func firstElementAt(args []byte) (start, end int, ok bool) {
	i := skipWS(args, 0)
	if i >= len(args) || args[i] != '[' {
		return 0, 0, false
	}
	i = skipWS(args, i+1)
	if i >= len(args) || args[i] == ']' {
		return 0, 0, false
	}
	end, err := scanValue(args, i, 1)
	if err != nil {
		return 0, 0, false
	}
	return i, end, true
}
