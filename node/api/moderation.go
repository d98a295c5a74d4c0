package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// Moderation: staff see redacted excerpts of flagged turns (the message as
// the policy stored it, PII already removed, cut to excerptRunes), never a
// child's history. Every read states a reason and is written to the audit
// log through Raft before any content is returned.

const (
	excerptRunes     = 80
	moderationMaxRow = 50
)

type flaggedView struct {
	EventID    string   `json:"event_id"`
	ChildID    string   `json:"child_id"`
	TurnID     string   `json:"turn_id"`
	Kind       string   `json:"kind"`
	Categories []string `json:"categories"`
	CreatedAt  string   `json:"created_at"`
	Excerpt    string   `json:"excerpt"`
}

func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= excerptRunes {
		return s
	}
	r := []rune(s)
	return string(r[:excerptRunes]) + "…"
}

func (s *Server) flaggedTurns(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	q := r.URL.Query()
	reason := strings.TrimSpace(q.Get("reason"))
	if n := utf8.RuneCountInString(reason); n < 3 || n > 200 {
		return errInvalid("reason is required (3 to 200 characters): every read of children's content is audit-logged with it")
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > moderationMaxRow {
			return errInvalid("limit must be 1 to 50")
		}
		limit = n
	}
	before := s.Now().UnixMilli() + 1
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errInvalid("before must be a time in milliseconds since the epoch")
		}
		before = n
	}
	ctx := r.Context()
	rows, err := s.DB.FlaggedTurns(ctx, a, before, limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(rows))
	for i, f := range rows {
		ids[i] = f.EventID
	}
	// Audit first: if the log entry cannot be written, nothing is shown.
	if _, err := s.replicate(ctx, &storage.RecordAccess{Actor: string(a.Role) + ":" + a.ID, What: "flagged_excerpts",
		Target: "events:" + strings.Join(ids, ","), Reason: reason, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	out := make([]flaggedView, 0, len(rows))
	for _, f := range rows {
		dek, err := s.Vault.FamilyKey(ctx, f.FamilyID)
		if err != nil {
			return err
		}
		msg, err := storage.Unseal(dek, f.MessageSealed, storage.FieldAAD(storage.FieldMessage, f.TurnID))
		if err != nil {
			return err
		}
		cats := []string{}
		if f.Categories != "" {
			cats = strings.Split(f.Categories, ",")
		}
		out = append(out, flaggedView{EventID: f.EventID, ChildID: f.ChildID, TurnID: f.TurnID, Kind: f.Kind,
			Categories: cats, CreatedAt: millis(f.CreatedAt), Excerpt: excerpt(string(msg))})
	}
	next := ""
	if len(rows) == limit {
		next = strconv.FormatInt(rows[len(rows)-1].CreatedAt, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_before": next})
	return nil
}
