package wamp

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// b2j transcodes msgpack or CBOR to the model's JSON form. Every length
// read from the input is checked against the bytes that are left before
// anything is sized by it, so output and work stay proportional to the
// input.
type b2j struct {
	f   binFormat
	src []byte
	i   int
	dst []byte
}

func (r *b2j) name() string {
	if r.f == fmtCBOR {
		return "CBOR"
	}
	return "msgpack"
}

func (r *b2j) fail(msg string) *ProtocolError {
	return syntaxError("%s: %s at offset %d", r.name(), msg, r.i)
}

func (r *b2j) left() uint64 { return uint64(len(r.src) - r.i) }

// uintN reads an n-byte big-endian unsigned integer.
func (r *b2j) uintN(n int) (uint64, error) {
	if len(r.src)-r.i < n {
		return 0, r.fail("truncated")
	}
	b := r.src[r.i : r.i+n]
	r.i += n
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// take returns the next n bytes.
func (r *b2j) take(n uint64) ([]byte, error) {
	if n > r.left() {
		return nil, r.fail("length beyond the end of the message")
	}
	b := r.src[r.i : r.i+int(n)]
	r.i += int(n)
	return b, nil
}

func (r *b2j) text(b []byte) error {
	if !utf8.Valid(b) {
		return r.fail("invalid UTF-8 in string")
	}
	r.dst = appendJSONString(r.dst, b)
	return nil
}

func (r *b2j) float(v float64) error {
	var err error
	if r.dst, err = appendJSONFloat(r.dst, v); err != nil {
		return r.fail(err.Error())
	}
	return nil
}

// isBinary reports whether the next value is a byte string.
func (r *b2j) isBinary() bool {
	if r.i >= len(r.src) {
		return false
	}
	c := r.src[r.i]
	if r.f == fmtCBOR {
		return c>>5 == 2
	}
	return c >= 0xc4 && c <= 0xc6
}

// listHeader reads the header of the message list. n < 0 means a CBOR
// list of indefinite length.
func (r *b2j) listHeader() (n int, err error) {
	if r.i >= len(r.src) {
		return 0, r.fail("empty input")
	}
	c := r.src[r.i]
	if r.f == fmtCBOR {
		if c>>5 != 4 {
			return 0, r.notList()
		}
		if c&31 == 31 {
			r.i++
			return -1, nil
		}
		arg, err := r.cborArg()
		if err != nil {
			return 0, err
		}
		return r.listLen(arg)
	}
	r.i++
	switch {
	case c >= 0x90 && c <= 0x9f:
		return r.listLen(uint64(c & 0x0f))
	case c == 0xdc, c == 0xdd:
		u, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return 0, err
		}
		return r.listLen(u)
	}
	r.i--
	return 0, r.notList()
}

func (r *b2j) listLen(n uint64) (int, error) {
	if n > r.left() {
		return 0, r.fail("list longer than the message")
	}
	return int(n), nil
}

// notList builds the error for a message that is not a list: a shape
// error if the input is otherwise one valid value, else a syntax error.
func (r *b2j) notList() error {
	probe := b2j{f: r.f, src: r.src, i: r.i}
	if err := probe.value(0); err != nil {
		return err
	}
	if probe.i != len(probe.src) {
		return probe.fail("trailing bytes after the message")
	}
	return &ProtocolError{Reason: "message must be a list"}
}

// atBreak reports whether the next byte is the CBOR break code.
func (r *b2j) atBreak() bool { return r.i < len(r.src) && r.src[r.i] == 0xff }

func (r *b2j) value(depth int) error {
	if r.f == fmtCBOR {
		return r.cborValue(depth)
	}
	return r.mpValue(depth)
}

