package topic

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
)

// legacyToken is one separator-delimited piece of a 0.x pattern. A token is
// a parameter when it starts with '{' and ends with '}' (Tokenizer.php);
// expr is then the text between the braces.
type legacyToken struct {
	param bool
	first bool // first occurrence of this parameter in the pattern
	expr  string
}

// legacyReq is a 0.x token requirement: {pattern, wildcard}.
type legacyReq struct {
	wildcard bool
	pattern  string         // as declared, without the folded `|\*`
	re       *regexp.Regexp // (?i)^pattern, nil without a pattern
}

// legacy is a route compiled with PubSubRouter 0.x semantics.
type legacy struct {
	route   *Route
	sep     string
	tokens  []legacyToken // nil when the pattern has no separator
	hasReqs bool
	reqs    map[string]*legacyReq
}

// compileLegacy prepares r for 0.x matching with separator sep.
func compileLegacy(r *Route, sep string) (*legacy, []error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, routeErr(r.Source, r.Name, format, args...))
	}
	p := r.Pattern
	if len(p) > MaxPatternLength {
		fail("pattern is %d bytes long; herald accepts at most %d", len(p), MaxPatternLength)
		return nil, errs
	}
	l := &legacy{route: r, sep: sep, reqs: map[string]*legacyReq{}}
	l.hasReqs = len(r.Requirements) > 0 || len(r.Wildcards) > 0
	for name, declared := range r.Requirements {
		pat := declared
		wild := r.Wildcards[name]
		if wild {
			pat = strings.TrimSuffix(pat, `|\*`)
		}
		if len(pat) > MaxRequirementLength {
			fail("requirement for %q is %d bytes long; herald accepts at most %d", name, len(pat), MaxRequirementLength)
			continue
		}
		if pat == "" && !wild {
			continue // an empty requirement counts as none (PHP empty())
		}
		lr := &legacyReq{wildcard: wild, pattern: pat}
		if pat != "" {
			re, err := regexp.Compile(`(?i)^` + pat)
			if err != nil {
				fail("requirement for %q: %q is not a valid Go (RE2) regular expression: %s", name, pat, cleanRegexpErr(err))
				continue
			}
			lr.re = re
		}
		l.reqs[name] = lr
	}
	for name, wild := range r.Wildcards {
		if _, ok := r.Requirements[name]; !ok && wild {
			l.reqs[name] = &legacyReq{wildcard: true}
		}
	}
	if strings.Contains(p, sep) {
		raw := strings.Split(p, sep)
		seen := map[string]bool{}
		l.tokens = make([]legacyToken, len(raw))
		for i, t := range raw {
			if len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}' {
				e := t[1 : len(t)-1]
				l.tokens[i] = legacyToken{param: true, expr: e, first: !seen[e]}
				seen[e] = true
			} else {
				l.tokens[i] = legacyToken{expr: t}
			}
		}
		if n := len(seen); n > MaxPlaceholders {
			fail("pattern has %d placeholders; herald accepts at most %d", n, MaxPlaceholders)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}

// tokenOK is one iteration of 0.x Matcher::compare.
func (l *legacy) tokenOK(rt legacyToken, tok string) bool {
	if l.hasReqs && rt.param {
		req := l.reqs[rt.expr]
		switch {
		case req == nil:
			// The quirk: a parameter without a requirement of its own, in a
			// route that has some, matches only its own name.
			return tok == rt.expr
		case req.wildcard && (tok == "*" || tok == "all"):
			return true
		case req.re != nil:
			return req.re.MatchString(tok)
		default:
			return true
		}
	}
	if rt.param {
		return true
	}
	return tok == rt.expr
}

func (l *legacy) match(ch string) (map[string]string, bool) {
	if l.tokens == nil {
		if ch != l.route.Pattern {
			return nil, false
		}
		return maps.Clone(nonNil(l.route.Defaults)), true
	}
	if strings.Count(ch, l.sep)+1 != len(l.tokens) {
		return nil, false
	}
	rest := ch
	for _, rt := range l.tokens {
		tok, after, _ := strings.Cut(rest, l.sep)
		rest = after
		if !l.tokenOK(rt, tok) {
			return nil, false
		}
	}
	m := make(map[string]string, len(l.tokens)+len(l.route.Defaults))
	maps.Copy(m, l.route.Defaults)
	if !l.hasReqs {
		// 0.x records attributes only for routes with requirements.
		return m, true
	}
	rest = ch
	for _, rt := range l.tokens {
		tok, after, _ := strings.Cut(rest, l.sep)
		rest = after
		if rt.param && rt.first {
			m[rt.expr] = tok
		}
	}
	return m, true
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// generate is 0.x Generator::generateFromTokens, with two fixes: a
// parameter without a pattern keeps its value (0.x dropped it) and a
// pattern without separator generates itself (0.x returned "").
func (l *legacy) generate(params map[string]string) (string, error) {
	r := l.route
	if l.tokens == nil {
		return r.Pattern, nil
	}
	value := func(name string) (string, bool) {
		if v, ok := params[name]; ok {
			return v, true
		}
		v, ok := r.Defaults[name]
		return v, ok
	}
	var missing []string
	for _, t := range l.tokens {
		if _, ok := value(t.expr); t.param && t.first && !ok {
			missing = append(missing, t.expr)
		}
	}
	if missing != nil {
		return "", &MissingParametersError{Route: r.Name, Names: missing}
	}
	parts := make([]string, len(l.tokens))
	for i, t := range l.tokens {
		if !t.param {
			parts[i] = t.expr
			continue
		}
		v, _ := value(t.expr)
		req := l.reqs[t.expr]
		switch {
		case req != nil && req.wildcard && (v == "*" || v == "all"):
		case req != nil && req.re != nil && !req.re.MatchString(v):
			return "", &InvalidParameterError{Route: r.Name, Param: t.expr, Value: v, Requirement: req.pattern}
		}
		parts[i] = v
	}
	return strings.Join(parts, l.sep), nil
}

// reason explains why ch does not match (0.x semantics); "" when it does.
func (l *legacy) reason(ch string) string {
	if l.tokens == nil {
		if strings.Contains(ch, l.sep) {
			return fmt.Sprintf("pattern has no %q separator, so the channel must equal %q", l.sep, l.route.Pattern)
		}
		if ch != l.route.Pattern {
			return fmt.Sprintf("static part %q differs from %q (0.x compares a channel without separator as a whole)", l.route.Pattern, ch)
		}
		return ""
	}
	if !strings.Contains(ch, l.sep) {
		return fmt.Sprintf("channel has 1 segment, pattern %d", len(l.tokens))
	}
	if n := strings.Count(ch, l.sep) + 1; n != len(l.tokens) {
		return fmt.Sprintf("channel has %d segments, pattern %d", n, len(l.tokens))
	}
	rest := ch
	for _, rt := range l.tokens {
		tok, after, _ := strings.Cut(rest, l.sep)
		rest = after
		if l.tokenOK(rt, tok) {
			continue
		}
		if !rt.param {
			return fmt.Sprintf("static part %q differs from %q", rt.expr, tok)
		}
		req := l.reqs[rt.expr]
		if req == nil {
			return fmt.Sprintf("placeholder %s has no requirement while the route has some: PubSubRouter 0.x then matches only the literal %q, not %q", rt.expr, rt.expr, tok)
		}
		msg := fmt.Sprintf("placeholder %s: %q does not match requirement %s (0.x: anchored at the start, case-insensitive)", rt.expr, tok, req.pattern)
		if req.wildcard {
			msg += `; the wildcard also accepts "*" and "all"`
		}
		return msg
	}
	return ""
}
