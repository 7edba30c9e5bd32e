package topic

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// separators are the characters PubSubRouter's RouteCompiler treats as
// separators in front of a placeholder (SEPARATORS in RouteCompiler.php).
const separators = "/,;.:-_~+*=@|"

// defaultSeparator is RouteCompiler's $defaultSeparator: the character a
// placeholder's default requirement never matches.
const defaultSeparator = '/'

var (
	// placeholderRe finds placeholders, as RouteCompiler's '#\{\w+\}#'.
	placeholderRe = regexp.MustCompile(`\{\w+\}`)
	// inlineRe finds inline requirements and defaults, as Route::setPattern
	// ('#\{(\w++)(<.*?>)?(\?[^\}]*+)?\}#').
	inlineRe = regexp.MustCompile(`\{(\w+)(<.*?>)?(\?[^}]*)?\}`)
)

// token is one piece of a compiled 2.x pattern, in pattern order.
type token struct {
	isVar bool
	// text is the static text of a text token, or the separator character
	// preceding a variable ("" when the preceding character is no separator).
	text string
	name string // variable name
	// req is the variable's requirement as compiled: captures made
	// non-capturing, in RE2 syntax.
	req string
	// show is the requirement as declared (sanitized), for messages.
	show string
	v    int // index in compiled.vars
}

// compiled is a route compiled with PubSubRouter 2.x semantics.
type compiled struct {
	route  *Route
	static bool // no placeholders: the channel must equal the pattern
	prefix string
	re     *regexp.Regexp
	tokens []token
	vars   []string
	// firstOptional is the index of the first token of the optional
	// trailing run (placeholders with defaults), len(tokens) when none.
	firstOptional int
	// fast is true when every placeholder's extent is decided by the next
	// static character, so captures can be read without submatch indexes.
	fast bool
	// stops[i] is, for variable token i on the fast path, the character
	// that ends its value (-1 for the last token).
	stops []rune
	// exact[v] is variable v's requirement alone, as the matcher applies
	// it: (?s)^(?:req)$, case-sensitive. Generate and Explain check values
	// with it.
	exact []*regexp.Regexp
	// contextual is true when a requirement holds an assertion (\b, \B,
	// ^, $, \A, \z) whose result depends on the text around the value:
	// only then can values that match alone fail in place.
	contextual bool
	// segMin and segMax bound the number of '/'-separated segments a
	// matching channel has; segMax < 0 when unknown (a requirement may
	// match '/').
	segMin, segMax int
}

// normalize returns r with inline "{name<regex>?default}" parts moved into
// Requirements and Defaults and the pattern trimmed as PHP's trim does. r
// itself is returned when nothing changes; otherwise a copy.
func normalize(r *Route) (*Route, []error) {
	p := strings.Trim(r.Pattern, " \t\n\r\x00\x0B")
	if p == r.Pattern && !strings.ContainsAny(p, "?<") {
		return r, nil
	}
	out, reqs, defs, errs := extractInline(p, r.Name, r.Source, r.Requirements, r.Defaults)
	if out == r.Pattern && len(reqs) == 0 && len(defs) == 0 {
		return r, errs
	}
	c := *r
	c.Pattern = out
	c.Requirements = mergeMap(r.Requirements, reqs)
	c.Defaults = mergeMap(r.Defaults, defs)
	return &c, errs
}

func mergeMap(base, add map[string]string) map[string]string {
	if len(add) == 0 {
		return base
	}
	m := make(map[string]string, len(base)+len(add))
	maps.Copy(m, add)
	maps.Copy(m, base) // explicit values win (they equal the inline ones or an error was reported)
	return m
}

// extractInline implements Route::setPattern: every "{name<req>?default}"
// becomes "{name}" and its parts are returned. An explicit requirement or
// default wins over an inline one, as in Gos (the caller merges them that
// way). "{name?}"
// (a null default in Gos, which does not make the placeholder optional)
// yields no default.
func extractInline(p, name string, src Source, explicitReqs, explicitDefs map[string]string) (string, map[string]string, map[string]string, []error) {
	if !strings.ContainsAny(p, "?<") {
		return p, nil, nil, nil
	}
	var reqs, defs map[string]string
	var errs []error
	out := inlineRe.ReplaceAllStringFunc(p, func(m string) string {
		sm := inlineRe.FindStringSubmatch(m)
		v := sm[1]
		if d := sm[3]; d != "" && d != "?" {
			if defs == nil {
				defs = map[string]string{}
			}
			defs[v] = d[1:]
		}
		if rq := sm[2]; rq != "" {
			if reqs == nil {
				reqs = map[string]string{}
			}
			reqs[v] = rq[1 : len(rq)-1]
		}
		return "{" + v + "}"
	})
	return strings.Trim(out, " \t\n\r\x00\x0B"), reqs, defs, errs
}

