package bench

import (
	"encoding/binary"
	"math"
)

// mpScanner reads MessagePack by hand, without allocating, as scanner
// does JSON: just enough to find the fields the bench needs in a WAMP v2
// message (wamp.2.msgpack). Every read checks the bounds, so malformed or
// truncated input makes it report false, never panic.
type mpScanner struct {
	b []byte
	i int
}

// length reads the big-endian unsigned integer of n (1, 2 or 4) bytes
// that follows a header byte.
func (s *mpScanner) length(n int) (int, bool) {
	if len(s.b)-s.i < n {
		return 0, false
	}
	var v uint64
	switch n {
	case 1:
		v = uint64(s.b[s.i])
	case 2:
		v = uint64(binary.BigEndian.Uint16(s.b[s.i:]))
	default:
		v = uint64(binary.BigEndian.Uint32(s.b[s.i:]))
	}
	s.i += n
	if v > uint64(len(s.b)) { // more than the whole message could hold
		return 0, false
	}
	return int(v), true
}

// container reads an array (map false) or map (map true) header and
// returns its element (pair) count.
func (s *mpScanner) container(isMap bool) (int, bool) {
	if s.i >= len(s.b) {
		return 0, false
	}
	c := s.b[s.i]
	fix, b16, b32 := byte(0x90), byte(0xdc), byte(0xdd)
	if isMap {
		fix, b16, b32 = 0x80, 0xde, 0xdf
	}
	s.i++
	switch {
	case c&0xf0 == fix:
		return int(c & 0x0f), true
	case c == b16:
		return s.length(2)
	case c == b32:
		return s.length(4)
	}
	s.i--
	return 0, false
}

// array reads an array header and returns its element count.
func (s *mpScanner) array() (int, bool) { return s.container(false) }

// mapLen reads a map header and returns its pair count.
func (s *mpScanner) mapLen() (int, bool) { return s.container(true) }

// int reads an integer of any width as an int64; a float (what a server
// that went through float64 may send back) is truncated. An unsigned
// integer beyond math.MaxInt64, NaN and out-of-range floats fail.
func (s *mpScanner) int() (int64, bool) {
	if s.i >= len(s.b) {
		return 0, false
	}
	c := s.b[s.i]
	s.i++
	if c <= 0x7f { // positive fixint
		return int64(c), true
	}
	if c >= 0xe0 { // negative fixint
		return int64(int8(c)), true
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2, 0xca:
		size = 4
	case 0xcf, 0xd3, 0xcb:
		size = 8
	default:
		s.i--
		return 0, false
	}
	if len(s.b)-s.i < size {
		s.i--
		return 0, false
	}
	p := s.b[s.i : s.i+size]
	s.i += size
	switch c {
	case 0xcc:
		return int64(p[0]), true
	case 0xcd:
		return int64(binary.BigEndian.Uint16(p)), true
	case 0xce:
		return int64(binary.BigEndian.Uint32(p)), true
	case 0xcf:
		u := binary.BigEndian.Uint64(p)
		if u > math.MaxInt64 {
			return 0, false
		}
		return int64(u), true
	case 0xd0:
		return int64(int8(p[0])), true
	case 0xd1:
		return int64(int16(binary.BigEndian.Uint16(p))), true
	case 0xd2:
		return int64(int32(binary.BigEndian.Uint32(p))), true
	case 0xd3:
		return int64(binary.BigEndian.Uint64(p)), true
	case 0xca:
		return floatToInt(float64(math.Float32frombits(binary.BigEndian.Uint32(p))))
	}
	return floatToInt(math.Float64frombits(binary.BigEndian.Uint64(p)))
}

// floatToInt truncates f to an int64 when it is in range.
func floatToInt(f float64) (int64, bool) {
	if !(f >= math.MinInt64 && f < math.MaxInt64) { // NaN fails both
		return 0, false
	}
	return int64(f), true
}

