package dealer

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/wamp"
)

// Registration is a snapshot of a registration. Its slices are shared
// with the Registry and with other snapshots: read them, never modify
// them.
type Registration struct {
	// ID is the registration id, in [1, 2^53].
	ID uint64
	// Procedure is the procedure URI or pattern.
	Procedure string
	// Match is the match policy of Procedure.
	Match wamp.MatchPolicy
	// Invoke is the invoke policy every callee on it asked for.
	Invoke wamp.InvokePolicy
	// Created is when the first callee registered it.
	Created time.Time
	// Callees are the callees on it, in the order they joined.
	Callees []SessionID

	disclose []bool // disclose_caller of each callee, as Callees
}

// DiscloseCaller reports whether callee asked, when it registered, that
// invocations disclose the caller ("disclose_caller").
func (r Registration) DiscloseCaller(callee SessionID) bool {
	i := slices.Index(r.Callees, callee)
	return i >= 0 && r.disclose[i]
}

// registration is a registration the Registry holds. Its Callees and
// disclose slices are replaced, never modified in place, so that
// snapshots may share them.
type registration struct {
	Registration
	// nonEmpty counts the non-empty components of a wildcard pattern.
	nonEmpty int
	// next is the roundrobin cursor: the index modulo len(Callees) of the
	// next callee. Route advances it under the read lock.
	next atomic.Uint64
}

// pick returns the callee a call goes to by the invoke policy.
func (reg *registration) pick() SessionID {
	c := reg.Callees
	switch reg.Invoke {
	case wamp.InvokeRoundRobin:
		return c[(reg.next.Add(1)-1)%uint64(len(c))]
	case wamp.InvokeRandom:
		return c[rand.IntN(len(c))]
	case wamp.InvokeLast:
		return c[len(c)-1]
	}
	return c[0] // single, first
}

// Registry holds the registrations of one realm. It is safe for
// concurrent use; the zero value is not: use NewRegistry.
type Registry struct {
	mu   sync.RWMutex
	byID map[uint64]*registration
	// patterns indexes the registrations by match policy, then pattern.
	patterns [3]map[string]*registration
	// prefixLens are the distinct lengths of the prefix patterns, longest
	// first, and prefixCount how many patterns have each.
	prefixLens  []int
	prefixCount map[int]int
	// wildcards holds the wildcard registrations by number of components,
	// each list in order of precedence.
	wildcards map[int][]*registration
	// sessions maps each callee to the ids of its registrations.
	sessions map[SessionID]map[uint64]struct{}
	lastID   uint64
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	r := &Registry{
		byID:        map[uint64]*registration{},
		prefixCount: map[int]int{},
		wildcards:   map[int][]*registration{},
		sessions:    map[SessionID]map[uint64]struct{}{},
	}
	for i := range r.patterns {
		r.patterns[i] = map[string]*registration{}
	}
	return r
}

// components counts the '.'-separated components of a URI.
func components(uri string) int { return strings.Count(uri, ".") + 1 }

// wildcardOrder orders the wildcard registrations of one length by
// precedence: more non-empty components first, then lexically.
func wildcardOrder(a, b *registration) int {
	if c := cmp.Compare(b.nonEmpty, a.nonEmpty); c != 0 {
		return c
	}
	return strings.Compare(a.Procedure, b.Procedure)
}

