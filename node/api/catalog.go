package api

import (
	"context"

	"daisydog/node/companion"
)

// engine is the companion Engine over the catalogue in force.
func (s *Server) engine(ctx context.Context) *companion.Engine {
	return s.Companion
}
