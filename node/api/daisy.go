package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/companion"
	"daisydog/storage"
)

// settingsVersion is the version of the stored settings document.
const settingsVersion = 1

// maxPacksPerChild bounds a child's content-pack list.
const maxPacksPerChild = 20

// childSettings is a parent's settings for one child, as the API shows them
// and as they are stored (plain JSON: not sensitive).
type childSettings struct {
	V                 int              `json:"v"`
	DailyLimitMinutes int              `json:"daily_limit_minutes"`
	Bedtime           companion.Window `json:"bedtime"`
	TimeZone          string           `json:"time_zone"`
	Features          settingsFeatures `json:"features"`
	Strictness        string           `json:"strictness"`
	// AIThirdPartyConsent is the parent's separate consent to send the
	// child's (redacted) messages to the operator's AI provider; AI mode
	// does nothing without it. Off by default.
	AIThirdPartyConsent bool `json:"ai_third_party_consent"`
	// ContentPacks are the packs the parent opted this child into (they
	// show only while features.content_packs is on).
	ContentPacks []string `json:"content_packs"`
}

type settingsFeatures struct {
	Games        bool `json:"games"`
	Jokes        bool `json:"jokes"`
	Stories      bool `json:"stories"`
	AIMode       bool `json:"ai_mode"`
	ContentPacks bool `json:"content_packs"`
}

// defaultSettings apply to a child whose parent never saved any: chatting
// allowed at any time, games/jokes/stories on, AI off, standard strictness.
func defaultSettings() childSettings {
	return settingsFrom(companion.DefaultControls(), "UTC")
}

func settingsFrom(c companion.Controls, tz string) childSettings {
	return childSettings{V: settingsVersion, DailyLimitMinutes: c.DailyMinutes, Bedtime: c.Bedtime, TimeZone: tz,
		Features:   settingsFeatures{Games: c.Games, Jokes: c.Jokes, Stories: c.Stories, AIMode: c.AIMode, ContentPacks: len(c.Packs) > 0},
		Strictness: c.Strictness, ContentPacks: nonNil(c.Packs)}
}

func (cs childSettings) controls() companion.Controls {
	c := companion.Controls{V: companion.ControlsVersion, DailyMinutes: cs.DailyLimitMinutes, Bedtime: cs.Bedtime,
		Games: cs.Features.Games, Jokes: cs.Features.Jokes, Stories: cs.Features.Stories, AIMode: cs.Features.AIMode,
		Strictness: cs.Strictness}
	if cs.Features.ContentPacks {
		c.Packs = append([]string(nil), cs.ContentPacks...)
	}
	return c
}

