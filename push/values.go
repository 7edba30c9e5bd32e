package push

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The functions below read the values of a transport's configuration map
// (decoded YAML) for the factories given to RegisterHandler and
// RegisterPusher: YAML gives ints, floats, bools and strings, and a
// missing value (nil) reads as the zero value.

// String reads a string; a number is taken as its text (a numeric password
// or vhost in YAML).
func String(v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	case int, int64, uint64, float64:
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

// Int reads an integer, also from a numeric string.
func Int(v any) (int, error) {
	switch n := v.(type) {
	case nil:
		return 0, nil
	case int:
		return n, nil
	case int64:
		if n > math.MaxInt32 || n < math.MinInt32 {
			return 0, fmt.Errorf("%d is out of range", n)
		}
		return int(n), nil
	case uint64:
		if n > math.MaxInt32 {
			return 0, fmt.Errorf("%d is too large", n)
		}
		return int(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
			return 0, fmt.Errorf("want an integer, got %v", n)
		}
		return int(n), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

// Bool reads a boolean, also from "true", "false", "1" or "0".
func Bool(v any) (bool, error) {
	switch b := v.(type) {
	case nil:
		return false, nil
	case bool:
		return b, nil
	case string:
		r, err := strconv.ParseBool(strings.TrimSpace(b))
		if err != nil {
			return false, fmt.Errorf("want a boolean, got %q", b)
		}
		return r, nil
	}
	return false, fmt.Errorf("want a boolean, got %T", v)
}

// Duration reads a Go duration string ("1.5s") or a number of seconds, as
// gos_web_socket's timeouts are given.
func Duration(v any) (time.Duration, error) {
	var secs float64
	switch d := v.(type) {
	case nil:
		return 0, nil
	case time.Duration:
		return d, nil
	case int:
		secs = float64(d)
	case int64:
		secs = float64(d)
	case uint64:
		secs = float64(d)
	case float64:
		secs = d
	case string:
		s := strings.TrimSpace(d)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			secs = f
			break
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a duration (\"1.5s\") or seconds, got %q", d)
		}
		return dur, nil
	default:
		return 0, fmt.Errorf("want a duration or seconds, got %T", v)
	}
	if secs < 0 || secs > math.MaxInt64/float64(time.Second) || math.IsNaN(secs) {
		return 0, fmt.Errorf("%v seconds is out of range", secs)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
