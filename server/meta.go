package server

import (
	"github.com/heraldws/herald/internal/dealer"
)

// metaRegistered, metaUnregistered and metaRegistrationsGone publish the
// registration meta events (meta.go has the meta API).
func (s *Server) metaRegistered(sess *session, reg dealer.Registration) {}

func (s *Server) metaUnregistered(callee dealer.SessionID, reg dealer.Registration, deleted bool) {}

func (s *Server) metaRegistrationsGone(callee dealer.SessionID, left, deleted []dealer.Registration) {}
