package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration that decodes from YAML either as an integer
// number of seconds (30) or as a Go duration string ("45s", "1m30s").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML encodes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML decodes an integer number of seconds or a Go duration
// string. A null value leaves d unchanged.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!int":
			var secs int64
			if err := n.Decode(&secs); err == nil &&
				secs <= math.MaxInt64/int64(time.Second) && secs >= math.MinInt64/int64(time.Second) {
				*d = Duration(time.Duration(secs) * time.Second)
				return nil
			}
		case "!!str":
			if secs, err := strconv.ParseInt(n.Value, 10, 64); err == nil &&
				secs <= math.MaxInt64/int64(time.Second) && secs >= math.MinInt64/int64(time.Second) {
				*d = Duration(time.Duration(secs) * time.Second)
				return nil
			}
			if v, err := time.ParseDuration(n.Value); err == nil {
				*d = Duration(v)
				return nil
			}
		}
	}
	return wantError("a duration such as \"10s\" or integer seconds", n)
}

// Size is a number of bytes that decodes from YAML either as an integer
// (65536) or as a string with a unit: B, KB (1000), MB, GB, KiB (1024), MiB,
// GiB, case-insensitive ("64KiB", "512KB", "100B").
type Size int64

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

var sizeRE = regexp.MustCompile(`^\s*(\d+)\s*([A-Za-z]*)\s*$`)

// ParseSize parses a size string such as "64KiB", "512KB" or "100".
func ParseSize(s string) (Size, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, MB, GB, KiB, MiB or GiB)", s, m[2])
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n * mult), nil
}

// String formats s with the largest binary unit that divides it exactly
// ("64KiB", "1MiB", "1000B").
func (s Size) String() string {
	switch {
	case s != 0 && s%(1<<30) == 0:
		return strconv.FormatInt(int64(s>>30), 10) + "GiB"
	case s != 0 && s%(1<<20) == 0:
		return strconv.FormatInt(int64(s>>20), 10) + "MiB"
	case s != 0 && s%(1<<10) == 0:
		return strconv.FormatInt(int64(s>>10), 10) + "KiB"
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalYAML encodes s as String does.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML decodes an integer number of bytes or a size string (see
// Size). A null value leaves s unchanged.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!int":
			var v int64
			if err := n.Decode(&v); err == nil {
				*s = Size(v)
				return nil
			}
		case "!!str":
			v, err := ParseSize(n.Value)
			if err == nil {
				*s = v
				return nil
			}
			if sizeRE.MatchString(n.Value) {
				return err // a number with a bad unit, or too large
			}
		}
	}
	return wantError(`a size in bytes such as 65536 or "64KiB"`, n)
}

// wantError describes a node that does not hold the wanted type.
func wantError(want string, n *yaml.Node) error {
	return errors.New("want " + want + ", got " + describe(n))
}

// describe names what a node holds, for error messages.
func describe(n *yaml.Node) string {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}
