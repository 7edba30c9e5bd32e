package topic

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Miss is a route that did not match a channel, and why.
type Miss struct {
	// Route is the route (shared, read-only).
	Route *Route
	// Reason says what differs, e.g. `static part "oro/ping" differs from
	// "oro/pong"`, `placeholder user_id: "abc" does not match requirement
	// \d+` or "channel has 3 segments, pattern 4".
	Reason string
}

// Explain returns up to max routes (all when max <= 0) that do not match
// channel, closest first, each with the reason it does not match.
// Closeness is an edit distance over separator-delimited segments: equal
// segments cost nothing, a placeholder segment little, differing static
// segments by how much of them differs. Routes that match channel are left
// out. Explain is meant for diagnostics (logs, "herald routes --match");
// its cost is bounded per route whatever the channel's length.
func (r *Router) Explain(channel string, max int) []Miss {
	type cand struct {
		miss Miss
		dist float64
		idx  int
	}
	sep := "/"
	if r.opts.Legacy {
		sep = r.opts.TokenSeparator
	}
	var cands []cand
	for i, rt := range r.routes {
		var reason string
		if r.opts.Legacy {
			if _, ok := r.legacy[i].match(channel); ok {
				continue
			}
			reason = r.legacy[i].reason(channel)
		} else {
			c := r.compiled[i]
			if _, ok := c.match(channel); ok {
				continue
			}
			reason = c.reason(channel)
		}
		cands = append(cands, cand{Miss{rt, reason}, distance(channel, rt.Pattern, sep), i})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	if max > 0 && len(cands) > max {
		cands = cands[:max]
	}
	out := make([]Miss, len(cands))
	for i, c := range cands {
		out[i] = c.miss
	}
	return out
}

// reason explains why ch does not match c (2.x semantics).
func (c *compiled) reason(ch string) string {
	if c.static {
		return fmt.Sprintf("static part %q differs from %q", c.prefix, clip(ch, len(c.prefix)+16))
	}
	if c.segMax >= 0 {
		n := strings.Count(ch, "/") + 1
		switch {
		case c.segMin == c.segMax && n != c.segMin:
			return fmt.Sprintf("channel has %d segments, pattern %d", n, c.segMin)
		case n < c.segMin || n > c.segMax:
			return fmt.Sprintf("channel has %d segments, pattern %d to %d", n, c.segMin, c.segMax)
		}
	}
	pos := 0
	walked := true
walk:
	for i, t := range c.tokens {
		if !t.isVar {
			if !strings.HasPrefix(ch[pos:], t.text) {
				return fmt.Sprintf("static part %q differs from %q", t.text, clip(ch[pos:], len(t.text)))
			}
			pos += len(t.text)
			continue
		}
		if pos == len(ch) {
			if i >= c.firstOptional {
				break walk
			}
			if t.text != "" {
				return fmt.Sprintf("channel ends where %q and placeholder %s are expected", t.text, t.name)
			}
			return fmt.Sprintf("channel ends where placeholder %s is expected", t.name)
		}
		if !strings.HasPrefix(ch[pos:], t.text) {
			return fmt.Sprintf("expected %q before placeholder %s, found %q", t.text, t.name, clip(ch[pos:], len(t.text)))
		}
		pos += len(t.text)
		end := len(ch)
		if i+1 < len(c.tokens) {
			next := c.tokens[i+1]
			if next.text == "" {
				walked = false // adjacent placeholders: no simple cut
				break walk
			}
			stop, _ := utf8.DecodeRuneInString(next.text)
			if k := strings.IndexRune(ch[pos:], stop); k >= 0 {
				end = pos + k
			}
		}
		v := ch[pos:end]
		if !c.exact[t.v].MatchString(v) {
			return fmt.Sprintf("placeholder %s: %q does not match requirement %s", t.name, clip(v, 64), t.show)
		}
		pos = end
	}
	if walked && pos < len(ch) {
		return fmt.Sprintf("channel continues with %q after the pattern ends", clip(ch[pos:], 32))
	}
	return fmt.Sprintf("channel does not match the route's regular expression %s", c.re)
}

// clip shortens s to about n bytes (on a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// maxSegments bounds the segments distance compares: the rest of a longer
// channel or pattern counts as one segment.
const maxSegments = 16

// maxSegmentBytes bounds the bytes of a segment distance compares.
const maxSegmentBytes = 64

// distance is an edit distance between a channel and a pattern over
// sep-delimited segments.
func distance(ch, pattern, sep string) float64 {
	a := segments(ch, sep)
	b := segments(pattern, sep)
	prev := make([]float64, len(b)+1)
	cur := make([]float64, len(b)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(b); j++ {
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+segmentCost(a[i-1], b[j-1]))
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func segments(s, sep string) []string {
	parts := strings.SplitN(s, sep, maxSegments)
	for i, p := range parts {
		if len(p) > maxSegmentBytes {
			parts[i] = p[:maxSegmentBytes]
		}
	}
	return parts
}

// segmentCost is 0 for equal segments, 0.3 for a placeholder segment, and
// otherwise the share of the longer segment not covered by the common
// prefix and suffix (at least 0.4, so a near miss still costs more than a
// placeholder).
func segmentCost(ch, pat string) float64 {
	if ch == pat {
		return 0
	}
	if strings.Contains(pat, "{") {
		return 0.3
	}
	n := max(len(ch), len(pat))
	p := 0
	for p < len(ch) && p < len(pat) && ch[p] == pat[p] {
		p++
	}
	s := 0
	for s < len(ch)-p && s < len(pat)-p && ch[len(ch)-1-s] == pat[len(pat)-1-s] {
		s++
	}
	return max(0.4, 1-float64(p+s)/float64(n))
}