func (r *b2j) mpValue(depth int) error {
	if r.i >= len(r.src) {
		return r.fail("truncated")
	}
	c := r.src[r.i]
	r.i++
	switch {
	case c <= 0x7f:
		r.dst = strconv.AppendUint(r.dst, uint64(c), 10)
		return nil
	case c >= 0xe0:
		r.dst = strconv.AppendInt(r.dst, int64(int8(c)), 10)
		return nil
	case c <= 0x8f:
		return r.mpMap(uint64(c&0x0f), depth)
	case c <= 0x9f:
		return r.mpArray(uint64(c&0x0f), depth)
	case c <= 0xbf:
		return r.mpStr(uint64(c & 0x1f))
	}
	switch c {
	case 0xc0:
		r.dst = append(r.dst, "null"...)
		return nil
	case 0xc2:
		r.dst = append(r.dst, "false"...)
		return nil
	case 0xc3:
		r.dst = append(r.dst, "true"...)
		return nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uintN(1 << (c - 0xc4))
		if err != nil {
			return err
		}
		b, err := r.take(n)
		if err != nil {
			return err
		}
		r.dst = appendJSONBinary(r.dst, b)
		return nil
	case 0xca:
		u, err := r.uintN(4)
		if err != nil {
			return err
		}
		return r.float(float64(math.Float32frombits(uint32(u))))
	case 0xcb:
		u, err := r.uintN(8)
		if err != nil {
			return err
		}
		return r.float(math.Float64frombits(u))
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := r.uintN(1 << (c - 0xcc))
		if err != nil {
			return err
		}
		r.dst = strconv.AppendUint(r.dst, u, 10)
		return nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err := r.uintN(n)
		if err != nil {
			return err
		}
		// Sign-extend the n-byte value.
		v := int64(u<<(64-8*n)) >> (64 - 8*n)
		r.dst = strconv.AppendInt(r.dst, v, 10)
		return nil
	case 0xd9, 0xda, 0xdb:
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return err
		}
		return r.mpStr(n)
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return err
		}
		return r.mpArray(n, depth)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return err
		}
		return r.mpMap(n, depth)
	case 0xc1:
		r.i--
		return r.fail("invalid byte 0xc1")
	}
	r.i--
	return r.fail("extension types are not supported")
}

func (r *b2j) mpStr(n uint64) error {
	b, err := r.take(n)
	if err != nil {
		return err
	}
	return r.text(b)
}

func (r *b2j) mpArray(n uint64, depth int) error {
	if depth+1 > MaxDepth {
		return r.fail("nested too deeply")
	}
	if n > r.left() {
		return r.fail("list longer than the message")
	}
	r.dst = append(r.dst, '[')
	for k := range n {
		if k > 0 {
			r.dst = append(r.dst, ',')
		}
		if err := r.mpValue(depth + 1); err != nil {
			return err
		}
	}
	r.dst = append(r.dst, ']')
	return nil
}

func (r *b2j) mpMap(n uint64, depth int) error {
	if depth+1 > MaxDepth {
		return r.fail("nested too deeply")
	}
	if n > r.left()/2 {
		return r.fail("dict longer than the message")
	}
	r.dst = append(r.dst, '{')
	for k := range n {
		if k > 0 {
			r.dst = append(r.dst, ',')
		}
		if err := r.mpKey(); err != nil {
			return err
		}
		r.dst = append(r.dst, ':')
		if err := r.mpValue(depth + 1); err != nil {
			return err
		}
	}
	r.dst = append(r.dst, '}')
	return nil
}

func (r *b2j) mpKey() error {
	if r.i >= len(r.src) {
		return r.fail("truncated")
	}
	c := r.src[r.i]
	switch {
	case c >= 0xa0 && c <= 0xbf:
		r.i++
		return r.mpStr(uint64(c & 0x1f))
	case c >= 0xd9 && c <= 0xdb:
		r.i++
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return err
		}
		return r.mpStr(n)
	}
	return r.fail("dict key is not a string")
}

// cborArg reads the initial byte and argument of a definite CBOR item.
func (r *b2j) cborArg() (uint64, error) {
	ai := r.src[r.i] & 31
	r.i++
	switch {
	case ai < 24:
		return uint64(ai), nil
	case ai <= 27:
		return r.uintN(1 << (ai - 24))
	}
	r.i--
	return 0, r.fail("invalid additional information")
}

