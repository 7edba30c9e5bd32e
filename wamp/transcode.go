package wamp

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// binFormat is a binary serialization the model's JSON is transcoded to.
type binFormat uint8

const (
	fmtMsgPack binFormat = iota
	fmtCBOR
)

// Header kinds.
const (
	hdrArray = iota
	hdrMap
	hdrStr
	hdrBin
)

// placeholder is the space reserved for a header whose count is not known
// yet: the largest header either format needs for a count below 2^32.
const placeholder = 5

var strictBase64 = base64.StdEncoding.Strict()

var errNonFinite = errors.New("NaN and infinite numbers have no JSON form")

// appendHeader appends the header of an array, map, string or byte string
// of n elements (bytes).
func (f binFormat) appendHeader(dst []byte, kind int, n uint64) []byte {
	if f == fmtCBOR {
		major := [...]byte{hdrArray: 4, hdrMap: 5, hdrStr: 3, hdrBin: 2}[kind]
		return appendCBORHead(dst, major, n)
	}
	switch kind {
	case hdrArray, hdrMap:
		fix, b16, b32 := byte(0x90), byte(0xdc), byte(0xdd)
		if kind == hdrMap {
			fix, b16, b32 = 0x80, 0xde, 0xdf
		}
		switch {
		case n < 16:
			return append(dst, fix|byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, b16), uint16(n))
		}
		return binary.BigEndian.AppendUint32(append(dst, b32), uint32(n))
	case hdrStr:
		switch {
		case n < 32:
			return append(dst, 0xa0|byte(n))
		case n <= math.MaxUint8:
			return append(dst, 0xd9, byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
		}
		return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	switch {
	case n <= math.MaxUint8:
		return append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
}

// appendCBORHead appends a CBOR initial byte and argument in the shortest
// form.
func appendCBORHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= math.MaxUint8:
		return append(dst, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

func (f binFormat) appendUint(dst []byte, u uint64) []byte {
	if f == fmtCBOR {
		return appendCBORHead(dst, 0, u)
	}
	switch {
	case u < 128:
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

// appendNeg appends the negative integer -mag, 1 <= mag <= 2^63 for
// msgpack (2^64 is out of reach of a uint64: see j2b.number for CBOR's
// -2^64).
func (f binFormat) appendNeg(dst []byte, mag uint64) []byte {
	if f == fmtCBOR {
		return appendCBORHead(dst, 1, mag-1)
	}
	v := -int64(mag-1) - 1 // -mag without overflow at 2^63
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

func (f binFormat) appendFloat(dst []byte, v float64) []byte {
	b := byte(0xcb)
	if f == fmtCBOR {
		b = 0xfb
	}
	return binary.BigEndian.AppendUint64(append(dst, b), math.Float64bits(v))
}

func (f binFormat) appendNull(dst []byte) []byte {
	if f == fmtCBOR {
		return append(dst, 0xf6)
	}
	return append(dst, 0xc0)
}

func (f binFormat) appendBool(dst []byte, v bool) []byte {
	switch {
	case f == fmtCBOR && v:
		return append(dst, 0xf5)
	case f == fmtCBOR:
		return append(dst, 0xf4)
	case v:
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// appendString appends s as a string, replacing each byte of invalid UTF-8
// with U+FFFD as AppendString does for JSON.
func (f binFormat) appendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		b := make([]byte, 0, len(s)+8)
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // RuneError for each invalid byte
			i += size
		}
		s = string(b)
	}
	dst = f.appendHeader(dst, hdrStr, uint64(len(s)))
	return append(dst, s...)
}

// appendJSON appends the JSON value raw (white space around it allowed)
// transcoded to the format. depth is the nesting of the value's position.
func (f binFormat) appendJSON(dst []byte, raw []byte, depth int) ([]byte, error) {
	t := j2b{f: f, src: raw, dst: dst}
	t.i = skipWS(raw, 0)
	if err := t.value(depth); err != nil {
		return dst, err
	}
	if skipWS(raw, t.i) != len(raw) {
		return dst, errJSON(t.i, "trailing data")
	}
	return t.dst, nil
}

// j2b transcodes JSON to msgpack or CBOR. It checks the JSON as scanValue
// does and allocates nothing but the growth of dst: containers and escaped
// strings get a placeholder header that is patched once their size is
// known.
type j2b struct {
	f   binFormat
	src []byte
	i   int
	dst []byte
}

func (t *j2b) value(depth int) error {
	b := t.src
	if t.i >= len(b) {
		return errJSON(t.i, "unexpected end")
	}
	switch c := b[t.i]; c {
	case '{', '[':
		if depth+1 > MaxDepth {
			return errJSON(t.i, "nested too deeply")
		}
		kind, closer := hdrArray, byte(']')
		if c == '{' {
			kind, closer = hdrMap, '}'
		}
		start := len(t.dst)
		t.dst = append(t.dst, 0, 0, 0, 0, 0)
		n := 0
		t.i = skipWS(b, t.i+1)
		if t.i < len(b) && b[t.i] == closer {
			t.i++
			return t.patch(start, kind, 0)
		}
		for {
			if kind == hdrMap {
				if t.i >= len(b) || b[t.i] != '"' {
					return errJSON(t.i, "expected a string key")
				}
				if err := t.string(true); err != nil {
					return err
				}
				t.i = skipWS(b, t.i)
				if t.i >= len(b) || b[t.i] != ':' {
					return errJSON(t.i, "expected ':'")
				}
				t.i = skipWS(b, t.i+1)
			}
			if err := t.value(depth + 1); err != nil {
				return err
			}
			n++
			t.i = skipWS(b, t.i)
			if t.i < len(b) && b[t.i] == ',' {
				t.i = skipWS(b, t.i+1)
				continue
			}
			if t.i < len(b) && b[t.i] == closer {
				t.i++
				return t.patch(start, kind, n)
			}
			return errJSON(t.i, "expected ',' or '"+string(closer)+"'")
		}
	case '"':
		return t.string(false)
	case 't', 'f', 'n':
		lit := "null"
		switch c {
		case 't':
			lit = "true"
		case 'f':
			lit = "false"
		}
		end, err := scanLiteral(b, t.i, lit)
		if err != nil {
			return err
		}
		t.i = end
		if c == 'n' {
			t.dst = t.f.appendNull(t.dst)
		} else {
			t.dst = t.f.appendBool(t.dst, c == 't')
		}
		return nil
	}
	return t.number()
}

// patch writes the real header of the container or string whose
// placeholder is at start and moves its content up against it.
func (t *j2b) patch(start, kind, n int) error {
	if uint64(n) > math.MaxUint32 {
		return errors.New("value too large")
	}
	var tmp [placeholder]byte
	h := t.f.appendHeader(tmp[:0], kind, uint64(n))
	if len(h) < placeholder {
		copy(t.dst[start+len(h):], t.dst[start+placeholder:])
		t.dst = t.dst[:len(t.dst)-(placeholder-len(h))]
	}
	copy(t.dst[start:], h)
	return nil
}

// string transcodes the string at t.i. A value (not a key) whose text
// starts with U+0000 followed by canonical padded base64 is binary, by the
// spec's convention for binary in JSON.
func (t *j2b) string(key bool) error {
	end, escaped, err := scanString(t.src, t.i)
	if err != nil {
		return err
	}
	tok := t.src[t.i:end]
	t.i = end
	if !escaped {
		content := tok[1 : len(tok)-1]
		t.dst = t.f.appendHeader(t.dst, hdrStr, uint64(len(content)))
		t.dst = append(t.dst, content...)
		return nil
	}
	start := len(t.dst)
	t.dst = append(t.dst, 0, 0, 0, 0, 0)
	t.dst = appendUnescaped(t.dst, tok)
	text := t.dst[start+placeholder:]
	if !key && len(text) > 0 && text[0] == 0 && t.binary(start) {
		return nil
	}
	return t.patch(start, hdrStr, len(text))
}

// binary replaces the unescaped string after the placeholder at start by
// the bytes its base64 encodes, if it is canonical base64.
func (t *j2b) binary(start int) bool {
	b64 := t.dst[start+placeholder+1:]
	if len(b64)%4 != 0 || slices.Contains(b64, '\n') || slices.Contains(b64, '\r') {
		return false
	}
	need := base64.StdEncoding.DecodedLen(len(b64))
	t.dst = slices.Grow(t.dst, need)
	b64 = t.dst[start+placeholder+1:]
	out := t.dst[len(t.dst) : len(t.dst)+need]
	n, err := strictBase64.Decode(out, b64)
	if err != nil {
		return false
	}
	var tmp [placeholder]byte
	h := t.f.appendHeader(tmp[:0], hdrBin, uint64(n))
	copy(t.dst[start:], h)
	copy(t.dst[start+len(h):], out[:n])
	t.dst = t.dst[:start+len(h)+n]
	return true
}

// cborMinNeg is the magnitude of CBOR's most negative integer, -2^64.
const cborMinNeg = "18446744073709551616"

func (t *j2b) number() error {
	end, isInt, err := scanNumber(t.src, t.i)
	if err != nil {
		return err
	}
	text := t.src[t.i:end]
	t.i = end
	if isInt {
		neg := text[0] == '-'
		digits := text
		if neg {
			digits = text[1:]
		}
		mag, ok := parseUint(digits)
		switch {
		case ok && !neg:
			t.dst = t.f.appendUint(t.dst, mag)
			return nil
		case ok && mag == 0:
			t.dst = t.f.appendUint(t.dst, 0)
			return nil
		case ok && (t.f == fmtCBOR || mag <= 1<<63):
			t.dst = t.f.appendNeg(t.dst, mag)
			return nil
		case !ok && neg && t.f == fmtCBOR && string(digits) == cborMinNeg:
			t.dst = appendCBORHead(t.dst, 1, math.MaxUint64)
			return nil
		}
		// Out of the format's integer range: a float, as JSON parsers do.
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(text), len(text)), 64)
	if err != nil {
		return errJSON(end-len(text), "number out of range")
	}
	t.dst = t.f.appendFloat(t.dst, v)
	return nil
}

// appendJSONFloat appends v as a JSON number that reads back as a float:
// 1.0 stays 1.0, not 1.
func appendJSONFloat(dst []byte, v float64) ([]byte, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dst, errNonFinite
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst, nil
		}
	}
	return append(dst, '.', '0'), nil
}

// appendJSONBinary appends b in the spec's JSON form for binary: a string
// holding U+0000 and then the standard padded base64 of b.
func appendJSONBinary(dst, b []byte) []byte {
	dst = append(dst, `"\u0000`...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendJSONNeg appends the integer -1-n (CBOR's negative integer n).
func appendJSONNeg(dst []byte, n uint64) []byte {
	if n == math.MaxUint64 {
		return append(dst, "-"+cborMinNeg...)
	}
	dst = append(dst, '-')
	return strconv.AppendUint(dst, n+1, 10)
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}
