package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
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
	EventID    string      `json:"event_id"`
	ChildID    string      `json:"child_id"`
	TurnID     string      `json:"turn_id"`
	Kind       string      `json:"kind"`
	Categories []string    `json:"categories"`
	CreatedAt  string      `json:"created_at"`
	Excerpt    string      `json:"excerpt"`
	Review     *reviewView `json:"review"` // null while open
	// Assignment is who holds the event; null when nobody does.
	Assignment *assignmentView `json:"assignment"`
}

type assignmentView struct {
	AssignedTo string `json:"assigned_to"`
	AssignedAt string `json:"assigned_at"`
}

// assignmentOf is the view of who holds an event (nil: nobody).
func assignmentOf(to string, at int64) *assignmentView {
	if to == "" {
		return nil
	}
	return &assignmentView{AssignedTo: to, AssignedAt: millis(at)}
}

type reviewView struct {
	Outcome    string `json:"outcome"`
	ReviewedAt string `json:"reviewed_at"`
	ReviewedBy string `json:"reviewed_by"`
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
	status := q.Get("status")
	switch status {
	case "":
		status = storage.FlaggedAll
	case storage.FlaggedAll, storage.FlaggedOpen, storage.FlaggedReviewed:
	default:
		return errInvalid("status must be open, reviewed or all")
	}
	assignee := q.Get("assigned")
	switch assignee {
	case "", storage.AssigneeNone:
	case "me":
		assignee = a.ID
	default:
		if !validStaffID(assignee) {
			return errInvalid("assigned must be me, none or a staff ID")
		}
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
	rows, err := s.DB.FlaggedTurnsIn(ctx, a, storage.FlaggedFilter{Status: status, Assignee: assignee}, before, limit)
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
		v := flaggedView{EventID: f.EventID, ChildID: f.ChildID, TurnID: f.TurnID, Kind: f.Kind,
			Categories: cats, CreatedAt: millis(f.CreatedAt), Excerpt: excerpt(string(msg)), Assignment: assignmentOf(f.AssignedTo, f.AssignedAt)}
		if f.ReviewedAt != 0 {
			v.Review = &reviewView{Outcome: f.Outcome, ReviewedAt: millis(f.ReviewedAt), ReviewedBy: f.ReviewedBy}
		}
		out = append(out, v)
	}
	next := ""
	if len(rows) == limit {
		next = strconv.FormatInt(rows[len(rows)-1].CreatedAt, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_before": next})
	return nil
}

// reviewEvent records a moderator's review of a safety event: an outcome
// from a fixed list (no free text: nothing a child wrote or a family's
// details can end up in it). A later review replaces the earlier one;
// every review is audit-logged. It shows no content, so it needs no reason.
func (s *Server) reviewEvent(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var req struct {
		Outcome string `json:"outcome"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !slices.Contains(storage.ReviewOutcomes, req.Outcome) {
		return errInvalid("outcome must be one of " + strings.Join(storage.ReviewOutcomes, ", "))
	}
	var res storage.EventReview
	cmd := &storage.ReviewSafetyEvent{EventID: p.ByName("id"), StaffID: a.ID, Outcome: req.Outcome, Now: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, &res); err != nil {
		return s.explainModerationConflict(r, a, p.ByName("id"), err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_id": res.EventID,
		"review": reviewView{Outcome: res.Outcome, ReviewedAt: millis(res.ReviewedAt), ReviewedBy: res.ReviewedBy}})
	return nil
}

// moderationSummary is the queue in numbers: open events by kind and
// category, the oldest, and the reviews of the last `days` days (default
// 30) by outcome, with false positives by the policy version that flagged
// them. No content.
func (s *Server) moderationSummary(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			return errInvalid("days must be 1 to 366")
		}
		days = n
	}
	now := s.Now()
	sum, err := s.DB.ModerationSummary(r.Context(), a, now.Add(-time.Duration(days)*24*time.Hour).UnixMilli())
	if err != nil {
		return err
	}
	var oldest any
	if sum.OldestOpenAt != 0 {
		oldest = millis(sum.OldestOpenAt)
	}
	writeJSON(w, http.StatusOK, map[string]any{"open": sum.Open, "open_unassigned": sum.OpenUnassigned, "open_by_assignee": sum.OpenByAssignee, "open_by_kind": sum.OpenByKind, "open_by_category": sum.OpenByCat,
		"oldest_open_at": oldest, "days": days, "reviewed_by_outcome": sum.Reviewed, "false_positives_by_policy": sum.FalsePositivesPolicy,
		"outcomes": storage.ReviewOutcomes})
	return nil
}

// assignEvent gives an open safety event to a moderator or takes it back:
// {"assignee": "me"} takes it, {"assignee": "<staff ID>"} (administrators)
// gives it to that moderator or administrator, {"assignee": ""} releases
// it. A moderator cannot take an event someone else holds (409) nor give
// one to anyone else (403); reviewed events cannot be assigned (409).
func (s *Server) assignEvent(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var req struct {
		Assignee *string `json:"assignee"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.Assignee == nil {
		return errInvalid(`assignee is required: "me", a staff ID, or "" to release the event`)
	}
	to := *req.Assignee
	if to == "me" {
		to = a.ID
	} else if to != "" && !validStaffID(to) {
		return errInvalid(`assignee must be "me", a staff ID, or "" to release the event`)
	}
	var res storage.EventAssignment
	cmd := &storage.AssignSafetyEvent{EventID: p.ByName("id"), StaffID: a.ID, Assignee: to, Now: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, &res); err != nil {
		return s.explainModerationConflict(r, a, p.ByName("id"), err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_id": res.EventID, "assignment": assignmentOf(res.AssignedTo, res.AssignedAt)})
	return nil
}

// explainModerationConflict turns the state machine's conflict on a
// safety event into what the moderator needs to know: it was reviewed, or
// who holds it. Other errors pass unchanged.
func (s *Server) explainModerationConflict(r *http.Request, a storage.Actor, eventID string, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != "conflict" {
		return err
	}
	cur, reviewed, rerr := s.DB.SafetyEventAssignment(r.Context(), a, eventID)
	switch {
	case rerr != nil:
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "the event changed meanwhile; reload the queue"}
	case reviewed:
		return &apiError{Status: http.StatusConflict, Code: "event_reviewed", Message: "the event has been reviewed; it cannot be assigned"}
	default:
		return &apiError{Status: http.StatusConflict, Code: "event_assigned",
			Message: "the event is assigned to " + cur.AssignedTo + "; they or an administrator can release it"}
	}
}

// validStaffID: the shape of the IDs staff accounts get (newID("st_")).
func validStaffID(id string) bool {
	rest, ok := strings.CutPrefix(id, "st_")
	if !ok || len(rest) == 0 || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// A safety hold answers every child route while it lasts: kind, not a
// scolding, and pointing to help, since it often follows a disclosure.
var errSafetyHold = &apiError{Status: http.StatusLocked, Code: "safety_hold",
	Message: "Daisy is resting for now, and a grown-up from your family has been asked to help. If you are scared or in danger, tell a grown-up you trust or call your local emergency number."}

type holdView struct {
	Reason string `json:"reason"`
	Since  string `json:"since"`
	By     string `json:"by,omitempty"` // the staff ID, for staff only
}

// holdOf is the view of a child's safety hold (nil: none).
func holdOf(reason string, since int64) *holdView {
	if reason == "" {
		return nil
	}
	return &holdView{Reason: reason, Since: millis(since)}
}

// placeHold puts a safety hold on a child: {"reason"} from
// storage.HoldReasons. Moderators and administrators, on any child: the
// child's ID comes from a flagged turn. Placing the hold a child already
// has changes nothing; another reason replaces it.
func (s *Server) placeHold(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !slices.Contains(storage.HoldReasons, req.Reason) {
		return errInvalid("reason must be one of " + strings.Join(storage.HoldReasons, ", "))
	}
	return s.setHold(w, r, p.ByName("id"), a, req.Reason)
}

// liftHold lifts a child's safety hold (lifting none changes nothing).
func (s *Server) liftHold(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	return s.setHold(w, r, p.ByName("id"), a, "")
}

func (s *Server) setHold(w http.ResponseWriter, r *http.Request, childID string, a storage.Actor, reason string) error {
	var res storage.SafetyHold
	cmd := &storage.SetSafetyHold{ChildID: childID, StaffID: a.ID, Reason: reason, Now: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, &res); err != nil {
		return err
	}
	v := holdOf(res.Reason, res.Since)
	if v != nil {
		v.By = res.By
	}
	writeJSON(w, http.StatusOK, map[string]any{"child_id": childID, "safety_hold": v})
	return nil
}