func (r *b2j) cborValue(depth int) error {
	if r.i >= len(r.src) {
		return r.fail("truncated")
	}
	c := r.src[r.i]
	major, ai := c>>5, c&31
	if ai == 31 {
		switch major {
		case 2, 3:
			return r.cborChunks(major)
		case 4, 5:
			r.i++
			return r.cborContainer(major, 0, true, depth)
		case 7:
			return r.fail("unexpected break")
		}
		return r.fail("invalid indefinite length")
	}
	if major == 7 {
		r.i++
		switch ai {
		case 20:
			r.dst = append(r.dst, "false"...)
			return nil
		case 21:
			r.dst = append(r.dst, "true"...)
			return nil
		case 22:
			r.dst = append(r.dst, "null"...)
			return nil
		case 25:
			u, err := r.uintN(2)
			if err != nil {
				return err
			}
			return r.float(halfToFloat64(uint16(u)))
		case 26:
			u, err := r.uintN(4)
			if err != nil {
				return err
			}
			return r.float(float64(math.Float32frombits(uint32(u))))
		case 27:
			u, err := r.uintN(8)
			if err != nil {
				return err
			}
			return r.float(math.Float64frombits(u))
		}
		r.i--
		return r.fail("simple values other than false, true and null are not supported")
	}
	arg, err := r.cborArg()
	if err != nil {
		return err
	}
	switch major {
	case 0:
		r.dst = strconv.AppendUint(r.dst, arg, 10)
		return nil
	case 1:
		r.dst = appendJSONNeg(r.dst, arg)
		return nil
	case 2:
		b, err := r.take(arg)
		if err != nil {
			return err
		}
		r.dst = appendJSONBinary(r.dst, b)
		return nil
	case 3:
		b, err := r.take(arg)
		if err != nil {
			return err
		}
		return r.text(b)
	case 4, 5:
		return r.cborContainer(major, arg, false, depth)
	}
	r.i--
	return r.fail("tags are not supported")
}

// cborChunks reads an indefinite-length byte or text string: definite
// chunks of the same major type up to a break.
func (r *b2j) cborChunks(major byte) error {
	r.i++
	var bin []byte
	if major == 3 {
		r.dst = append(r.dst, '"')
	}
	for {
		if r.i >= len(r.src) {
			return r.fail("truncated")
		}
		if r.atBreak() {
			r.i++
			break
		}
		c := r.src[r.i]
		if c>>5 != major || c&31 == 31 {
			return r.fail("invalid chunk in an indefinite-length string")
		}
		n, err := r.cborArg()
		if err != nil {
			return err
		}
		b, err := r.take(n)
		if err != nil {
			return err
		}
		if major == 2 {
			bin = append(bin, b...)
			continue
		}
		if !utf8.Valid(b) {
			return r.fail("invalid UTF-8 in string")
		}
		r.dst = appendEscaped(r.dst, b)
	}
	if major == 2 {
		r.dst = appendJSONBinary(r.dst, bin)
	} else {
		r.dst = append(r.dst, '"')
	}
	return nil
}

// cborContainer reads the n elements (pairs, for a map) of a list or map,
// or up to a break when indefinite.
func (r *b2j) cborContainer(major byte, n uint64, indefinite bool, depth int) error {
	if depth+1 > MaxDepth {
		return r.fail("nested too deeply")
	}
	isMap := major == 5
	if !indefinite && (n > r.left() || (isMap && n > r.left()/2)) {
		return r.fail("container longer than the message")
	}
	open, closer := byte('['), byte(']')
	if isMap {
		open, closer = '{', '}'
	}
	r.dst = append(r.dst, open)
	for k := uint64(0); ; k++ {
		if indefinite {
			if r.i >= len(r.src) {
				return r.fail("truncated")
			}
			if r.atBreak() {
				r.i++
				break
			}
		} else if k == n {
			break
		}
		if k > 0 {
			r.dst = append(r.dst, ',')
		}
		if isMap {
			if err := r.cborKey(); err != nil {
				return err
			}
			r.dst = append(r.dst, ':')
		}
		if err := r.cborValue(depth + 1); err != nil {
			return err
		}
	}
	r.dst = append(r.dst, closer)
	return nil
}

func (r *b2j) cborKey() error {
	if r.i >= len(r.src) {
		return r.fail("truncated")
	}
	if r.src[r.i]>>5 != 3 {
		return r.fail("dict key is not a string")
	}
	return r.cborValue(MaxDepth) // a text string never nests
}

// halfToFloat64 converts an IEEE 754 half-precision float.
func halfToFloat64(h uint16) float64 {
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	var v float64
	switch exp {
	case 0:
		v = math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			v = math.Inf(1)
		} else {
			v = math.NaN()
		}
	default:
		v = math.Ldexp(frac+1024, exp-25)
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}
