package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Error is one problem found while parsing a configuration file. Parse
// returns one or more of them joined with errors.Join; use errors.As to get
// the first.
type Error struct {
	// Source is the file name given to Parse.
	Source string
	// Line is the 1-based line of the problem, 0 when unknown.
	Line int
	// Path is the dotted key path, such as "server.port" or "origins[2]";
	// empty for the document itself.
	Path string
	// Msg is the message without source and line; it names Path.
	Msg string
	// Err is the underlying error, when the problem wraps one.
	Err error
}

// Error formats e as "source:line: msg" ("source: msg" without a line,
// and just msg without a source).
func (e *Error) Error() string {
	switch {
	case e.Source == "":
		return e.Msg
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	}
	return e.Source + ": " + e.Msg
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Warning is a problem that does not stop herald, such as a
// gos_web_socket key herald accepts but does not use. It is positioned
// like an Error.
type Warning = Error

// ParseWithEnv is Parse with an injectable environment lookup (nil means
// os.LookupEnv).
//
// data is decoded strictly on top of Default: keys that are absent or null
// keep their default, an unknown key is an error naming its dotted path and
// line, and a value of the wrong type is an error naming the line, path and
// value. An empty document gives the defaults. Fields whose zero value means
// "the default" are then filled in. Every problem is reported, joined with
// errors.Join, each an *Error.
//
// Before a scalar value is decoded, every %env(NAME)% placeholder in it is
// replaced by the variable's value, Symfony style. When the placeholder is
// the whole value, the result is typed as if written unquoted in the file,
// so "%env(PORT)%" fills an integer field; the processors int:, float: and
// bool: check (and, for bool, normalise 1/0/yes/no/on/off/empty) the value,
// and string: keeps it a string. A placeholder inside a longer string gives
// a string. An unset variable is an error.
func ParseWithEnv(data []byte, source string, lookup func(string) (string, bool)) (*Config, error) {
	if source == "" {
		source = "config"
	}
	if lookup == nil {
		lookup = osLookupEnv
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c := Default()
			c.source = source
			return c, nil
		}
		return nil, syntaxError(source, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(source, err)
	case len(extra.Content) > 0 && extra.Content[0].ShortTag() != "!!null":
		return nil, &Error{Source: source, Line: extra.Line, Msg: "a second YAML document; the configuration is one document"}
	}

	c := Default()
	c.source = source
	d := &decoder{source: source, lookup: lookup, from: map[*yaml.Node]string{}, lines: map[string]int{}}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return c, nil
		}
		root = doc.Content[0]
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	c.lines, c.warnings = d.lines, d.warnings
	c.setDefaults()
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml syntax error into an *Error.
func syntaxError(source string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Source: source, Line: line, Msg: m[2]}
	}
	return &Error{Source: source, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// decoder walks a yaml.Node tree against a Go value, using the yaml struct
// tags, so that every error knows its key path and line.
type decoder struct {
	source string
	lookup func(string) (string, bool)
	from   map[*yaml.Node]string // original text of values expanded from %env()%
	errs   []error
	// lines maps every key path decoded ("server.port", "origins[1]")
	// to the line of its key, for errors found after decoding.
	lines    map[string]int
	warnings []*Warning
}

func (d *decoder) fail(n *yaml.Node, path, msg string) {
	if path != "" {
		msg = path + ": " + msg
	} else {
		msg = "top level: " + msg
	}
	if orig, ok := d.from[n]; ok {
		msg += fmt.Sprintf(" (from %q)", orig)
	}
	d.errs = append(d.errs, &Error{Source: d.source, Line: n.Line, Path: path, Msg: msg})
}

func (d *decoder) want(n *yaml.Node, path, what string) {
	d.fail(n, path, wantError(what, n).Error())
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// shorthand is implemented by structs that may also be written as one
// scalar (a handler's type, a router resource's path).
type shorthand interface{ setShorthand(string) }

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		if !d.expand(n, path) {
			return
		}
		if n.ShortTag() == "!!null" {
			return // null keeps the default
		}
	}
	if sh, ok := v.Addr().Interface().(shorthand); ok && n.Kind == yaml.ScalarNode {
		sh.setShorthand(n.Value)
		return
	}
	if v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(n, path, err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			elem.Elem().Set(v.Elem())
		}
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.want(n, path, "a list")
			return
		}
		if len(n.Content) == 0 {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			elemPath := fmt.Sprintf("%s[%d]", path, i)
			d.lines[elemPath] = e.Line
			d.decode(e, s.Index(i), elemPath)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.want(n, path, "a mapping")
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.fail(k, path, "keys must be strings, got "+describe(k))
				continue
			}
			full := joinPath(path, k.Value)
			if line, dup := seen[k.Value]; dup {
				d.errs = append(d.errs, &Error{Source: d.source, Line: k.Line, Path: full,
					Msg: fmt.Sprintf("duplicate key %q (first at line %d)", full, line)})
				continue
			}
			seen[k.Value] = k.Line
			d.lines[full] = k.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			if lined, ok := elem.Addr().Interface().(interface{ setLine(int) }); ok {
				lined.setLine(k.Line)
			}
			d.decode(val, elem, full)
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.want(n, path, "a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.want(n, path, "a boolean (true or false)")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.want(n, path, "an integer")
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			d.want(n, path, "a number")
			return
		}
		v.SetFloat(f)
	default:
		panic("config: unsupported field type " + v.Type().String())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.want(n, path, "a mapping")
		return
	}
	fields := structFields(v.Type())
	// Merge keys (<<: *anchor) first, so that explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "keys must be strings, got "+describe(k))
			continue
		}
		full := joinPath(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.errs = append(d.errs, &Error{Source: d.source, Line: k.Line, Path: full,
				Msg: fmt.Sprintf("duplicate key %q (first at line %d)", full, line)})
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields.index[k.Value]
		if !ok {
			if why, ignored := gosIgnoredKey(full); ignored && (exactGosKey(full) || nearest(k.Value, fields.names) == "") {
				d.warnings = append(d.warnings, &Warning{Source: d.source, Line: k.Line, Path: full,
					Msg: fmt.Sprintf("%s: ignored: %s", full, why)})
				continue
			}
			d.errs = append(d.errs, &Error{Source: d.source, Line: k.Line, Path: full,
				Msg: fmt.Sprintf("unknown key %q", full) + suggest(path, k.Value, fields.names)})
			continue
		}
		d.lines[full] = k.Line
		d.decode(val, v.Field(idx), full)
	}
}

