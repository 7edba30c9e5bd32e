package bench

import "strconv"

// scanner reads JSON by hand, without allocating: just enough to find the
// fields the subscribers need in a WAMP message. It never unescapes
// strings; it only steps over them.
type scanner struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// accept consumes c, after whitespace, if it is next.
func (s *scanner) accept(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// int reads a JSON number as an int64. Integers are read digit by digit;
// a number with a fraction or an exponent (what a server that decoded it
// as a float may send back) goes through strconv.
func (s *scanner) int() (int64, bool) {
	s.space()
	start := s.i
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	digits := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if s.i-digits >= 19 { // would overflow
			return 0, false
		}
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	if s.i == digits {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
				s.i++
			}
			f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
			if err != nil {
				return 0, false
			}
			return int64(f), true
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// str reads a JSON string and returns its raw contents, escapes left as
// they are.
func (s *scanner) str() ([]byte, bool) {
	if !s.accept('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return s.b[start : s.i-1], true
		default:
			s.i++
		}
	}
	return nil, false
}

// skip steps over one JSON value of any kind.
func (s *scanner) skip() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default: // number, true, false, null
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}

// parsePayload reads the sequence number "s" and the send time "t" from
// the JSON object at the start of b, in any key order, with any other
// keys; it stops as soon as both are found.
func parsePayload(b []byte) (seq, sent int64, ok bool) {
	s := scanner{b: b}
	if !s.accept('{') {
		return 0, 0, false
	}
	got := 0
	for {
		key, ok := s.str()
		if !ok || !s.accept(':') {
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
		if !s.accept(',') {
			return 0, 0, false
		}
	}
}

// appendPayload appends {"s":seq,"t":sent,"p":"xx…"}, padded with x so
// that the whole object is about size bytes (never less than the object
// without padding).
func appendPayload(dst []byte, seq, sent int64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"s":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, sent, 10)
	dst = append(dst, `,"p":"`...)
	for pad := size - (len(dst) - start) - 2; pad > 0; pad-- {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
