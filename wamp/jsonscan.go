package wamp

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of lists and dicts a v2 message may
// have, counting the message list itself: [16,1,{}] is 2 deep. The v2
// decoders refuse deeper messages and the binary encoders deeper payloads,
// so that no input can exhaust the stack.
const MaxDepth = 64

// jsonError is a JSON syntax error at an offset of the scanned text.
type jsonError struct {
	off int
	msg string
}

// Error implements error.
func (e *jsonError) Error() string {
	return "JSON: " + e.msg + " at offset " + strconv.Itoa(e.off)
}

func errJSON(off int, msg string) error { return &jsonError{off: off, msg: msg} }

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue checks the JSON value that starts at b[i] (no leading white
// space) and returns the offset just past it. depth is the number of lists
// and dicts around the value. Beyond RFC 8259 it refuses invalid UTF-8,
// lone surrogate escapes and nesting beyond MaxDepth.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errJSON(i, "unexpected end")
	}
	switch c := b[i]; c {
	case '{', '[':
		if depth+1 > MaxDepth {
			return i, errJSON(i, "nested too deeply")
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, errJSON(i, "expected a string key")
				}
				if i, _, err = scanString(b, i); err != nil {
					return i, err
				}
				i = skipWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return i, errJSON(i, "expected ':'")
				}
				i = skipWS(b, i+1)
			}
			if i, err = scanValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == closer {
				return i + 1, nil
			}
			return i, errJSON(i, "expected ',' or '"+string(closer)+"'")
		}
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	}
	end, _, err := scanNumber(b, i)
	return end, err
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, errJSON(i, "invalid literal")
	}
	return i + len(lit), nil
}

// scanString checks the JSON string that starts at b[i] (a '"') and
// returns the offset past its closing quote and whether it contains
// escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return j, escaped, errJSON(j, "unterminated escape")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				r, ok := hex4(b, j+2)
				if !ok {
					return j, escaped, errJSON(j, "invalid \\u escape")
				}
				j += 6
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 {
						return j - 6, escaped, errJSON(j-6, "lone surrogate escape")
					}
					if j+1 >= len(b) || b[j] != '\\' || b[j+1] != 'u' {
						return j - 6, escaped, errJSON(j-6, "lone surrogate escape")
					}
					lo, ok := hex4(b, j+2)
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return j - 6, escaped, errJSON(j-6, "lone surrogate escape")
					}
					j += 6
				}
			default:
				return j, escaped, errJSON(j, "invalid escape")
			}
		case c < 0x20:
			return j, escaped, errJSON(j, "control character in string")
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return j, escaped, errJSON(j, "invalid UTF-8")
			}
			j += size
		}
	}
	return j, escaped, errJSON(j, "unterminated string")
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber checks the JSON number at b[i] and reports whether it is an
// integer (no fraction, no exponent).
func scanNumber(b []byte, i int) (end int, isInt bool, err error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return i, false, errJSON(i, "invalid value")
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return j, false, errJSON(j, "invalid number")
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return j, false, errJSON(j, "invalid number")
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	return j, isInt, nil
}

// parseUint reads the digits of a valid JSON integer (no sign) and reports
// whether the value fits in a uint64.
func parseUint(digits []byte) (uint64, bool) {
	var u uint64
	for _, c := range digits {
		d := uint64(c - '0')
		if u > (1<<64-1-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

// appendUnescaped appends the text of the JSON string token tok (quotes
// included, already checked by scanString) with its escapes decoded.
func appendUnescaped(dst, tok []byte) []byte {
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(s, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				lo, _ := hex4(s, i+2)
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// unquote returns the text of the checked JSON string token tok.
func unquote(tok []byte, escaped bool) string {
	if !escaped {
		return string(tok[1 : len(tok)-1])
	}
	return string(appendUnescaped(make([]byte, 0, len(tok)), tok))
}

// appendEscaped appends s, valid UTF-8, as the inside of a JSON string,
// escaping as AppendString does.
func appendEscaped(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
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
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
}
