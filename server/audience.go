package server

import "strconv"

// Audience narrows who receives a publication. The zero value is every
// subscriber of the topic. It is the same for both WAMP versions: a v1
// PUBLISH's exclude and eligible lists, and a v2 PUBLISH's exclude,
// eligible, exclude_authid, eligible_authid, exclude_authrole and
// eligible_authrole options. Every list applies on every node.
type Audience struct {
	// Exclude lists session ids that must not receive the event. A
	// session id is in either of its forms: WAMP v1's string (Session.ID)
	// or v2's integer written in decimal (Session.Number).
	Exclude []string
	// Eligible, when not empty, lists the only session ids that may
	// receive it.
	Eligible []string
	// ExcludeAuthID and EligibleAuthID compare with a session's authid
	// (Identity.AuthID).
	ExcludeAuthID  []string
	EligibleAuthID []string
	// ExcludeAuthRole and EligibleAuthRole compare with a session's roles
	// (Identity.AuthRoles): a session is excluded when any of its roles is
	// in ExcludeAuthRole, and eligible when any is in EligibleAuthRole.
	ExcludeAuthRole  []string
	EligibleAuthRole []string
}

// everyone reports whether the audience is every subscriber.
func (a *Audience) everyone() bool {
	return len(a.Exclude) == 0 && len(a.Eligible) == 0 && !a.byIdentity()
}

// byIdentity reports whether the audience has authid or authrole lists.
func (a *Audience) byIdentity() bool {
	return len(a.ExcludeAuthID) > 0 || len(a.EligibleAuthID) > 0 ||
		len(a.ExcludeAuthRole) > 0 || len(a.EligibleAuthRole) > 0
}

// Publisher names the session that made a publication, for the
// subscribers of a WAMP v2 PUBLISH sent with disclose_me (EVENT details
// publisher, publisher_authid, publisher_authrole).
type Publisher struct {
	// Session is the publisher's session id (its v1 string form).
	Session  string
	AuthID   string
	AuthRole string
}

// audienceFilter is an Audience made ready for a fan-out: the session-id
// lists in this node's string form, so that each subscriber costs a string
// comparison.
type audienceFilter struct {
	a        *Audience
	excluded idSet
	eligible idSet
}

// filter prepares a for a fan-out on this node.
func (s *Server) filter(a *Audience) audienceFilter {
	return audienceFilter{a: a, excluded: newIDSet(s.localIDs(a.Exclude)), eligible: newIDSet(s.localIDs(a.Eligible))}
}

// localIDs returns ids with each v2 integer id turned into this node's
// string form (which the session numbered so has, if it is here). A list
// without integers is returned as it is.
func (s *Server) localIDs(ids []string) []string {
	i := 0
	for i < len(ids) && !isDecimal(ids[i]) {
		i++
	}
	if i == len(ids) {
		return ids
	}
	out := make([]string, len(ids))
	copy(out, ids[:i])
	for j := i; j < len(ids); j++ {
		out[j] = ids[j]
		if isDecimal(ids[j]) {
			if n, err := strconv.ParseUint(ids[j], 10, 64); err == nil {
				out[j] = s.ids.forNumber(n)
			}
		}
	}
	return out
}

// isDecimal reports whether id is a v2 integer session id in decimal (a
// v1 string id is 24 hex characters, so the two never meet).
func isDecimal(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// admits reports whether sess is in the audience.
func (f *audienceFilter) admits(sess *session) bool {
	if f.excluded.has(sess.id) || (len(f.a.Eligible) > 0 && !f.eligible.has(sess.id)) {
		return false
	}
	if !f.a.byIdentity() {
		return true
	}
	id := &sess.identity
	authid := id.AuthID(sess.id)
	if contains(f.a.ExcludeAuthID, authid) || (len(f.a.EligibleAuthID) > 0 && !contains(f.a.EligibleAuthID, authid)) {
		return false
	}
	if len(f.a.ExcludeAuthRole) > 0 && anyRoleIn(id, f.a.ExcludeAuthRole) {
		return false
	}
	return len(f.a.EligibleAuthRole) == 0 || anyRoleIn(id, f.a.EligibleAuthRole)
}

// AuthID is the identity's WAMP v2 authid: the username, else the user id;
// for an anonymous connection, its session id (as Crossbar names
// anonymous sessions), sessionID being the session's v1 string id.
func (id Identity) AuthID(sessionID string) string {
	switch {
	case id.Username != "":
		return id.Username
	case id.UserID != "":
		return id.UserID
	}
	return sessionID
}

// AuthRole is the identity's WAMP v2 authrole: its first role, else
// "backend" for a backend connection, "anonymous" for an anonymous one and
// "user" for a user without roles.
func (id Identity) AuthRole() string {
	switch {
	case len(id.Roles) > 0:
		return id.Roles[0]
	case id.Backend:
		return "backend"
	case id.Anonymous || id.UserID == "":
		return "anonymous"
	}
	return "user"
}

// AuthRoles are the roles exclude_authrole and eligible_authrole compare
// with: every role of the identity, and its AuthRole.
func (id Identity) AuthRoles() []string {
	if len(id.Roles) > 0 {
		return id.Roles
	}
	return []string{id.AuthRole()}
}

// anyRoleIn reports whether one of id's AuthRoles is in list.
func anyRoleIn(id *Identity, list []string) bool {
	if len(id.Roles) == 0 {
		return contains(list, id.AuthRole())
	}
	for _, r := range id.Roles {
		if contains(list, r) {
			return true
		}
	}
	return false
}