// Register adds callee to the registration of (procedure, match),
// creating it with the invoke policy and a new id when there is none,
// and returns it. It refuses, with an error wrapping
// ErrProcedureAlreadyExists, a callee already on it, a second callee on a
// "single" registration, and an invoke policy other than the
// registration's; with ErrInvalidArgument, unknown policies. procedure is
// not validated: that is the server's part.
func (r *Registry) Register(callee SessionID, procedure string, match wamp.MatchPolicy, invoke wamp.InvokePolicy, discloseCaller bool) (Registration, error) {
	if match > wamp.MatchPolicyWildcard || invoke > wamp.InvokeLast {
		return Registration{}, fmt.Errorf("dealer: register %q: match %s, invoke %s: %w", procedure, match, invoke, ErrInvalidArgument)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reg := r.patterns[match][procedure]; reg != nil {
		var why string
		switch {
		case slices.Contains(reg.Callees, callee):
			why = fmt.Sprintf("session %d has registered it already", callee)
		case reg.Invoke == wamp.InvokeSingle:
			why = "its invoke policy is single"
		case reg.Invoke != invoke:
			why = fmt.Sprintf("its invoke policy is %s, not %s", reg.Invoke, invoke)
		}
		if why != "" {
			return Registration{}, fmt.Errorf("dealer: register %q (%s): %s: %w", procedure, match, why, ErrProcedureAlreadyExists)
		}
		// The newcomer goes last in the rotation, which goes on where it
		// was.
		reg.next.Store(reg.next.Load() % uint64(len(reg.Callees)))
		// Appending to a clipped slice copies it, so snapshots keep theirs.
		reg.Callees = append(slices.Clip(reg.Callees), callee)
		reg.disclose = append(slices.Clip(reg.disclose), discloseCaller)
		r.addSession(callee, reg.ID)
		return reg.Registration, nil
	}
	reg := &registration{Registration: Registration{
		ID:        nextID(r.lastID, func(id uint64) bool { return r.byID[id] != nil }),
		Procedure: procedure, Match: match, Invoke: invoke, Created: time.Now(),
		Callees: []SessionID{callee}, disclose: []bool{discloseCaller},
	}}
	r.lastID = reg.ID
	r.byID[reg.ID] = reg
	r.patterns[match][procedure] = reg
	switch match {
	case wamp.MatchPolicyPrefix:
		if r.prefixCount[len(procedure)]++; r.prefixCount[len(procedure)] == 1 {
			i, _ := slices.BinarySearchFunc(r.prefixLens, len(procedure), func(a, b int) int { return cmp.Compare(b, a) })
			r.prefixLens = slices.Insert(r.prefixLens, i, len(procedure))
		}
	case wamp.MatchPolicyWildcard:
		for c := range strings.SplitSeq(procedure, ".") {
			if c != "" {
				reg.nonEmpty++
			}
		}
		n := components(procedure)
		list := r.wildcards[n]
		i, _ := slices.BinarySearchFunc(list, reg, wildcardOrder)
		r.wildcards[n] = slices.Insert(list, i, reg)
	}
	r.addSession(callee, reg.ID)
	return reg.Registration, nil
}

func (r *Registry) addSession(callee SessionID, id uint64) {
	ids := r.sessions[callee]
	if ids == nil {
		ids = map[uint64]struct{}{}
		r.sessions[callee] = ids
	}
	ids[id] = struct{}{}
}

// Unregister removes callee from registration id and returns the
// registration as it is after: without callee. deleted reports that
// callee was its last callee, so that it no longer exists. It fails with
// an error wrapping ErrNoSuchRegistration when callee is not on it.
func (r *Registry) Unregister(callee SessionID, id uint64) (removed Registration, deleted bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[callee][id]; !ok {
		return Registration{}, false, fmt.Errorf("dealer: unregister %d of session %d: %w", id, callee, ErrNoSuchRegistration)
	}
	reg := r.byID[id]
	deleted = r.leave(reg, callee)
	if ids := r.sessions[callee]; len(ids) == 1 {
		delete(r.sessions, callee)
	} else {
		delete(ids, id)
	}
	return reg.Registration, deleted, nil
}

// RemoveSession removes callee from every registration it is on, as when
// its session ends. left are those registrations as they are after,
// deleted those of them that callee was the last callee of, which no
// longer exist; both in id order.
func (r *Registry) RemoveSession(callee SessionID) (left, deleted []Registration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.sessions[callee] {
		reg := r.byID[id]
		if r.leave(reg, callee) {
			deleted = append(deleted, reg.Registration)
		}
		left = append(left, reg.Registration)
	}
	delete(r.sessions, callee)
	byID := func(a, b Registration) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(left, byID)
	slices.SortFunc(deleted, byID)
	return left, deleted
}

// leave removes callee from reg, and reg from the Registry when it was
// its last callee, which it reports. The caller holds the write lock and
// updates r.sessions.
func (r *Registry) leave(reg *registration, callee SessionID) bool {
	i := slices.Index(reg.Callees, callee)
	n := len(reg.Callees) - 1
	reg.Callees = slices.Delete(slices.Clone(reg.Callees), i, i+1)
	reg.disclose = slices.Delete(slices.Clone(reg.disclose), i, i+1)
	if n > 0 {
		// Keep the rotation on the callee that was to come next.
		next := reg.next.Load() % uint64(n+1)
		if uint64(i) < next {
			next--
		}
		if next >= uint64(n) {
			next = 0
		}
		reg.next.Store(next)
		return false
	}
	delete(r.byID, reg.ID)
	delete(r.patterns[reg.Match], reg.Procedure)
	switch reg.Match {
	case wamp.MatchPolicyPrefix:
		l := len(reg.Procedure)
		if r.prefixCount[l]--; r.prefixCount[l] == 0 {
			delete(r.prefixCount, l)
			r.prefixLens = slices.DeleteFunc(r.prefixLens, func(x int) bool { return x == l })
		}
	case wamp.MatchPolicyWildcard:
		n := components(reg.Procedure)
		if list := slices.DeleteFunc(r.wildcards[n], func(x *registration) bool { return x == reg }); len(list) > 0 {
			r.wildcards[n] = list
		} else {
			delete(r.wildcards, n)
		}
	}
	return true
}

// match returns the registration a call of procedure goes to, or nil.
// The caller holds a lock.
func (r *Registry) match(procedure string) *registration {
	if reg := r.patterns[wamp.MatchPolicyExact][procedure]; reg != nil {
		return reg
	}
	prefixes := r.patterns[wamp.MatchPolicyPrefix]
	for _, l := range r.prefixLens {
		if l <= len(procedure) {
			if reg := prefixes[procedure[:l]]; reg != nil {
				return reg
			}
		}
	}
	if len(r.wildcards) > 0 {
		for _, reg := range r.wildcards[components(procedure)] {
			if wamp.MatchWildcard(reg.Procedure, procedure) {
				return reg
			}
		}
	}
	return nil
}

// Route returns the registration a CALL of procedure goes to and the
// callee its invoke policy picks; see the package doc for the
// precedence of match policies. ok is false when no registration matches
// (wamp.error.no_such_procedure).
func (r *Registry) Route(procedure string) (reg Registration, callee SessionID, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	found := r.match(procedure)
	if found == nil {
		return Registration{}, 0, false
	}
	return found.Registration, found.pick(), true
}

// Match returns the id of the registration Route would choose for
// procedure, for the meta procedure wamp.registration.match.
func (r *Registry) Match(procedure string) (uint64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if reg := r.match(procedure); reg != nil {
		return reg.ID, true
	}
	return 0, false
}

// Lookup returns the id of the registration of exactly (procedure,
// match), for wamp.registration.lookup.
func (r *Registry) Lookup(procedure string, match wamp.MatchPolicy) (uint64, bool) {
	if match > wamp.MatchPolicyWildcard {
		return 0, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if reg := r.patterns[match][procedure]; reg != nil {
		return reg.ID, true
	}
	return 0, false
}

// List returns the ids of the registrations by match policy, each list
// in increasing order, for wamp.registration.list.
func (r *Registry) List() (exact, prefix, wildcard []uint64) {
	r.mu.RLock()
	lists := [3][]uint64{}
	for id, reg := range r.byID {
		lists[reg.Match] = append(lists[reg.Match], id)
	}
	r.mu.RUnlock()
	for _, l := range lists {
		slices.Sort(l)
	}
	return lists[wamp.MatchPolicyExact], lists[wamp.MatchPolicyPrefix], lists[wamp.MatchPolicyWildcard]
}

// Get returns registration id, for wamp.registration.get.
func (r *Registry) Get(id uint64) (Registration, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if reg := r.byID[id]; reg != nil {
		return reg.Registration, true
	}
	return Registration{}, false
}

// Callees returns a copy of the callees of registration id in join order,
// for wamp.registration.list_callees.
func (r *Registry) Callees(id uint64) ([]SessionID, bool) {
	reg, ok := r.Get(id)
	return slices.Clone(reg.Callees), ok
}

// CountCallees returns the number of callees of registration id, for
// wamp.registration.count_callees.
func (r *Registry) CountCallees(id uint64) (int, bool) {
	reg, ok := r.Get(id)
	return len(reg.Callees), ok
}
