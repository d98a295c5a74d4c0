package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/companion"
	"daisydog/storage"
)

// Content packs: optional, versioned lessons and stories admins load and
// parents opt a child into. They add to what Daisy can tell; they never
// outrank the safety policy: every item passes the output policy for every
// tier it is marked for when loaded, and again as part of each reply.

const (
	packBody      = 512 << 10
	maxPackItems  = 200
	maxTitleRunes = 80
	packKindStory = "story"
	packKindLesso = "lesson"
)

var packIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

type contentPack struct {
	ID          string     `json:"id"`
	Version     int        `json:"version"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Source      packSource `json:"source"`
	Items       []packItem `json:"items"`
}

// packSource is the attribution parents see (never shown to the child).
type packSource struct {
	Name    string `json:"name"`
	URL     string `json:"url,omitempty"`
	License string `json:"license,omitempty"`
}

type packItem struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // "lesson" or "story"
	Title string `json:"title"`
	Text  string `json:"text"`
	companion.Ages
}

// validate checks a pack's shape (the policy check is separate).
func (p contentPack) validate() error {
	text := func(field, s string, maxRunes int) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s is required", field)
		}
		if utf8.RuneCountInString(s) > maxRunes {
			return fmt.Errorf("%s: at most %d characters", field, maxRunes)
		}
		return nil
	}
	if !packIDRe.MatchString(p.ID) {
		return fmt.Errorf("id %q: lowercase letters, digits, '-' or '_', at most 40", p.ID)
	}
	if p.Version < 1 {
		return fmt.Errorf("version must be at least 1")
	}
	if err := text("title", p.Title, maxTitleRunes); err != nil {
		return err
	}
	if err := text("description", p.Description, companion.MaxLineRunes); err != nil {
		return err
	}
	if err := text("source.name", p.Source.Name, maxTitleRunes); err != nil {
		return fmt.Errorf("source attribution: %w", err)
	}
	if p.Source.URL != "" {
		if u, err := url.Parse(p.Source.URL); err != nil || u.Scheme != "https" || u.Host == "" || len(p.Source.URL) > 300 {
			return fmt.Errorf("source.url must be an https URL")
		}
	}
	if len(p.Source.License) > maxTitleRunes {
		return fmt.Errorf("source.license: at most %d characters", maxTitleRunes)
	}
	if len(p.Items) == 0 || len(p.Items) > maxPackItems {
		return fmt.Errorf("items: 1 to %d", maxPackItems)
	}
	seen := map[string]bool{}
	for i, it := range p.Items {
		where := fmt.Sprintf("items[%d]", i)
		if !packIDRe.MatchString(it.ID) || seen[it.ID] {
			return fmt.Errorf("%s: id %q missing, malformed or duplicate", where, it.ID)
		}
		seen[it.ID] = true
		if it.Kind != packKindStory && it.Kind != packKindLesso {
			return fmt.Errorf("%s: kind must be lesson or story", where)
		}
		if err := text(where+".title", it.Title, maxTitleRunes); err != nil {
			return err
		}
		if err := text(where+".text", it.Text, companion.MaxStoryRunes); err != nil {
			return err
		}
		for _, t := range []string{it.Min, it.Max} {
			if t != "" && !isTier(t) {
				return fmt.Errorf("%s: unknown age tier %q", where, t)
			}
		}
		if !anyTier(it.Ages) {
			return fmt.Errorf("%s: the age range includes no tier", where)
		}
	}
	return nil
}

func isTier(t string) bool {
	for _, x := range companion.Tiers() {
		if x == t {
			return true
		}
	}
	return false
}

func anyTier(a companion.Ages) bool {
	for _, t := range companion.Tiers() {
		if a.Includes(t) {
			return true
		}
	}
	return false
}

// loadPack (POST /v1/admin/packs) loads a pack or a newer version of it.
func (s *Server) loadPack(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var p contentPack
	if err := decodeJSON(w, r, packBody, &p); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return errInvalid(err.Error())
	}
	for _, it := range p.Items {
		what := fmt.Sprintf("pack %s item %s", p.ID, it.ID)
		if err := s.checkContent(r.Context(), what, it.Ages, []string{p.Title, it.Title, it.Text}); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	cmd := &storage.PutContentPack{Pack: storage.ContentPack{ID: p.ID, Version: p.Version, Doc: doc, UpdatedAt: s.Now().UnixMilli()}, Actor: adminActor(a)}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Code == "conflict" {
			return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "a pack with this id and the same or a newer version is loaded"}
		}
		return err
	}
	writeJSON(w, http.StatusCreated, packSummary(p))
	return nil
}

// packs reads every loaded pack.
func (s *Server) packs(ctx context.Context) ([]contentPack, error) {
	rows, err := s.DB.ContentPacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]contentPack, 0, len(rows))
	for _, row := range rows {
		var p contentPack
		if err := json.Unmarshal(row.Doc, &p); err != nil {
			return nil, fmt.Errorf("content pack %s: %w", row.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

type packView struct {
	ID          string     `json:"id"`
	Version     int        `json:"version"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Source      packSource `json:"source"`
	Lessons     int        `json:"lessons"`
	Stories     int        `json:"stories"`
	Tiers       []string   `json:"age_tiers"`
}

