package auth

import "strings"

// This file reproduces the two PHP built-ins that stand between a WebSocket
// URL and Oro's ticket check: parse_str for the query string and non-strict
// base64_decode for the ticket.

// phpBase64Decode decodes s as PHP's base64_decode($s) (strict = false)
// does: bytes outside the standard alphabet, "=" included, are skipped
// wherever they are; four alphabet characters make three bytes; a trailing
// group of two or three characters makes one or two bytes and a lone
// trailing character none. It never fails.
func phpBase64Decode(s string) []byte {
	out := make([]byte, 0, len(s)*3/4+2)
	var acc uint32
	n := 0
	for i := 0; i < len(s); i++ {
		v := b64Value(s[i])
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// phpMaxInputVars is PHP's default max_input_vars: parse_str stops after
// that many variables.
const phpMaxInputVars = 1000

// TicketFromQuery returns the "ticket" parameter of rawQuery (the URL's
// query without "?") as PHP's parse_str($query, $q); (string)$q['ticket']
// would see it, which is how Oro reads it:
//
//   - pairs are split on "&" (empty pairs skipped), then at the first "=";
//     a name without "=" has the value "";
//   - names and values are URL-decoded with "+" as a space and %XX decoded
//     where XX are two hex digits (any other "%" stays as it is);
//   - leading spaces of a name are dropped, a name ends at a NUL byte, and
//     inside it " " and "." become "_" (so "ticket " is not "ticket");
//   - the last assignment to "ticket" wins; a name such as "ticket[]" or
//     "ticket[x]" makes the parameter an array, which Oro cannot use, and
//     then TicketFromQuery returns "" ("ticket[" without "]" is "ticket_");
//   - only the first 1,000 variables count (PHP's max_input_vars).
//
// It returns "" when there is no usable ticket parameter.
func TicketFromQuery(rawQuery string) string {
	ticket := ""
	count := 0
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		name, value, hasValue := strings.Cut(pair, "=")
		count++
		if count > phpMaxInputVars {
			break
		}
		base, isArray, ok := phpVarName(phpURLDecode(name))
		if !ok || base != "ticket" {
			continue
		}
		switch {
		case isArray:
			ticket = ""
		case hasValue:
			ticket = phpURLDecode(value)
		default:
			ticket = ""
		}
	}
	return ticket
}

// phpURLDecode is PHP's urldecode.
func phpURLDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// phpVarName returns the top-level variable name that PHP's
// php_register_variable_ex derives from a decoded parse_str name, and
// whether the name makes an array. ok is false for names PHP ignores.
func phpVarName(name string) (base string, isArray, ok bool) {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	b := []byte(name)
	for i, c := range b {
		switch c {
		case ' ', '.':
			b[i] = '_'
		case '[':
			if i == 0 {
				return "", false, false
			}
			if strings.IndexByte(name[i+1:], ']') >= 0 {
				return string(b[:i]), true, true
			}
			// No closing bracket: PHP turns this "[" into "_" and keeps
			// the rest as part of a plain name.
			b[i] = '_'
			for j := i + 1; j < len(b); j++ {
				if b[j] == ' ' || b[j] == '.' || b[j] == '[' {
					b[j] = '_'
				}
			}
			return string(b), false, true
		}
	}
	if len(b) == 0 {
		return "", false, false
	}
	return string(b), false, true
}