// sanitizeRequirement strips one leading '^' and one trailing '$' (Gos 2.x
// Route::sanitizeRequirement) and rejects an empty result.
func sanitizeRequirement(req string) (string, error) {
	req = strings.TrimPrefix(req, "^")
	req = strings.TrimSuffix(req, "$")
	if req == "" {
		return "", errors.New("cannot be empty")
	}
	return req, nil
}

// nonCapturing is RouteCompiler::transformCapturingGroupsToNonCapturings:
// every '(' not followed by '*' or '?' (and not among the last two bytes)
// gets "?:" inserted. Like the original it does not know about character
// classes.
func nonCapturing(re string) string {
	b := []byte(re)
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' {
			i++
			continue
		}
		if b[i] != '(' || i+2 >= len(b) {
			continue
		}
		i++
		if b[i] == '*' || b[i] == '?' {
			i++
			continue
		}
		b = slices.Insert(b, i, '?', ':')
		i++
	}
	return string(b)
}

// canonicalRequirement parses req (with the 's' flag of the route regex),
// removes every remaining capture (named groups, or the "()" that
// nonCapturing leaves at the end) and returns it in RE2 syntax with its
// parse tree.
func canonicalRequirement(req string) (string, *syntax.Regexp, error) {
	t, err := syntax.Parse(req, syntax.Perl|syntax.DotNL)
	if err != nil {
		return "", nil, err
	}
	t = stripCaptures(t)
	return t.String(), t, nil
}

func stripCaptures(t *syntax.Regexp) *syntax.Regexp {
	for t.Op == syntax.OpCapture {
		t = t.Sub[0]
	}
	for i, s := range t.Sub {
		t.Sub[i] = stripCaptures(s)
	}
	return t
}

// mayContain reports whether a string matched by t may contain c. It is
// conservative: false means "certainly not".
func mayContain(t *syntax.Regexp, c rune) bool {
	switch t.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return false
	case syntax.OpLiteral:
		for _, r := range t.Rune {
			if r == c || (t.Flags&syntax.FoldCase != 0 && equalFold(r, c)) {
				return true
			}
		}
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			if t.Rune[i] <= c && c <= t.Rune[i+1] {
				return true
			}
		}
		return false
	case syntax.OpAnyCharNotNL:
		return c != '\n'
	case syntax.OpAnyChar:
		return true
	}
	for _, s := range t.Sub {
		if mayContain(s, c) {
			return true
		}
	}
	return false
}