// str reads a string and returns its bytes.
func (s *mpScanner) str() ([]byte, bool) {
	if s.i >= len(s.b) {
		return nil, false
	}
	c := s.b[s.i]
	s.i++
	var n int
	ok := true
	switch {
	case c&0xe0 == 0xa0: // fixstr
		n = int(c & 0x1f)
	case c == 0xd9:
		n, ok = s.length(1)
	case c == 0xda:
		n, ok = s.length(2)
	case c == 0xdb:
		n, ok = s.length(4)
	default:
		ok = false
	}
	if !ok || len(s.b)-s.i < n {
		s.i--
		return nil, false
	}
	p := s.b[s.i : s.i+n]
	s.i += n
	return p, true
}

// skip steps over one value of any kind, containers included, without
// recursion: it counts the values still to step over.
func (s *mpScanner) skip() bool {
	for pending := 1; pending > 0; pending-- {
		// Every value takes at least one byte: more pending values than
		// bytes left is a malformed message (and bounds pending).
		if pending > len(s.b)-s.i {
			return false
		}
		c := s.b[s.i]
		s.i++
		var n int // bytes of payload to step over
		ok := true
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixints, nil, false, true
		case c&0xf0 == 0x80: // fixmap
			pending += 2 * int(c&0x0f)
		case c&0xf0 == 0x90: // fixarray
			pending += int(c & 0x0f)
		case c&0xe0 == 0xa0: // fixstr
			n = int(c & 0x1f)
		case c == 0xc4, c == 0xd9: // bin 8, str 8
			n, ok = s.length(1)
		case c == 0xc5, c == 0xda: // bin 16, str 16
			n, ok = s.length(2)
		case c == 0xc6, c == 0xdb: // bin 32, str 32
			n, ok = s.length(4)
		case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8, 16, 32: length, type, data
			n, ok = s.length(1 << (c - 0xc7))
			n++
		case c == 0xcc, c == 0xd0:
			n = 1
		case c == 0xcd, c == 0xd1:
			n = 2
		case c == 0xce, c == 0xd2, c == 0xca:
			n = 4
		case c == 0xcf, c == 0xd3, c == 0xcb:
			n = 8
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16: type, data
			n = 1 + 1<<(c-0xd4)
		case c == 0xdc: // array 16
			n, ok = s.length(2)
			pending, n = pending+n, 0
		case c == 0xdd: // array 32
			n, ok = s.length(4)
			pending, n = pending+n, 0
		case c == 0xde: // map 16
			n, ok = s.length(2)
			pending, n = pending+2*n, 0
		case c == 0xdf: // map 32
			n, ok = s.length(4)
			pending, n = pending+2*n, 0
		default: // 0xc1, never used
			ok = false
		}
		if !ok || len(s.b)-s.i < n {
			return false
		}
		s.i += n
	}
	return true
}

// mpMessageType returns the type of the msgpack WAMP message p, the
// number of elements of its list (the type included) and a scanner
// positioned after the type; ok is false when p does not start like a
// WAMP message (a list whose first element is an integer).
func mpMessageType(p []byte) (typ int64, n int, s mpScanner, ok bool) {
	s = mpScanner{b: p}
	if n, ok = s.array(); !ok || n < 1 {
		return 0, 0, s, false
	}
	if typ, ok = s.int(); !ok {
		return 0, 0, s, false
	}
	return typ, n, s, true
}

// mpEventPayload reads the sequence number and the send time of the
// payload of an EVENT ([36,sub,pub,details,args…]) whose type and element
// count n mpMessageType read: args[0] must be a map holding "s" and "t"
// (see appendPayloadMsgPack).
func mpEventPayload(s mpScanner, n int) (seq, sent int64, ok bool) {
	if n < 5 {
		return 0, 0, false
	}
	if _, ok := s.int(); !ok { // subscription id
		return 0, 0, false
	}
	if _, ok := s.int(); !ok { // publication id
		return 0, 0, false
	}
	if !s.skip() { // details
		return 0, 0, false
	}
	if args, ok := s.array(); !ok || args < 1 {
		return 0, 0, false
	}
	return mpParsePayload(s)
}

