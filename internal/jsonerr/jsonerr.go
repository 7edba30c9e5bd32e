// Package jsonerr turns the errors of encoding/json into messages a person
// can act on: where in the input the problem is (the byte, and the line and
// column for input of several lines) and what was found and expected, in
// JSON's terms rather than Go's. herald's HTTP API and command line use it
// for every JSON they read.
package jsonerr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Describe explains err, an error of json.Unmarshal, json.Compact or a
// json.Decoder that read data from its start:
//
//   - a syntax error (or a truncated or empty input) becomes
//     `byte 2: invalid JSON: found '}' where a key string was expected`;
//   - a type mismatch becomes `byte 11: "topic" must be a string, not a
//     number`;
//   - any other error keeps its text, without the "json: " prefix.
//
// Bytes are counted from 1. Describe returns "" for a nil err.
func Describe(data []byte, err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &typeErr):
		return describeType(data, typeErr)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		if p := findProblem(data); p != nil {
			return p.describe(data)
		}
		if syntaxErr != nil {
			return position(data, int(syntaxErr.Offset)-1) + ": invalid JSON"
		}
		return "invalid JSON: the input ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// problem is the first syntax error of an input.
type problem struct {
	// pos is the offending byte's index, len(data) when the input ends
	// too early.
	pos int
	// msg says what is wrong, without the position.
	msg string
}

func (p *problem) describe(data []byte) string {
	if p.pos >= len(data) {
		if len(bytes.Trim(data, " \t\r\n")) == 0 {
			return "invalid JSON: the input is empty"
		}
		return fmt.Sprintf("invalid JSON: the input ends after %s, %s", position(data, len(data)-1), p.msg)
	}
	return position(data, p.pos) + ": invalid JSON: " + p.msg
}

