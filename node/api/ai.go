package api

import (
	"context"

	"daisydog/node/companion"
)

// aiReply may replace the built-in reply with the optional provider's.
func (s *Server) aiReply(ctx context.Context, env turnEnv, msg string, t companion.Turn) (companion.Turn, bool) {
	return t, false
}
