package config

import (
	"errors"
	"fmt"
	"strings"
)

// Errorf returns an *Error about the key at path, positioned where the key
// got its value: the flag or variable that set it after the file (see
// SetBy), else its line in the file, else the line of the nearest
// enclosing key that is in the file. The message starts with path; a %w
// verb in format is unwrapped by errors.Is and errors.As.
func (c *Config) Errorf(path, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	e := &Error{Source: c.source, Path: path, Msg: path + ": " + err.Error(), Err: errors.Unwrap(err)}
	if path == "" {
		e.Msg = err.Error()
	}
	if what, ok := c.setBy[path]; ok {
		e.Source, e.Line = what, 0
		return e
	}
	e.Line = c.line(path)
	return e
}

// SetBy records that what (a flag such as "flag -p/--port", an environment
// variable) set the key at path after the file was read, so that errors
// about it name what set it instead of the file.
func (c *Config) SetBy(path, what string) {
	if c.setBy == nil {
		c.setBy = map[string]string{}
	}
	c.setBy[path] = what
}

// Source returns the name of the file the configuration was read from, ""
// for Default.
func (c *Config) Source() string { return c.source }

// line returns the line of the key at path in the file or, when it is not
// there, of its nearest enclosing key; 0 when none is.
func (c *Config) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}