// mpParsePayload reads "s" and "t" from the map at the scanner, in any
// key order, with any other keys; it stops as soon as both are found.
func mpParsePayload(s mpScanner) (seq, sent int64, ok bool) {
	pairs, ok := s.mapLen()
	if !ok {
		return 0, 0, false
	}
	got := 0
	for range pairs {
		key, ok := s.str()
		if !ok {
			return 0, 0, false
		}
		switch string(key) {
		case "s":
			if seq, ok = s.int(); !ok {
				return 0, 0, false
			}
			got |= 1
		case "t":
			if sent, ok = s.int(); !ok {
				return 0, 0, false
			}
			got |= 2
		default:
			if !s.skip() {
				return 0, 0, false
			}
		}
		if got == 3 {
			return seq, sent, true
		}
	}
	return 0, 0, false
}

// mpAnsweredRequest returns the request id a msgpack PUBLISHED
// ([17,req,pub]) or the ERROR answering a PUBLISH ([8,16,req,details,
// error…]) answers, given the type, the element count and the scanner
// mpMessageType returned; 0 when it answers none.
func mpAnsweredRequest(typ int64, n int, s mpScanner) uint64 {
	if typ == v2Error {
		if n < 5 {
			return 0
		}
		if t, ok := s.int(); !ok || t != v2Publish {
			return 0
		}
	} else if n < 3 {
		return 0
	}
	req, ok := s.int()
	if !ok || req <= 0 {
		return 0
	}
	return uint64(req)
}

// ---- encoding ------------------------------------------------------------

// mpAppendArray appends the header of an array of n elements.
func mpAppendArray(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
}

// mpAppendMap appends the header of a map of n pairs.
func mpAppendMap(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// mpStrHeaderLen is the size of the header of a string of n bytes.
func mpStrHeaderLen(n int) int {
	switch {
	case n < 32:
		return 1
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

// mpAppendStrHeader appends the header of a string of n bytes.
func mpAppendStrHeader(dst []byte, n int) []byte {
	switch mpStrHeaderLen(n) {
	case 1:
		return append(dst, 0xa0|byte(n))
	case 2:
		return append(dst, 0xd9, byte(n))
	case 3:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
}

// mpAppendStr appends s as a string.
func mpAppendStr(dst []byte, s string) []byte {
	return append(mpAppendStrHeader(dst, len(s)), s...)
}

// mpAppendInt appends v in the shortest form: unsigned when it is not
// negative, as herald's own encoder writes integers.
func mpAppendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		u := uint64(v)
		switch {
		case u <= 0x7f:
			return append(dst, byte(u))
		case u <= math.MaxUint8:
			return append(dst, 0xcc, byte(u))
		case u <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
		case u <= math.MaxUint32:
			return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
		}
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
	}
	switch {
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// mpAppendBool appends true or false.
func mpAppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// appendPayloadMsgPack appends the msgpack form of appendPayload's
// object: the map {"s": seq, "t": sent, "p": "xx…"}, the integers in
// their shortest form, padded with x so that the whole map is about size
// bytes (never less than the map without padding). It is what herald
// makes of the JSON object when it sends it to a msgpack subscriber.
func appendPayloadMsgPack(dst []byte, seq, sent int64, size int) []byte {
	start := len(dst)
	dst = mpAppendMap(dst, 3)
	dst = mpAppendStr(dst, "s")
	dst = mpAppendInt(dst, seq)
	dst = mpAppendStr(dst, "t")
	dst = mpAppendInt(dst, sent)
	dst = mpAppendStr(dst, "p")
	// The padding string and its header take the rest: the longest
	// padding that fits with its header (a string header grows at 32 and
	// 256 bytes, so the map may be a byte short of size).
	rest := size - (len(dst) - start)
	pad := max(rest-1, 0)
	for pad > 0 && mpStrHeaderLen(pad)+pad > rest {
		pad--
	}
	dst = mpAppendStrHeader(dst, pad)
	for range pad {
		dst = append(dst, 'x')
	}
	return dst
}
