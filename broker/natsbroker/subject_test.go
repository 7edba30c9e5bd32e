package natsbroker

import (
	"strings"
	"testing"
)

// checkSubject asserts what EncodeSubject promises for prefix and topic.
func checkSubject(t *testing.T, prefix, topic string) {
	t.Helper()
	subj := EncodeSubject(prefix, topic)
	if !strings.HasPrefix(subj, prefix+".") {
		t.Fatalf("EncodeSubject(%q, %q) = %q: not under the prefix", prefix, topic, subj)
	}
	tokens := strings.Split(subj, ".")
	if want := strings.Count(prefix, ".") + 2; len(tokens) != want {
		t.Fatalf("EncodeSubject(%q, %q) = %q: %d tokens, want %d", prefix, topic, subj, len(tokens), want)
	}
	token := tokens[len(tokens)-1]
	if token == "" {
		t.Fatalf("EncodeSubject(%q, %q) = %q: empty token", prefix, topic, subj)
	}
	for _, c := range []byte(token) {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			t.Fatalf("EncodeSubject(%q, %q) = %q: token holds %q", prefix, topic, subj, c)
		}
	}
	got, err := DecodeSubject(prefix, subj)
	if err != nil || got != topic {
		t.Fatalf("DecodeSubject(%q, %q) = %q, %v; want %q", prefix, subj, got, err, topic)
	}
}

func TestSubject(t *testing.T) {
	topics := []string{
		"", "a", "ab", "abc", "abcd", "chat/room.1", "a.b.c", "*", ">", "a.>", "a.*.b",
		"with space", "tab\there", "new\nline", "\x00", "日本語/チャット", "🎉", "\xff\xfe invalid utf-8",
		"_", "-", "=", "..", ".", strings.Repeat("x", 5000),
	}
	for _, prefix := range []string{"herald", "a.b.c", "cluster-1_x", "ünï"} {
		for _, topic := range topics {
			checkSubject(t, prefix, topic)
		}
	}
	if got := EncodeSubject("herald", "chat/room.1"); got != "herald.Y2hhdC9yb29tLjE" {
		t.Errorf("EncodeSubject = %q", got)
	}
	if got := EncodeSubject("herald", ""); got != "herald._" {
		t.Errorf("EncodeSubject of the empty topic = %q", got)
	}
}

func TestDecodeSubjectRejects(t *testing.T) {
	for _, subj := range []string{
		"", "herald", "herald.", "other.YQ", "heraldx.YQ", "herald.YQ.YQ", "herald.*", "herald.>",
		"herald.Y", "herald.YR", "herald.YQ==", "herald.Y Q", "herald.a+b/", "herald.__",
	} {
		if topic, err := DecodeSubject("herald", subj); err == nil {
			t.Errorf("DecodeSubject(herald, %q) = %q, nil; want an error", subj, topic)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"herald", "a.b", "prod-eu_1", "ünï", "$x"} {
		if err := ValidPrefix(p); err != nil {
			t.Errorf("ValidPrefix(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", ".", "a.", ".a", "a..b", "a.*", "a.>", "a b", "a\tb", "a\x00", "\xff", "a\u00a0b", strings.Repeat("a", MaxSubjectLen)} {
		if ValidPrefix(p) == nil {
			t.Errorf("ValidPrefix(%q) = nil, want an error", p)
		}
	}
}

// FuzzSubject: every topic round-trips, as one non-empty token of the
// base64url alphabet (no dot, no wildcard, no whitespace) under the
// prefix; DecodeSubject never accepts a subject EncodeSubject does not
// produce.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"", "a", "chat/room.1", "a.*.>", "sp ace", "日本", "\x00\xff", "herald.YQ", "herald._"} {
		f.Add("herald", s)
		f.Add("a.b", s)
	}
	f.Fuzz(func(t *testing.T, prefix, topic string) {
		if ValidPrefix(prefix) != nil {
			prefix = "herald"
		}
		checkSubject(t, prefix, topic)
		// topic read as a subject: if it decodes, it is canonical.
		if got, err := DecodeSubject(prefix, topic); err == nil {
			if again := EncodeSubject(prefix, got); again != topic {
				t.Fatalf("DecodeSubject(%q, %q) = %q, which encodes to %q", prefix, topic, got, again)
			}
		}
	})
}
