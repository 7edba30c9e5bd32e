package config

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var osLookupEnv = os.LookupEnv

var (
	envRE     = regexp.MustCompile(`%env\(([^()%]*)\)%`)
	envNameRE = regexp.MustCompile(`^\w+$`)
)

// expand replaces the %env()% placeholders of scalar n in place and sets its
// tag so that the result is typed as ParseWithEnv documents. It
// reports false after recording an error.
func (d *decoder) expand(n *yaml.Node, path string) bool {
	orig := n.Value
	if !strings.Contains(orig, "%env(") {
		return true
	}
	if strings.Contains(envRE.ReplaceAllString(orig, ""), "%env(") {
		d.fail(n, path, fmt.Sprintf("malformed placeholder in %q: write %%env(NAME)%%", orig))
		return false
	}
	locs := envRE.FindAllStringSubmatchIndex(orig, -1)
	whole := len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(orig)
	var b strings.Builder
	last, proc, ok := 0, "", true
	for _, m := range locs {
		b.WriteString(orig[last:m[0]])
		last = m[1]
		p, val, err := d.env(orig[m[2]:m[3]])
		if err != nil {
			d.fail(n, path, err.Error())
			ok = false
			continue
		}
		proc = p
		b.WriteString(val)
	}
	if !ok {
		return false
	}
	b.WriteString(orig[last:])
	n.Value = b.String()
	d.from[n] = orig
	if !whole || proc == "string" || n.Value == "" {
		n.Tag = "!!str"
	} else {
		// Typed as if written unquoted: "8080" is an integer, "true" a boolean.
		n.Tag, n.Style = "", 0
	}
	return true
}

// env resolves the inside of one placeholder, "NAME" or "processor:NAME".
func (d *decoder) env(inner string) (proc, val string, err error) {
	parts := strings.Split(inner, ":")
	name := parts[len(parts)-1]
	if !envNameRE.MatchString(name) {
		return "", "", fmt.Errorf("%%env(%s)%%: invalid environment variable name %q", inner, name)
	}
	switch len(parts) {
	case 1:
	case 2:
		proc = parts[0]
		switch proc {
		case "string", "int", "float", "bool":
		default:
			return "", "", fmt.Errorf("%%env(%s)%%: unsupported processor %q (herald supports string, int, float, bool)", inner, proc)
		}
	default:
		return "", "", fmt.Errorf("%%env(%s)%%: only one processor is supported", inner)
	}
	val, ok := d.lookup(name)
	if !ok {
		return "", "", fmt.Errorf("environment variable %q is not set", name)
	}
	switch proc {
	case "int":
		val = strings.TrimSpace(val)
		if _, err := strconv.ParseInt(val, 10, 64); err != nil {
			return "", "", fmt.Errorf("%%env(%s)%%: %q is not an integer", inner, val)
		}
	case "float":
		val = strings.TrimSpace(val)
		if _, err := strconv.ParseFloat(val, 64); err != nil {
			return "", "", fmt.Errorf("%%env(%s)%%: %q is not a number", inner, val)
		}
	case "bool":
		switch strings.ToLower(strings.TrimSpace(val)) {
		case "1", "true", "yes", "on":
			val = "true"
		case "", "0", "false", "no", "off":
			val = "false"
		default:
			return "", "", fmt.Errorf("%%env(%s)%%: %q is not a boolean", inner, val)
		}
	}
	return proc, val, nil
}
