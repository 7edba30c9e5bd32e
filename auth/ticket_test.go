package auth

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTicketEncodeParseRoundTrip(t *testing.T) {
	in := Ticket{Digest: "d+/=", Username: "jöhn", Nonce: "0123456789abcdef", Created: "2025-01-02T03:04:05+00:00"}
	got, err := ParseTicket(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got != in {
		t.Fatalf("round trip: %+v, want %+v", got, in)
	}
	raw, _ := base64.StdEncoding.DecodeString(in.Encode())
	if string(raw) != "d+/=;jöhn;0123456789abcdef;2025-01-02T03:04:05+00:00" {
		t.Fatalf("wire form %q", raw)
	}
}

func TestParseTicketInvalidFormat(t *testing.T) {
	for _, enc := range []string{
		"",
		b64("a;b;c"),     // two ";"
		b64("abc"),       // none
		"%%%%",           // nothing in the alphabet: decodes to ""
		"!!!;;;;",        // ";" is not base64: skipped too
		b64("a;b;c")[1:], // shifted: garbage
	} {
		_, err := ParseTicket(enc)
		var te *TicketError
		if !errors.As(err, &te) || te.Reason != ReasonInvalidFormat {
			t.Errorf("ParseTicket(%q) err = %v, want invalid format", enc, err)
		}
		if err != nil && err.Error() != "Authentication ticket has invalid format" {
			t.Errorf("message %q", err.Error())
		}
	}
}

func TestParseTicketTakesFirstFourFields(t *testing.T) {
	got, err := ParseTicket(b64("d;u;n;c;extra;more"))
	if err != nil {
		t.Fatal(err)
	}
	if (got != Ticket{"d", "u", "n", "c"}) {
		t.Fatalf("got %+v", got)
	}
	got, err = ParseTicket(b64(";;;"))
	if err != nil || (got != Ticket{}) {
		t.Fatalf(`";;;" -> %+v, %v; want four empty fields`, got, err)
	}
}

func TestParseTicketNonStrictBase64(t *testing.T) {
	want := Ticket{"digest==", "bob", "0123456789abcdef", "2025-01-02T03:04:05+00:00"}
	enc := want.Encode()
	// Junk anywhere is skipped, as PHP's base64_decode($s) does.
	junk := enc[:5] + " \n\t!-_*" + enc[5:10] + "===" + enc[10:] + "%%"
	got, err := ParseTicket(junk)
	if err != nil || got != want {
		t.Fatalf("with junk: %+v, %v; want %+v", got, err, want)
	}
	// Padding may be missing.
	got, err = ParseTicket(strings.TrimRight(enc, "="))
	if err != nil || got != want {
		t.Fatalf("unpadded: %+v, %v", got, err)
	}
}

func TestPHPBase64DecodeMatchesPHP(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	inputs := []string{"", "=", "QQ", "QQ=", "QQ==", "QUI", "QUJD", "Q", "QUJDR", "Q=U=J=D", "-_-_", "QU JD\n", "\x00\xffQUJD", "YWJj;ZGVm"}
	for range 300 {
		var b strings.Builder
		for range r.IntN(40) {
			switch r.IntN(10) {
			case 0:
				b.WriteByte(byte(r.IntN(256)))
			case 1:
				b.WriteByte('=')
			default:
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
		}
		inputs = append(inputs, b.String())
	}
	var wire []string
	for _, s := range inputs {
		wire = append(wire, base64.StdEncoding.EncodeToString([]byte(s)))
	}
	var out []string
	runPHP(t, "b64", wire, &out)
	if len(out) != len(inputs) {
		t.Fatalf("php answered %d, want %d", len(out), len(inputs))
	}
	for i, s := range inputs {
		if got := hex.EncodeToString(phpBase64Decode(s)); got != out[i] {
			t.Errorf("base64_decode(%q): Go %s, PHP %s", s, got, out[i])
		}
	}
}

func TestTicketFromQuery(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"ticket=abc", "abc"},
		{"ticket=a+b", "a b"},            // "+" is a space
		{"ticket=a%2Bb", "a+b"},          // encodeURIComponent keeps it
		{"ticket=a%3D%3D", "a=="},        // padding
		{"ticket=a%zz%4", "a%zz%4"},      // bad escapes stay
		{"ticket=one&ticket=two", "two"}, // last wins
		{"x=1&&ticket=t&", "t"},
		{"ticket", ""},
		{"ticket=", ""},
		{"tick%65t=e", "e"},      // names are decoded
		{"+ticket=lead", "lead"}, // leading spaces dropped
		{"ticket+=trail", ""},    // "ticket_"
		{"ticket.=dot", ""},      // "ticket_"
		{"ticket[]=arr", ""},     // array
		{"ticket=s&ticket[x]=arr", ""},
		{"ticket[]=arr&ticket=s", "s"},
		{"ticket[=open", ""}, // "ticket_"
		{"ticket%00junk=nul", "nul"},
		{"Ticket=caps", ""},
		{"", ""},
	} {
		if got := TicketFromQuery(c.query); got != c.want {
			t.Errorf("TicketFromQuery(%q) = %q, want %q", c.query, got, c.want)
		}
	}
}

func TestTicketFromQueryMaxInputVars(t *testing.T) {
	q := strings.Repeat("a=1&", 999) + "ticket=in&" + "ticket=out"
	if got := TicketFromQuery(q); got != "in" {
		t.Fatalf("got %q: the 1,001st variable must be ignored", got)
	}
}

