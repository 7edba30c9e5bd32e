package jsonerr

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDescribeSyntax(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "invalid JSON: the input is empty"},
		{"  \n", "invalid JSON: the input is empty"},
		{"nul", `byte 1: invalid JSON: the bare word nul is not a JSON value (strings take double quotes; the only bare words are true, false and null)`},
		{"nope", `byte 1: invalid JSON: the bare word nope is not a JSON value`},
		{`{"a": True}`, `byte 7: invalid JSON: the bare word True is not a JSON value`},
		{"'hi'", `byte 1: invalid JSON: found "'" where a value was expected (strings take double quotes)`},
		{`{"topic":`, `invalid JSON: the input ends after byte 9, where a value was expected`},
		{`{"a":1`, `invalid JSON: the input ends after byte 6, where ',' or '}' was expected`},
		{`[1,2`, `invalid JSON: the input ends after byte 4, where ',' or ']' was expected`},
		{`{"a`, `invalid JSON: the input ends after byte 3, inside the string that starts at byte 2 (a closing '"' is missing)`},
		{`{"a":1,}`, `byte 8: invalid JSON: found '}' where a key string was expected (JSON allows no comma before a closing bracket)`},
		{`[1,]`, `byte 4: invalid JSON: found ']' where a value was expected (JSON allows no comma before a closing bracket)`},
		{`{"a":}`, `byte 6: invalid JSON: found '}' where a value was expected`},
		{`{a:1}`, `byte 2: invalid JSON: found 'a' where a key string was expected (keys take double quotes)`},
		{`{"a" 1}`, `byte 6: invalid JSON: found '1' where ':' was expected`},
		{`[1 2]`, `byte 4: invalid JSON: found '2' where ',' or ']' was expected`},
		{`{"a":1]`, `byte 7: invalid JSON: found ']' where ',' or '}' was expected`},
		{`{"a":1} x`, `byte 9: invalid JSON: found 'x' after the end of the value (one JSON value only)`},
		{`1 2`, `byte 3: invalid JSON: found '2' after the end of the value`},
		{`01`, `byte 1: invalid JSON: "01" is not a JSON number`},
		{`[1.]`, `byte 2: invalid JSON: "1." is not a JSON number`},
		{`-`, `byte 1: invalid JSON: "-" is not a JSON number`},
		{`1e`, `byte 1: invalid JSON: "1e" is not a JSON number`},
		{`12abc`, `byte 1: invalid JSON: "12abc" is not a JSON number`},
		{"\"a\tb\"", `byte 3: invalid JSON: a control character (U+0009) inside a string: write it as an escape such as \n or \u0009`},
		{`"a\qb"`, `byte 3: invalid JSON: \q is not an escape in JSON (use \\ for a backslash)`},
		{`"\u12"`, `byte 2: invalid JSON: \u must be followed by four hexadecimal digits`},
		{`é`, `byte 1: invalid JSON: found 'é' where a value was expected`},
		{"\x01", `byte 1: invalid JSON: found U+0001 where a value was expected`},
		{"{\n  \"a\": 1,\n  \"b\" 2\n}", `byte 19 (line 3, column 7): invalid JSON: found '2' where ':' was expected`},
		{"[\n1,\n", `invalid JSON: the input ends after byte 5 (line 2, column 3), where a value was expected`},
	}
	for _, tt := range tests {
		err := json.Unmarshal([]byte(tt.in), new(any))
		if err == nil {
			t.Fatalf("%q is valid JSON", tt.in)
		}
		if got := Describe([]byte(tt.in), err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("Describe(%q, %v) =\n  %s\nwant it to start with\n  %s", tt.in, err, got, tt.want)
		}
		// A Decoder's errors (io.EOF, io.ErrUnexpectedEOF, *SyntaxError)
		// read the same.
		dec := json.NewDecoder(strings.NewReader(tt.in))
		var v any
		if err := dec.Decode(&v); err != nil {
			if got := Describe([]byte(tt.in), err); !strings.HasPrefix(got, tt.want) {
				t.Errorf("Describe(%q, decoder's %v) = %s", tt.in, err, got)
			}
		}
		if err := json.Compact(new(bytes.Buffer), []byte(tt.in)); err == nil {
			t.Errorf("json.Compact accepts %q", tt.in)
		} else if got := Describe([]byte(tt.in), err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("Describe(%q, Compact's %v) = %s", tt.in, err, got)
		}
	}
}