// merge applies the value of a "<<" key: a mapping or a list of mappings,
// where earlier mappings win.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		for i := len(n.Content) - 1; i >= 0; i-- {
			d.merge(n.Content[i], v, path)
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		d.want(n, joinPath(path, "<<"), "a mapping or a list of mappings")
		return
	}
	d.decodeStruct(n, v, path)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type fieldSet struct {
	index map[string]int // yaml key → field index
	names []string       // yaml keys in declaration order
}

var fieldCache sync.Map // reflect.Type → fieldSet

// structFields lists the yaml keys of struct type t.
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	fieldCache.Store(t, fs)
	return fs
}

// allPaths maps every key name in Config to the dotted paths where it is
// valid, to suggest the right place for a key written in the wrong one.
var allPaths = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		fs := structFields(t)
		for _, name := range fs.names {
			full := joinPath(path, name)
			m[name] = append(m[name], full)
			if ft := t.Field(fs.index[name]).Type; ft.Kind() == reflect.Struct {
				walk(ft, full)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return m
})

// suggest returns a " (did you mean ...?)" hint for an unknown key, or "".
func suggest(path, key string, siblings []string) string {
	if path == "" && key == "gos_web_socket" {
		return " (copy the keys inside gos_web_socket to the top level: server, origins)"
	}
	if best := nearest(key, siblings); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	for _, p := range allPaths()[strings.ToLower(key)] {
		if !strings.Contains(p, ".") {
			return fmt.Sprintf(" (did you mean top-level %q?)", p)
		}
		return fmt.Sprintf(" (did you mean %q?)", p)
	}
	return ""
}

// nearest returns the sibling key close enough to key to be what was
// meant, or "".
func nearest(key string, siblings []string) string {
	best, bestDist := "", math.MaxInt
	for _, s := range siblings {
		if dist := osaDistance(strings.ToLower(key), s); dist < bestDist {
			best, bestDist = s, dist
		}
	}
	if bestDist <= max(1, len(key)/4) {
		return best
	}
	return ""
}

// osaDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions.
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