// location is the child's time zone (UTC if the stored name no longer loads).
func (cs childSettings) location() *time.Location {
	if loc, err := time.LoadLocation(cs.TimeZone); err == nil && cs.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// daisyRecord is Daisy's per-child state, stored sealed.
// (Its format and fast codec live with the state: companion.Record.)
type daisyRecord = companion.Record

const daisyRecordVersion = companion.RecordVersion

// daisyData is what a request needs about a child's Daisy.
type daisyData struct {
	rec      daisyRecord
	settings childSettings
	version  int64 // the stored state's version (compare-and-set base)
}

// loadDaisy reads a child's stored state and settings (defaults when never
// written), scoped to the actor.
func (s *Server) loadDaisy(ctx context.Context, a storage.Actor, childID string, dek []byte) (daisyData, error) {
	var row storage.CompanionRow
	err := s.fresh(ctx, func() (err error) {
		row, err = s.DB.Companion(ctx, a, childID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return daisyData{}, errNotFound
	}
	if err != nil {
		return daisyData{}, err
	}
	d := daisyData{settings: defaultSettings(), version: row.StateVersion}
	if row.Settings != nil {
		var cs childSettings
		if err := json.Unmarshal(row.Settings, &cs); err != nil {
			return daisyData{}, fmt.Errorf("child settings: %w", err)
		}
		d.settings = cs
	}
	if row.StateSealed != nil && dek != nil {
		plain, err := storage.Unseal(dek, row.StateSealed, storage.FieldAAD(storage.FieldCompanion, childID))
		if err != nil {
			return daisyData{}, err
		}
		if err := companion.DecodeRecord(plain, &d.rec); err != nil {
			return daisyData{}, fmt.Errorf("daisy state: %w", err)
		}
	}
	return d, nil
}

func sealDaisy(dek []byte, childID string, rec daisyRecord) ([]byte, error) {
	rec.V = daisyRecordVersion
	plain, err := companion.EncodeRecord(&rec)
	if err != nil {
		return nil, err
	}
	return storage.Seal(dek, plain, storage.FieldAAD(storage.FieldCompanion, childID))
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	d, err := s.loadDaisy(r.Context(), a, p.ByName("id"), nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.settings)
	return nil
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var req struct {
		DailyLimitMinutes int               `json:"daily_limit_minutes"`
		Bedtime           *companion.Window `json:"bedtime"`
		TimeZone          string            `json:"time_zone"`
		Features          *settingsFeatures `json:"features"`
		Strictness        string            `json:"strictness"`
		AIConsent         bool              `json:"ai_third_party_consent"`
		ContentPacks      []string          `json:"content_packs"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.Features == nil {
		return errInvalid("features is required (games, jokes, stories, ai_mode)")
	}
	if req.TimeZone == "" {
		return errInvalid("time_zone is required (an IANA name such as \"Europe/Berlin\" or \"UTC\")")
	}
	if len(req.TimeZone) > 64 {
		return errInvalid("time_zone is not a known IANA time zone")
	}
	if _, err := time.LoadLocation(req.TimeZone); err != nil || req.TimeZone == "Local" {
		return errInvalid("time_zone is not a known IANA time zone")
	}
	if len(req.ContentPacks) > maxPacksPerChild {
		return errInvalid(fmt.Sprintf("content_packs: at most %d", maxPacksPerChild))
	}
	cs := childSettings{V: settingsVersion, DailyLimitMinutes: req.DailyLimitMinutes, TimeZone: req.TimeZone,
		Features: *req.Features, Strictness: req.Strictness, AIThirdPartyConsent: req.AIConsent, ContentPacks: nonNil(req.ContentPacks)}
	if req.Bedtime != nil {
		cs.Bedtime = *req.Bedtime
	}
	ctrl := cs.controls()
	ctrl.Packs = cs.ContentPacks // validate the list even while the toggle is off
	if err := ctrl.Validate(); err != nil {
		return errInvalid(err.Error())
	}
	if err := s.checkPackIDs(r.Context(), cs.ContentPacks); err != nil {
		return err
	}
	doc, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	cmd := &storage.PutChildSettings{ParentID: a.ID, ChildID: p.ByName("id"), Settings: doc, UpdatedAt: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

// daisyView is Daisy as a child sees her now.
type daisyView struct {
	Mood   string              `json:"mood"`
	Hunger int                 `json:"hunger"`
	Energy int                 `json:"energy"`
	Game   *companion.GameView `json:"game,omitempty"`
	// Available is false during bedtime or over the daily limit.
	Available    bool              `json:"available"`
	Reason       string            `json:"reason,omitempty"`
	MinutesLeft  int               `json:"minutes_left"`
	Achievements []achievementView `json:"achievements"`
}

// achievementView is one milestone and whether (and when) the child earned it.
type achievementView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Earned      bool   `json:"earned"`
	EarnedAt    string `json:"earned_at,omitempty"`
}

// achievementsOf lists every achievement in display order with the child's.
func achievementsOf(st companion.Stats) []achievementView {
	earned := map[string]time.Time{}
	for _, e := range st.Earned {
		earned[e.ID] = e.At
	}
	all := companion.Achievements()
	out := make([]achievementView, 0, len(all))
	for _, a := range all {
		v := achievementView{ID: a.ID, Name: a.Name, Description: a.Description}
		if at, ok := earned[a.ID]; ok {
			v.Earned, v.EarnedAt = true, millis(at.UnixMilli())
		}
		out = append(out, v)
	}
	return out
}

// usageView is what a parent sees of a child's day with Daisy.
type usageView struct {
	Day               string            `json:"day"` // the child's local date
	TimeZone          string            `json:"time_zone"`
	MinutesToday      int               `json:"minutes_today"`
	TurnsToday        int               `json:"turns_today"`
	GamesToday        int               `json:"games_today"`
	DailyLimitMinutes int               `json:"daily_limit_minutes"` // 0: no limit
	MinutesLeft       int               `json:"minutes_left"`        // -1: no limit
	Available         bool              `json:"available"`
	Reason            string            `json:"reason,omitempty"`
	Totals            usageTotals       `json:"totals"`
	Achievements      []achievementView `json:"achievements"`
}

type usageTotals struct {
	Chats   int `json:"chats"`
	Treats  int `json:"treats"`
	Tricks  int `json:"tricks"`
	Games   int `json:"games_finished"`
	Wins    int `json:"wins"`
	Days    int `json:"days_visited"`
	Jokes   int `json:"jokes"`
	Stories int `json:"stories"`
	Facts   int `json:"facts"`
}

// childUsage (GET /v1/children/:id/usage) shows a parent today's minutes,
// turns and games against the limit, lifetime totals and achievements. A
// child of another family and an unknown ID are the same 404.
func (s *Server) childUsage(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	dek, err := s.Vault.FamilyKey(r.Context(), a.FamilyID)
	if err != nil {
		return err
	}
	d, err := s.loadDaisy(r.Context(), a, p.ByName("id"), dek)
	if err != nil {
		return err
	}
	now, loc := s.Now(), d.settings.location()
	u := companion.UsageAt(d.rec.Usage, now, loc)
	dec := companion.Check(d.settings.controls(), d.rec.Usage, now, loc, companion.FeatureChat)
	st := d.rec.Stats
	writeJSON(w, http.StatusOK, usageView{
		Day: u.Day, TimeZone: loc.String(), MinutesToday: u.Seconds / 60, TurnsToday: u.Turns, GamesToday: u.Games,
		DailyLimitMinutes: d.settings.DailyLimitMinutes, MinutesLeft: dec.MinutesLeft, Available: dec.OK, Reason: dec.Reason,
		Totals: usageTotals{Chats: st.Chats, Treats: st.Treats, Tricks: st.Tricks, Games: st.Games, Wins: st.Wins, Days: st.Days,
			Jokes: st.Jokes, Stories: st.Stories, Facts: st.Facts},
		Achievements: achievementsOf(st),
	})
	return nil
}

func (s *Server) getDaisy(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	child := childOf(r)
	dek, err := s.Vault.FamilyKey(r.Context(), child.FamilyID)
	if err != nil {
		return err
	}
	d, err := s.loadDaisy(r.Context(), a, a.ID, dek)
	if err != nil {
		return err
	}
	now := s.Now()
	st := companion.StateAt(d.rec.Daisy, now)
	dec := companion.Check(d.settings.controls(), d.rec.Usage, now, d.settings.location(), companion.FeatureChat)
	v := daisyView{Mood: companion.MoodAt(st, now), Hunger: st.Hunger, Energy: st.Energy,
		Available: dec.OK, Reason: dec.Reason, MinutesLeft: dec.MinutesLeft, Achievements: achievementsOf(d.rec.Stats)}
	if d.rec.Game != nil && d.rec.Game.Active(now) {
		gv := d.rec.Game.View(now)
		v.Game = &gv
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