type publication struct {
	Topic  string            `json:"topic"`
	Params map[string]string `json:"params"`
	Data   json.RawMessage   `json:"data"`
	Count  uint              `json:"count"`
	Ratio  float64           `json:"ratio"`
	Tags   []string          `json:"tags"`
	On     *bool             `json:"on"`
	Inner  struct {
		ID int `json:"id"`
	} `json:"inner"`
}

func TestDescribeTypes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"topic": 5}`, `byte 11: "topic" must be a string, not a number`},
		{`{"topic": "a\"b", "count": "7"}`, `byte 28: "count" must be a non-negative integer, not a string`},
		{`{"topic": "\\"}`, ``}, // valid: no error
		{`{"count": -1}`, `byte 11: "count" must be a non-negative integer, not -1`},
		{`{"count": 1.5}`, `byte 11: "count" must be a non-negative integer, not 1.5`},
		{`{"ratio": "x"}`, `byte 11: "ratio" must be a number, not a string`},
		{`{"tags": "x"}`, `byte 10: "tags" must be an array, not a string`},
		{`{"tags": ["a", 2]}`, `byte 16: "tags" must be a string, not a number`},
		{`{"params": [1]}`, `byte 12: "params" must be an object, not an array`},
		{`{"params": {"x": true}}`, `byte 18: "params" must be a string, not true or false`},
		{`{"on": "yes"}`, `byte 8: "on" must be true or false, not a string`},
		{`{"inner": {"id": "x"}}`, `byte 18: "inner.id" must be an integer, not a string`},
		{`[1]`, `byte 1: expected an object, not an array`},
		{"{\n \"topic\":\n  false\n}", `byte 15 (line 3, column 3): "topic" must be a string, not true or false`},
	}
	for _, tt := range tests {
		var p publication
		err := json.Unmarshal([]byte(tt.in), &p)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Fatalf("%s: %v is not a type error", tt.in, err)
		}
		if got := Describe([]byte(tt.in), err); got != tt.want {
			t.Errorf("Describe(%s) = %s\nwant %s", tt.in, got, tt.want)
		}
	}
	// In a list, the element's position.
	var list []publication
	in := `[{"topic": "a"}, 7]`
	err := json.Unmarshal([]byte(in), &list)
	if got, want := Describe([]byte(in), err), `byte 18: expected an object, not a number`; got != want {
		t.Errorf("Describe(%s) = %s, want %s", in, got, want)
	}
}

func TestDescribeDepth(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		in := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		valid, p := json.Valid(in), findProblem(in)
		if valid != (p == nil) {
			t.Fatalf("depth %d: json.Valid = %v, findProblem = %+v", depth, valid, p)
		}
		if !valid {
			if got, want := Describe(in, json.Unmarshal(in, new(any))), "byte 10001: invalid JSON: more than 10000 nested arrays and objects"; got != want {
				t.Errorf("depth %d: %s, want %s", depth, got, want)
			}
		}
	}
}

func TestDescribeOtherErrors(t *testing.T) {
	if got := Describe(nil, nil); got != "" {
		t.Errorf("Describe(nil) = %q", got)
	}
	dec := json.NewDecoder(strings.NewReader(`{"colour": "red"}`))
	dec.DisallowUnknownFields()
	err := dec.Decode(new(publication))
	if got := Describe([]byte(`{"colour": "red"}`), err); got != `unknown field "colour"` {
		t.Errorf("unknown field: %q", got)
	}
	if got := Describe(nil, errors.New("json: something else")); got != "something else" {
		t.Errorf("other error: %q", got)
	}
}

// FuzzFindProblem checks the scanner against encoding/json: it finds a
// problem exactly when the input is not valid JSON, and every description
// points inside the input.
func FuzzFindProblem(f *testing.F) {
	for _, s := range []string{"", "null", "nul", `{"a":[1,2,{"b":"c\u00e9"}]}`, `[1,]`, `{"a":1,}`, "\"\\", "01", "-0.5e+3", `"\ud800"`, "[[[[]]]]", "{}", " [ ] ", "\xff", `"` + "\xff" + `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		p := findProblem(data)
		if valid != (p == nil) {
			t.Fatalf("json.Valid(%q) = %v, findProblem = %+v", data, valid, p)
		}
		if valid {
			return
		}
		if p.pos < 0 || p.pos > len(data) {
			t.Fatalf("%q: position %d outside the input", data, p.pos)
		}
		msg := Describe(data, json.Unmarshal(data, new(any)))
		if !strings.Contains(msg, "invalid JSON") {
			t.Fatalf("%q: %q", data, msg)
		}
	})
}
