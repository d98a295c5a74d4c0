package api

import (
	"context"
	"net/http"
	"sync"
)

// accountGuard lets one credential check per account run at a time on this
// node. Lockout is replicated state read before each check, and a failure is
// committed before its request answers; without the guard a burst of
// guesses from many addresses would all read "not locked" before the first
// failures committed and all be checked — the argon2 queue holds them, a
// TOTP check takes microseconds — so an account would get thousands of
// guesses per lockout window instead of a handful. With it each node checks
// one guess of an account at a time, each failure counts before the next
// check reads the lockout, and the lock stops the guessing after its few
// failures (plus at most one guess in flight on each other node).
//
// Keys are blind indexes (or staff IDs), never addresses. A second request
// for a busy account is refused at once (429 login_in_progress) rather than
// queued: a person logs in once, only a script sends in parallel. The same
// answer for an account that does not exist reveals nothing.
type accountGuard struct {
	mu   sync.Mutex
	busy map[string]struct{}
}

func newAccountGuard() *accountGuard { return &accountGuard{busy: map[string]struct{}{}} }

// acquire takes the account's slot; ok is false while another check of the
// same account runs on this node. release must be called once.
func (g *accountGuard) acquire(key string) (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, taken := g.busy[key]; taken {
		return nil, false
	}
	g.busy[key] = struct{}{}
	return func() {
		g.mu.Lock()
		delete(g.busy, key)
		g.mu.Unlock()
	}, true
}

// errLoginBusy: another credential check of the account is running here.
var errLoginBusy = &apiError{Status: http.StatusTooManyRequests, Code: "login_in_progress",
	Message: "another attempt for this account is being checked; try again in a moment", RetryAfter: 1}

// guardAccount takes the account's slot or answers errLoginBusy.
func (s *Server) guardAccount(key string) (release func(), err error) {
	release, ok := s.accounts.acquire(key)
	if !ok {
		return nil, errLoginBusy
	}
	return release, nil
}

// startCredentialCheck begins checking a password for the account with
// e-mail index bidx: it takes the account's slot, catches up with the
// leader and refuses a locked account. release must be called once the
// check is over (its failure, if any, recorded).
func (s *Server) startCredentialCheck(ctx context.Context, bidx []byte) (release func(), err error) {
	release, err = s.guardAccount(string(bidx))
	if err != nil {
		return nil, err
	}
	if err := s.checkLockout(ctx, bidx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}
