package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// Response codes the state machine adapter uses (see node.Machine).
const (
	CodeConflict = "conflict"
	CodeNotFound = "not_found"
	CodeRejected = "rejected"
	// CodeEmailUnverified: a consent given by an account whose e-mail
	// address is not verified (storage.ErrEmailUnverified).
	CodeEmailUnverified = "email_unverified"
	// CodeForbidden: the state machine found the actor may not do it
	// (e.g. a reviewer no longer staff; storage.ErrForbidden).
	CodeForbidden = "forbidden"
	// CodeInvalidAssignee: a safety event assigned to someone who is not
	// a moderator or administrator (storage.ErrInvalidAssignee).
	CodeInvalidAssignee = "invalid_assignee"
)

// readYourWritesWait bounds how long a write waits for this node to apply it.
const readYourWritesWait = 5 * time.Second

// replicate sends cmd through consensus. On success the result is decoded
// into out (if not nil). Deterministic outcomes map to API errors.
func (s *Server) replicate(ctx context.Context, cmd storage.Command, out any) (uint64, error) {
	resp, err := s.apply(ctx, cmd, out)
	return resp.Index, err
}

func (s *Server) apply(ctx context.Context, cmd storage.Command, out any) (raftcluster.Response, error) {
	data, err := storage.Encode(cmd)
	if err != nil {
		return raftcluster.Response{}, err
	}
	t0 := time.Now()
	resp, err := s.Repl.Apply(ctx, data)
	defer s.Metrics.RaftApply.Since(t0) // commit, then (below) this node applying it
	switch {
	case errors.Is(err, raftcluster.ErrUnavailable):
		return resp, errUnavailable
	case errors.Is(err, raftcluster.ErrAmbiguous):
		return resp, errAmbiguous
	case errors.Is(err, raftcluster.ErrNotUpgraded):
		return resp, errUpgrading
	case err != nil:
		return resp, fmt.Errorf("replicate %s: %w", cmd.Kind(), err)
	}
	switch resp.Code {
	case "":
	case CodeConflict:
		return resp, &apiError{Status: 409, Code: "conflict", Message: "already exists"}
	case CodeNotFound:
		return resp, errNotFound
	case CodeEmailUnverified:
		return resp, errEmailUnverified
	case CodeForbidden:
		return resp, errForbidden
	case CodeInvalidAssignee:
		return resp, errInvalid("assignee must be the ID of a moderator or administrator")
	default:
		return resp, fmt.Errorf("replicate %s: rejected: %s", cmd.Kind(), resp.Code)
	}
	// Read-your-writes: whatever this node answers next (history, the new
	// child, the linked device) already includes this write.
	// Bounded: a node that cannot apply (e.g. its disk is full) must not
	// hang the client; the write is committed, so the answer says to check.
	wctx, cancel := context.WithTimeout(ctx, readYourWritesWait)
	defer cancel()
	if err := s.Repl.WaitApplied(wctx, resp.Index); err != nil {
		return resp, errAmbiguous
	}
	if out != nil && len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return resp, fmt.Errorf("replicate %s: decode result: %w", cmd.Kind(), err)
		}
	}
	return resp, nil
}

// newID returns a random, non-enumerable identifier with a type prefix.
func newID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + hex.EncodeToString(b[:])
}

// newTimeOrderedID is newID for rows written on every chat turn: the first
// six bytes are the time in milliseconds (big-endian), the other ten are
// random. Inserts into the table's id index then land on its last pages
// instead of a random page each; at 32 turns per batch that is about a
// fifth less work per applied batch on every node
// (BenchmarkChatTurnIDOrder in storage). 80 random bits keep the ID
// unguessable; the time it reveals is the row's created_at, which every
// reader of the row sees anyway.
func newTimeOrderedID(prefix string, now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return prefix + hex.EncodeToString(b[:])
}
