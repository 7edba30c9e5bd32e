package push

import (
	"testing"
	"time"
)

func TestConfigValues(t *testing.T) {
	if s, err := String(5672); err != nil || s != "5672" {
		t.Errorf("String(5672) = %q, %v", s, err)
	}
	if _, err := String([]string{"x"}); err == nil {
		t.Error("String accepted a list")
	}
	for in, want := range map[any]int{nil: 0, 5: 5, int64(6): 6, 7.0: 7, " 8 ": 8} {
		if got, err := Int(in); err != nil || got != want {
			t.Errorf("Int(%v) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []any{1.5, "x", true, int64(1 << 40)} {
		if _, err := Int(bad); err == nil {
			t.Errorf("Int(%v) accepted", bad)
		}
	}
	if b, err := Bool("true"); err != nil || !b {
		t.Errorf("Bool(true) = %v, %v", b, err)
	}
	if _, err := Bool(1); err == nil {
		t.Error("Bool(1) accepted")
	}
	for in, want := range map[any]time.Duration{nil: 0, 2: 2 * time.Second, 0.5: 500 * time.Millisecond, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		if got, err := Duration(in); err != nil || got != want {
			t.Errorf("Duration(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []any{-1, "soon", true} {
		if _, err := Duration(bad); err == nil {
			t.Errorf("Duration(%v) accepted", bad)
		}
	}
}