func equalFold(a, b rune) bool {
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// needsUTF8Requirement mirrors RouteCompiler's check for requirements that
// need the "utf8" option: non-ASCII bytes, or an unescaped \X, \p{…}, \pL
// style class or \x{hhh…}.
func needsUTF8Requirement(req string) bool {
	for i := 0; i < len(req); i++ {
		if req[i] >= 0x80 {
			return true
		}
		if req[i] != '\\' || i+1 >= len(req) {
			continue
		}
		rest := req[i+1:]
		switch {
		case rest[0] == 'X':
			return true
		case (rest[0] == 'p' || rest[0] == 'P') && len(rest) > 1 && strings.IndexByte("{CLMNPSZ", rest[1]) >= 0:
			return true
		case rest[0] == 'x' && len(rest) >= 5 && rest[1] == '{' && isHex(rest[2]) && isHex(rest[3]) && isHex(rest[4]):
			return true
		}
		i++
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// firstSeparator is RouteCompiler::findNextSeparator: the first static
// character after the placeholders are removed from following, if it is
// a separator; else "".
func firstSeparator(following string) string {
	if following == "" {
		return ""
	}
	rest := placeholderRe.ReplaceAllString(following, "")
	if rest == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(rest)
	if r < utf8.RuneSelf && strings.ContainsRune(separators, r) {
		return rest[:n]
	}
	return ""
}

// compile compiles r (already normalized) with PubSubRouter 2.x semantics.
func compile(r *Route) (*compiled, []error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, routeErr(r.Source, r.Name, format, args...))
	}
	p := r.Pattern
	if len(p) > MaxPatternLength {
		fail("pattern is %d bytes long; herald accepts at most %d", len(p), MaxPatternLength)
		return nil, errs
	}
	if !utf8.ValidString(p) {
		fail("pattern %q is not valid UTF-8", p)
		return nil, errs
	}
	needsUTF8 := phpTruthy(r.Options["utf8"])
	if !needsUTF8 && hasNonASCII(p) {
		fail("pattern %q has non-ASCII characters: set the \"utf8\" option (as PubSubRouter requires)", p)
		return nil, errs
	}
	ms := placeholderRe.FindAllStringIndex(p, -1)
	if len(ms) > MaxPlaceholders {
		fail("pattern has %d placeholders; herald accepts at most %d", len(ms), MaxPlaceholders)
		return nil, errs
	}

	c := &compiled{route: r}
	pos := 0
	seen := make(map[string]bool, len(ms))
	reqTrees := map[int]*syntax.Regexp{}
	for _, m := range ms {
		name := p[m[0]+1 : m[1]-1]
		preceding := p[pos:m[0]]
		pos = m[1]
		var precChar string
		if preceding != "" {
			_, n := utf8.DecodeLastRuneInString(preceding)
			precChar = preceding[len(preceding)-n:]
		}
		isSep := precChar != "" && len(precChar) == 1 && strings.Contains(separators, precChar)

		if name[0] >= '0' && name[0] <= '9' {
			fail("placeholder name %q in pattern %q must not start with a digit", name, p)
		}
		if seen[name] {
			fail("pattern %q uses placeholder %q more than once", p, name)
		}
		if len(name) > MaxPlaceholderNameLength {
			fail("placeholder name %q in pattern %q is longer than %d characters", name, p, MaxPlaceholderNameLength)
		}
		seen[name] = true

		if isSep && preceding != precChar {
			c.tokens = append(c.tokens, token{text: preceding[:len(preceding)-len(precChar)]})
		} else if !isSep && preceding != "" {
			c.tokens = append(c.tokens, token{text: preceding})
		}

		t := token{isVar: true, name: name, v: len(c.vars)}
		if isSep {
			t.text = precChar
		}
		if declared, ok := r.Requirements[name]; ok {
			req, err := sanitizeRequirement(declared)
			switch {
			case err != nil:
				fail("requirement for %q %v", name, err)
			case len(req) > MaxRequirementLength:
				fail("requirement for %q is %d bytes long; herald accepts at most %d", name, len(req), MaxRequirementLength)
			case !utf8.ValidString(req):
				fail("requirement for %q is not valid UTF-8", name)
			case !needsUTF8 && needsUTF8Requirement(req):
				fail("requirement %q for %q needs the \"utf8\" option (as PubSubRouter requires)", req, name)
			default:
				canon, tree, err := canonicalRequirement(nonCapturing(req))
				if err != nil {
					fail("requirement for %q: %q is not a valid Go (RE2) regular expression: %v", name, req, cleanRegexpErr(err))
				} else {
					t.req, t.show = canon, req
					reqTrees[t.v] = tree
				}
			}
		} else {
			next := firstSeparator(p[pos:])
			cls := `[^/`
			if next != "" && next != string(defaultSeparator) {
				cls += `\` + next
			}
			cls += `]+`
			t.req, t.show = cls, cls
			_, tree, err := canonicalRequirement(cls)
			if err != nil {
				panic("topic: default requirement " + cls + ": " + err.Error())
			}
			reqTrees[t.v] = tree
		}
		c.tokens = append(c.tokens, t)
		c.vars = append(c.vars, name)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if pos < len(p) {
		c.tokens = append(c.tokens, token{text: p[pos:]})
	}
	if len(c.vars) == 0 {
		c.static = true
		c.prefix = p
		c.segMin = strings.Count(p, "/") + 1
		c.segMax = c.segMin
		return c, nil
	}

	c.firstOptional = len(c.tokens)
	for i := len(c.tokens) - 1; i >= 0; i-- {
		t := c.tokens[i]
		if _, ok := r.Defaults[t.name]; t.isVar && ok {
			c.firstOptional = i
		} else {
			break
		}
	}

	var b strings.Builder
	b.WriteString(`(?s)^`)
	n := len(c.tokens)
	for i, t := range c.tokens {
		if !t.isVar {
			b.WriteString(regexp.QuoteMeta(t.text))
			continue
		}
		if i == 0 && c.firstOptional == 0 {
			fmt.Fprintf(&b, "%s(?P<%s>%s)?", regexp.QuoteMeta(t.text), t.name, t.req)
			continue
		}
		if i >= c.firstOptional {
			b.WriteString("(?:")
		}
		fmt.Fprintf(&b, "%s(?P<%s>%s)", regexp.QuoteMeta(t.text), t.name, t.req)
		if i >= c.firstOptional && i == n-1 {
			k := n - c.firstOptional
			if c.firstOptional == 0 {
				k--
			}
			b.WriteString(strings.Repeat(")?", k))
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		fail("pattern %q does not compile: %v", p, cleanRegexpErr(err))
		return nil, errs
	}
	if re.NumSubexp() != len(c.vars) {
		// Cannot happen: requirements are stripped of captures.
		fail("pattern %q compiles to %d groups for %d placeholders", p, re.NumSubexp(), len(c.vars))
		return nil, errs
	}
	c.re = re
	c.prefix = staticPrefix(r, c.tokens)

	c.exact = make([]*regexp.Regexp, len(c.vars))
	for _, t := range c.tokens {
		if !t.isVar {
			continue
		}
		if c.exact[t.v], err = regexp.Compile(`(?s)^(?:` + t.req + `)$`); err != nil {
			fail("requirement for %q: %q does not compile: %v", t.name, t.show, cleanRegexpErr(err))
			return nil, errs
		}
	}
	for _, tree := range reqTrees {
		c.contextual = c.contextual || hasAssertion(tree)
	}
	c.planFast(reqTrees)
	c.planSegments(reqTrees)
	return c, nil
}

// hasAssertion reports whether t holds a zero-width assertion.
func hasAssertion(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return slices.ContainsFunc(t.Sub, hasAssertion)
}

// staticPrefix is RouteCompiler::determineStaticPrefix.
func staticPrefix(r *Route, tokens []token) string {
	if len(tokens) == 0 {
		return ""
	}
	first := tokens[0]
	if first.isVar {
		if _, ok := r.Defaults[first.name]; ok || first.text == "/" {
			return ""
		}
		return first.text
	}
	prefix := first.text
	if len(tokens) > 1 {
		second := tokens[1]
		if _, ok := r.Defaults[second.name]; second.text != "/" && !ok {
			prefix += second.text
		}
	}
	return prefix
}

// planFast decides whether captures can be cut at the next static
// character: no optional tokens, and no placeholder's requirement can match
// the character that follows it.
func (c *compiled) planFast(trees map[int]*syntax.Regexp) {
	if c.firstOptional < len(c.tokens) {
		return
	}
	stops := make([]rune, len(c.tokens))
	for i, t := range c.tokens {
		stops[i] = -1
		if !t.isVar || i == len(c.tokens)-1 {
			continue
		}
		next := c.tokens[i+1]
		if next.text == "" {
			return // adjacent placeholders: "{a}{b}"
		}
		stop, _ := utf8.DecodeRuneInString(next.text)
		if mayContain(trees[t.v], stop) {
			return
		}
		stops[i] = stop
	}
	c.stops = stops
	c.fast = true
}

// planSegments computes how many '/'-separated segments a matching channel
// has, when no requirement can match '/'.
func (c *compiled) planSegments(trees map[int]*syntax.Regexp) {
	c.segMax = -1
	for _, t := range c.tokens {
		if t.isVar {
			if mayContain(trees[t.v], '/') {
				return
			}
		}
	}
	c.segMin, c.segMax = 1, 1
	for i, t := range c.tokens {
		k := strings.Count(t.text, "/")
		c.segMax += k
		if i < c.firstOptional {
			c.segMin += k
		}
	}
}

// match matches ch against c. It allocates only the returned map.
func (c *compiled) match(ch string) (map[string]string, bool) {
	if c.static {
		if ch != c.prefix {
			return nil, false
		}
		return c.params(len(c.route.Defaults)), true
	}
	if len(ch) < len(c.prefix) || ch[:len(c.prefix)] != c.prefix {
		return nil, false
	}
	if c.fast {
		if !c.re.MatchString(ch) {
			return nil, false
		}
		m := c.params(len(c.vars) + len(c.route.Defaults))
		pos := 0
		for i, t := range c.tokens {
			pos += len(t.text)
			if !t.isVar {
				continue
			}
			end := len(ch)
			if s := c.stops[i]; s >= 0 {
				end = pos + strings.IndexRune(ch[pos:], s)
			}
			m[t.name] = ch[pos:end]
			pos = end
		}
		return m, true
	}
	return c.matchSlow(ch)
}

// matchSlow matches with submatch indexes (optional tokens, adjacent
// placeholders, requirements that may contain the next character).
func (c *compiled) matchSlow(ch string) (map[string]string, bool) {
	if len(ch) < len(c.prefix) || ch[:len(c.prefix)] != c.prefix {
		return nil, false
	}
	idx := c.re.FindStringSubmatchIndex(ch)
	if idx == nil {
		return nil, false
	}
	m := c.params(len(c.vars) + len(c.route.Defaults))
	for k, name := range c.vars {
		if s := idx[2*k+2]; s >= 0 {
			m[name] = ch[s:idx[2*k+3]]
		}
	}
	return m, true
}

func (c *compiled) params(n int) map[string]string {
	m := make(map[string]string, n)
	maps.Copy(m, c.route.Defaults)
	return m
}

// generate is Gos 2.x Generator::doGenerate, except that values are
// checked as the matcher checks them (case-sensitively, see
// Router.Generate) and the channel built is matched against the route's
// own regular expression before it is returned.
func (c *compiled) generate(params map[string]string) (string, error) {
	r := c.route
	value := func(name string) (string, bool) {
		if v, ok := params[name]; ok {
			return v, true
		}
		v, ok := r.Defaults[name]
		return v, ok
	}
	var missing []string
	for _, v := range c.vars {
		if _, ok := value(v); !ok {
			missing = append(missing, v)
		}
	}
	if missing != nil {
		return "", &MissingParametersError{Route: r.Name, Names: missing}
	}
	if c.static {
		return c.prefix, nil
	}
	parts := make([]string, 0, 2*len(c.tokens))
	optional := true
	for i := len(c.tokens) - 1; i >= 0; i-- {
		t := c.tokens[i]
		if !t.isVar {
			parts = append(parts, t.text)
			optional = false
			continue
		}
		v, _ := value(t.name)
		def, hasDef := r.Defaults[t.name]
		if !optional || !hasDef || v != def {
			if !c.exact[t.v].MatchString(v) {
				return "", &InvalidParameterError{Route: r.Name, Param: t.name, Value: v, Requirement: t.show}
			}
			parts = append(parts, v, t.text)
			optional = false
		}
	}
	if len(parts) == 0 && c.firstOptional == 0 {
		// Every token is an omitted optional placeholder. The matcher
		// requires the first one's separator (RouteCompiler::computeRegexp),
		// so emit it: Gos returns "", which its own matcher rejects.
		return c.checked(c.tokens[0].text)
	}
	slices.Reverse(parts)
	return c.checked(strings.Join(parts, ""))
}

// checked returns channel if the route's regular expression matches it.
// Each value already matched its requirement alone, so the concatenation
// matches unless a requirement tests what surrounds the value (\b, $, ^
// inside an alternative): only such routes are matched again.
func (c *compiled) checked(channel string) (string, error) {
	if c.contextual && !c.re.MatchString(channel) {
		return "", &UnmatchedChannelError{Route: c.route.Name, Channel: channel}
	}
	return channel, nil
}

// cleanRegexpErr drops the "error parsing regexp: " prefix Go adds.
func cleanRegexpErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "error parsing regexp: ")
}

// quoteList quotes each name and joins them with ", ".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
