package natsbroker

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultPrefix is the subject prefix when Config.Prefix is empty.
const DefaultPrefix = "herald"

// MaxSubjectLen bounds the length of a subject this package sends. A NATS
// server refuses protocol lines longer than its max_control_line (4 KiB by
// default) by closing the connection, which would cut every topic of the
// node; a topic whose subject would be longer is refused by Publish and
// Subscribe instead. With the default prefix that allows topics of up to
// 2,298 bytes.
const MaxSubjectLen = 3072

// emptyToken stands for the empty topic. Unpadded base64 never has a length
// of 1 modulo 4, so no topic encodes to it.
const emptyToken = "_"

// topicEncoding is base64url without padding: its alphabet [A-Za-z0-9_-]
// has no '.', no wildcard ('*', '>') and no whitespace. Decoding is strict,
// so every topic has exactly one token and every token one topic.
var topicEncoding = base64.RawURLEncoding.Strict()

// EncodeSubject returns the NATS subject of topic under prefix: prefix, a
// dot, and the topic as one token of base64url without padding ("_" for
// the empty topic). Any topic string is safe: the token is never empty and
// never holds a dot, a wildcard or whitespace, so the subject has exactly
// one token more than prefix and matches only itself. prefix must satisfy
// ValidPrefix.
func EncodeSubject(prefix, topic string) string {
	if topic == "" {
		return prefix + "." + emptyToken
	}
	n := len(prefix) + 1 + topicEncoding.EncodedLen(len(topic))
	b := make([]byte, len(prefix)+1, n)
	copy(b, prefix)
	b[len(prefix)] = '.'
	b = topicEncoding.AppendEncode(b, []byte(topic))
	return string(b)
}

// DecodeSubject returns the topic that EncodeSubject(prefix, topic)
// encoded into subject, or an error when subject is not such a subject.
func DecodeSubject(prefix, subject string) (string, error) {
	token, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return "", fmt.Errorf("natsbroker: subject %q is not under prefix %q", subject, prefix)
	}
	if token == emptyToken {
		return "", nil
	}
	if token == "" || strings.IndexByte(token, '.') >= 0 {
		return "", fmt.Errorf("natsbroker: subject %q is not one token under prefix %q", subject, prefix)
	}
	topic, err := topicEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("natsbroker: subject %q: %w", subject, err)
	}
	return string(topic), nil
}

// ValidPrefix reports whether prefix can lead subjects: one or more
// dot-separated tokens, none empty, none holding a wildcard ('*', '>'),
// whitespace or a control character.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("natsbroker: empty prefix")
	}
	for tok := range strings.SplitSeq(prefix, ".") {
		if tok == "" {
			return fmt.Errorf("natsbroker: prefix %q has an empty token", prefix)
		}
		for _, r := range tok {
			if r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
				return fmt.Errorf("natsbroker: prefix %q holds %q, which a subject cannot", prefix, r)
			}
		}
	}
	if len(prefix) > MaxSubjectLen/2 {
		return fmt.Errorf("natsbroker: prefix %q is longer than %d bytes", prefix, MaxSubjectLen/2)
	}
	return nil
}
