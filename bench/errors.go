package bench

import (
	"fmt"
	"sync"
)

// maxErrorKinds is how many kinds of error a run keeps.
const maxErrorKinds = 10

// errorLog keeps the first occurrence of the first kinds of error, with a
// count of each kind: two messages that differ only in their numbers
// (subscriber ids, sequence numbers, ports) are one kind.
type errorLog struct {
	mu    sync.Mutex
	kinds []errorKind
	total int64
}

type errorKind struct {
	key   string
	first string
	count int64
}

// add records one error message.
func (l *errorLog) add(msg string) {
	key := errorKey(msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	for i := range l.kinds {
		if l.kinds[i].key == key {
			l.kinds[i].count++
			return
		}
	}
	if len(l.kinds) < maxErrorKinds {
		l.kinds = append(l.kinds, errorKind{key: key, first: msg, count: 1})
	}
}

// list returns the first message of each kind, with its count when more
// than one.
func (l *errorLog) list() (msgs []string, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.kinds {
		if k.count > 1 {
			msgs = append(msgs, fmt.Sprintf("%s (×%d)", k.first, k.count))
		} else {
			msgs = append(msgs, k.first)
		}
	}
	return msgs, l.total
}

// errorKey replaces every run of digits by "#".
func errorKey(msg string) string {
	b := make([]byte, 0, len(msg))
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= '0' && c <= '9' {
			if len(b) == 0 || b[len(b)-1] != '#' {
				b = append(b, '#')
			}
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