func TestTicketFromQueryMatchesPHP(t *testing.T) {
	queries := []string{
		"ticket=abc", "ticket=a+b", "ticket=a%2Bb", "ticket=a%zz%4", "ticket=one&ticket=two",
		"x=1&&ticket=t&", "ticket", "ticket=", "tick%65t=e", "+ticket=lead", "%20ticket=lead2",
		"ticket+=trail", "ticket.=dot", "ticket[]=arr", "ticket=s&ticket[x]=arr", "ticket[]=arr&ticket=s",
		"ticket[=open", "ticket[a=open2", "ticket%00junk=nul", "Ticket=caps", "", "&&&", "=x&ticket=y",
		"ticket=%00%ff", "ticket=a=b=c", "ticket=x;y", "a[=1&ticket=2", "ticket]=3", " ticket[ ]=4",
		strings.Repeat("a=1&", 999) + "ticket=in&ticket=out",
		"ticket=" + url.QueryEscape(MintAnonymousTicket("s", time.Unix(0, 0))),
	}
	var wire []string
	for _, q := range queries {
		wire = append(wire, base64.StdEncoding.EncodeToString([]byte(q)))
	}
	var out []struct{ Kind, Hex string }
	runPHP(t, "parsestr", wire, &out)
	if len(out) != len(queries) {
		t.Fatalf("php answered %d, want %d", len(out), len(queries))
	}
	for i, q := range queries {
		want := ""
		if out[i].Kind == "string" {
			b, _ := hex.DecodeString(out[i].Hex)
			want = string(b)
		}
		if got := TicketFromQuery(q); got != want {
			t.Errorf("query %q: Go %q, PHP %s %q", q, got, out[i].Kind, want)
		}
	}
}

func TestMintTicketFormat(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	now := time.Date(2025, 1, 2, 3, 4, 5, 999, zone)
	enc := MintTicket("secret", "alice", "hash", now)
	tk, err := ParseTicket(enc)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Username != "alice" || tk.Created != "2025-01-02T03:04:05+02:00" {
		t.Fatalf("ticket %+v", tk)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(tk.Nonce) {
		t.Fatalf("nonce %q: want 16 hex", tk.Nonce)
	}
	want, _ := HashPassword(tk.Nonce+"|"+tk.Created+"|hash", "secret")
	if tk.Digest != want {
		t.Fatalf("digest %q, want %q", tk.Digest, want)
	}
	utc := MintAnonymousTicket("secret", now.UTC())
	tu, _ := ParseTicket(utc)
	if tu.Created != "2025-01-02T01:04:05+00:00" || tu.Username != "" {
		t.Fatalf("anonymous %+v", tu)
	}
	if MintTicket("secret", "a", "b", now) == enc {
		t.Fatal("two tickets with one nonce")
	}
	if got := MintTicket("bad{secret}", "", "x", now); got != "" {
		t.Fatalf("bad secret minted %q", got)
	}
	if _, err := NewTicket("bad{secret}", "", "x", now); !errors.Is(err, ErrInvalidSalt) {
		t.Fatalf("NewTicket bad secret: %v", err)
	}
}

func TestParseCreated(t *testing.T) {
	for _, c := range createdCases {
		got, ok := parseCreated(c.s)
		if ok != c.ok || got != c.want {
			t.Errorf("parseCreated(%q) = %d, %v; want %d, %v", c.s, got, ok, c.want, c.ok)
		}
	}
}

// TestParseCreatedMatchesStrtotime checks every form parseCreated accepts
// against PHP's strtotime (timezone UTC).
func TestParseCreatedMatchesStrtotime(t *testing.T) {
	var in []string
	for _, c := range createdCases {
		if c.ok {
			in = append(in, c.s)
		}
	}
	var out []any
	runPHP(t, "strtotime", in, &out)
	for i, s := range in {
		got, _ := parseCreated(s)
		f, isNum := out[i].(float64)
		if !isNum || int64(f) != got {
			t.Errorf("created %q: Go %d, strtotime %v", s, got, out[i])
		}
	}
}

var createdBase = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Unix()

var createdCases = func() []struct {
	s    string
	want int64
	ok   bool
} {
	base := createdBase
	return []struct {
		s    string
		want int64
		ok   bool
	}{
		{"2025-01-02T03:04:05+00:00", base, true},
		{"2025-01-02T05:04:05+02:00", base, true},
		{"2025-01-01T22:04:05-05:00", base, true},
		{"2025-01-02T03:04:05Z", base, true},
		{"2025-01-02T03:04:05z", base, true},
		{"2025-01-02T08:34:05+0530", base, true},
		{"2025-01-02T04:04:05+01", base, true},
		{"2025-01-02T03:04:05", base, true},
		{"2025-01-02 03:04:05+00:00", base, true},
		{"2025-01-02T03:04:05.987654+00:00", base, true},
		{"2025-01-02T03:04:05.+00:00", 0, false},
		{"2025-13-02T03:04:05+00:00", 0, false},
		{"2025-01-02X03:04:05+00:00", 0, false},
		{"2025-01-02T03:04:05 UTC", 0, false},
		{"yesterday", 0, false},
		{"", 0, false},
	}
}()

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