// position names byte i of data (0-based) as "byte N", adding the line and
// column when data has several lines.
func position(data []byte, i int) string {
	i = max(0, min(i, len(data)-1))
	s := fmt.Sprintf("byte %d", i+1)
	if strings.IndexByte(string(data), '\n') < 0 {
		return s
	}
	head := string(data[:i])
	line := strings.Count(head, "\n") + 1
	col := utf8.RuneCountInString(head[strings.LastIndexByte(head, '\n')+1:]) + 1
	return fmt.Sprintf("%s (line %d, column %d)", s, line, col)
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// scanner finds the first syntax error of a JSON text.
type scanner struct {
	data []byte
	i    int
}

// findProblem returns the first syntax error of data, or nil when data is
// one valid JSON value (with surrounding white space).
func findProblem(data []byte) *problem {
	s := &scanner{data: data}
	if p := s.value(); p != nil {
		return p
	}
	s.skipSpace()
	if s.i < len(data) {
		return s.found("after the end of the value (one JSON value only)")
	}
	return nil
}

func (s *scanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eof reports the input ending where want was expected.
func (s *scanner) eof(want string) *problem {
	return &problem{pos: len(s.data), msg: "where " + want + " was expected"}
}

// found reports the byte at s.i, found where something else was expected.
func (s *scanner) found(where string) *problem {
	return &problem{pos: s.i, msg: "found " + quoteChar(s.data[s.i:]) + " " + where}
}

// value scans one value. Containers are kept on an explicit stack, so
// deep nesting costs no Go stack.
func (s *scanner) value() *problem {
	var stack []byte // the open containers, '{' or '['
	expectValue, afterComma := true, false
	for {
		if expectValue {
			opened, p := s.valueStart(afterComma, len(stack))
			if p != nil {
				return p
			}
			expectValue, afterComma = false, false
			if opened != 0 {
				stack = append(stack, opened)
				expectValue = true
				if opened == '{' {
					if p := s.key(false); p != nil {
						return p
					}
				}
			}
			continue
		}
		if len(stack) == 0 {
			return nil
		}
		p, more := s.next(&stack)
		if p != nil {
			return p
		}
		// In an object the comma was followed by a key and its colon.
		expectValue, afterComma = more, more && stack[len(stack)-1] == '['
	}
}

// valueStart scans a scalar or an empty container whole, or the opening
// bracket of a container with content, which it returns. depth is the
// number of containers open around the value.
func (s *scanner) valueStart(afterComma bool, depth int) (opened byte, p *problem) {
	s.skipSpace()
	if s.i == len(s.data) {
		return 0, s.eof("a value")
	}
	switch c := s.data[s.i]; {
	case (c == '{' || c == '[') && depth == maxDepth:
		return 0, &problem{pos: s.i, msg: fmt.Sprintf("more than %d nested arrays and objects", maxDepth)}
	case c == '{' || c == '[':
		s.i++
		s.skipSpace()
		if s.i < len(s.data) && s.data[s.i] == closerOf(c) {
			s.i++
			return 0, nil
		}
		return c, nil
	case c == '"':
		return 0, s.str()
	case c == '-' || '0' <= c && c <= '9':
		return 0, s.number()
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
		return 0, s.word()
	case c == '\'':
		return 0, s.found("where a value was expected (strings take double quotes)")
	case (c == ']' || c == '}') && afterComma:
		return 0, s.found("where a value was expected (JSON allows no comma before a closing bracket)")
	default:
		return 0, s.found("where a value was expected")
	}
}

// next scans what follows a value inside the innermost container: a comma
// (more is true; for an object the next key is read too) or the
// container's closing bracket (popped).
func (s *scanner) next(stack *[]byte) (p *problem, more bool) {
	top := (*stack)[len(*stack)-1]
	want := fmt.Sprintf("',' or '%c'", closerOf(top))
	s.skipSpace()
	if s.i == len(s.data) {
		return s.eof(want), false
	}
	switch s.data[s.i] {
	case ',':
		s.i++
		if top == '{' {
			return s.key(true), true
		}
		return nil, true
	case closerOf(top):
		s.i++
		*stack = (*stack)[:len(*stack)-1]
		return nil, false
	}
	return s.found("where " + want + " was expected"), false
}

func closerOf(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// key scans an object key and its colon.
func (s *scanner) key(afterComma bool) *problem {
	s.skipSpace()
	if s.i == len(s.data) {
		return s.eof("a key string")
	}
	switch c := s.data[s.i]; {
	case c == '"':
	case c == '}' && afterComma:
		return s.found("where a key string was expected (JSON allows no comma before a closing bracket)")
	case c == '\'' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
		return s.found("where a key string was expected (keys take double quotes)")
	default:
		return s.found("where a key string was expected")
	}
	if p := s.str(); p != nil {
		return p
	}
	s.skipSpace()
	if s.i == len(s.data) {
		return s.eof("':'")
	}
	if s.data[s.i] != ':' {
		return s.found("where ':' was expected")
	}
	s.i++
	return nil
}

// str scans a string, s.i at its opening quote.
func (s *scanner) str() *problem {
	start := s.i
	s.i++
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if p := s.escape(); p != nil {
				return p
			}
		case c < 0x20:
			return &problem{pos: s.i, msg: fmt.Sprintf("a control character (U+%04X) inside a string: write it as an escape such as \\n or \\u%04x", c, c)}
		default:
			s.i++
		}
	}
	return &problem{pos: len(s.data), msg: fmt.Sprintf("inside the string that starts at byte %d (a closing '\"' is missing)", start+1)}
}

// escape scans one escape sequence, s.i at its backslash.
func (s *scanner) escape() *problem {
	at := s.i
	s.i++
	if s.i == len(s.data) {
		return s.eof("an escape character after '\\'")
	}
	switch s.data[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		s.i++
		for range 4 {
			if s.i == len(s.data) || !isHex(s.data[s.i]) {
				return &problem{pos: at, msg: "\\u must be followed by four hexadecimal digits"}
			}
			s.i++
		}
		return nil
	}
	_, n := utf8.DecodeRune(s.data[s.i:])
	return &problem{pos: at, msg: fmt.Sprintf("\\%s is not an escape in JSON (use \\\\ for a backslash)", s.data[s.i:s.i+n])}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number scans a number: the longest run of characters a number could be
// made of must be one, as JSON writes it.
func (s *scanner) number() *problem {
	start := s.i
	for s.i < len(s.data) && isNumberChar(s.data[s.i]) {
		s.i++
	}
	if tok := string(s.data[start:s.i]); !isJSONNumber(tok) {
		return &problem{pos: start, msg: fmt.Sprintf("%s is not a JSON number (write it as 12, -0.5 or 1e3, without leading zeros)", strconv.Quote(tok))}
	}
	return nil
}

func isNumberChar(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isJSONNumber reports whether tok is -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isJSONNumber(tok string) bool {
	digits := func(s string) (rest string, n int) {
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		return s[n:], n
	}
	s := strings.TrimPrefix(tok, "-")
	if strings.HasPrefix(s, "0") {
		s = s[1:]
	} else {
		var n int
		if s, n = digits(s); n == 0 {
			return false
		}
	}
	if rest, ok := strings.CutPrefix(s, "."); ok {
		var n int
		if s, n = digits(rest); n == 0 {
			return false
		}
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		var n int
		if s, n = digits(s); n == 0 {
			return false
		}
	}
	return s == ""
}

// word scans a bare word, which must be true, false or null.
func (s *scanner) word() *problem {
	start := s.i
	for s.i < len(s.data) {
		c := s.data[s.i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			break
		}
		s.i++
	}
	switch w := string(s.data[start:s.i]); w {
	case "true", "false", "null":
		return nil
	default:
		return &problem{pos: start, msg: fmt.Sprintf("the bare word %s is not a JSON value (strings take double quotes; the only bare words are true, false and null)", w)}
	}
}

// quoteChar quotes the character p starts with: '}' or 'é' ("'" for a
// single quote), or U+0007 for a character that does not print.
func quoteChar(p []byte) string {
	r, _ := utf8.DecodeRune(p)
	switch {
	case r == utf8.RuneError || !strconv.IsPrint(r) || r == ' ':
		return fmt.Sprintf("U+%04X", r)
	case r == '\'':
		return `"'"`
	}
	return strconv.QuoteRune(r)
}

// describeType explains a value of the wrong JSON type.
func describeType(data []byte, e *json.UnmarshalTypeError) string {
	at := position(data, valueStart(data, e))
	want := jsonKind(e.Type)
	got := valueNoun(e.Value)
	if e.Field == "" {
		return fmt.Sprintf("%s: expected %s, not %s", at, want, got)
	}
	return fmt.Sprintf("%s: %q must be %s, not %s", at, e.Field, want, got)
}

// valueStart finds the index of the first byte of the value e is about.
// encoding/json reports the offset after an object's or array's opening
// bracket and after the last byte of any other value; the input is valid
// JSON, as Unmarshal and Decoder check it before decoding.
func valueStart(data []byte, e *json.UnmarshalTypeError) int {
	end := int(e.Offset)
	if end <= 0 || end > len(data) {
		return max(0, min(end, len(data))-1)
	}
	if e.Value == "object" || e.Value == "array" {
		return end - 1
	}
	i := end - 1
	if data[i] == '"' {
		// Back to the opening quote: the first quote not escaped, that
		// is preceded by an even number of backslashes.
		for i--; i >= 0; i-- {
			if data[i] != '"' {
				continue
			}
			k := i
			for k > 0 && data[k-1] == '\\' {
				k--
			}
			if (i-k)%2 == 0 {
				return i
			}
		}
		return 0
	}
	for i > 0 && !strings.ContainsRune("{}[],: \t\r\n", rune(data[i-1])) {
		i--
	}
	return i
}

// jsonKind names what JSON value decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return fmt.Sprintf("an array of %d", t.Len())
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// valueNoun names the JSON value encoding/json found ("number",
// "number 1.5", "string", "bool", "array", "object").
func valueNoun(v string) string {
	switch v {
	case "number":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return n
	}
	return v
}