func packSummary(p contentPack) packView {
	v := packView{ID: p.ID, Version: p.Version, Title: p.Title, Description: p.Description, Source: p.Source, Tiers: []string{}}
	for _, it := range p.Items {
		if it.Kind == packKindStory {
			v.Stories++
		} else {
			v.Lessons++
		}
	}
	for _, t := range companion.Tiers() {
		for _, it := range p.Items {
			if it.Includes(t) {
				v.Tiers = append(v.Tiers, t)
				break
			}
		}
	}
	return v
}

// listPacks (GET /v1/packs for parents, GET /v1/admin/packs for admins)
// lists the loaded packs with their attribution.
func (s *Server) listPacks(full bool) authed {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
		ps, err := s.packs(r.Context())
		if err != nil {
			return err
		}
		if full {
			writeJSON(w, http.StatusOK, map[string]any{"packs": ps})
			return nil
		}
		out := make([]packView, 0, len(ps))
		for _, p := range ps {
			out = append(out, packSummary(p))
		}
		writeJSON(w, http.StatusOK, map[string]any{"packs": out})
		return nil
	}
}

// deletePack (DELETE /v1/admin/packs/:id) unloads a pack.
func (s *Server) deletePack(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	cmd := &storage.DeleteContentPack{ID: p.ByName("id"), Actor: adminActor(a), At: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkPackIDs refuses opting a child into packs that are not loaded.
func (s *Server) checkPackIDs(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ps, err := s.packs(ctx)
	if err != nil {
		return err
	}
	loaded := map[string]bool{}
	for _, p := range ps {
		loaded[p.ID] = true
	}
	for _, id := range ids {
		if !loaded[id] {
			return errInvalid(fmt.Sprintf("content pack %q is not available", id))
		}
	}
	return nil
}

// packReply may answer a story or fact request with an item of a content
// pack the child's parent opted into (stories → pack stories, facts → pack
// lessons), chosen among the built-in answer and the fitting pack items.
// Only Daisy's words change: her state and stats are the built-in turn's.
// The reply still goes through the output policy like any other.
func (s *Server) packReply(ctx context.Context, env turnEnv, t companion.Turn) companion.Turn {
	var want string
	switch t.Reply.Intent {
	case companion.IntentStories:
		want = packKindStory
	case companion.IntentFacts:
		want = packKindLesso
	default:
		return t
	}
	if len(env.ctrl.Packs) == 0 || (t.Game != nil && t.Game.Active(env.now)) {
		return t
	}
	ps, err := s.packs(ctx)
	if err != nil {
		s.log.Warn("reading content packs failed; built-in reply", "err", err)
		return t
	}
	var options []string
	for _, p := range ps {
		if !env.ctrl.Allows(companion.PackFeature(p.ID)) {
			continue
		}
		for _, it := range p.Items {
			if it.Kind == want && it.Includes(env.child.AgeTier) {
				options = append(options, packLine(p, it))
			}
		}
	}
	if len(options) == 0 {
		return t
	}
	if i := env.pick(len(options) + 1); i < len(options) && options[i] != env.prev {
		t.Reply.Text = options[i]
	}
	return t
}

func packLine(p contentPack, it packItem) string {
	if it.Kind == packKindStory {
		return fmt.Sprintf("Here's a story from %s: %s. %s", p.Title, it.Title, it.Text)
	}
	return fmt.Sprintf("Here's something from %s: %s. %s", p.Title, it.Title, it.Text)
}
