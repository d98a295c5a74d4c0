package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/companion"
	"daisydog/policies"
	"daisydog/storage"
)

// Catalogue item kinds, as in the API paths and in storage.
const (
	kindJoke  = "joke"
	kindTrick = "trick"
	kindStory = "story"
	kindFact  = "fact"
	kindGame  = "game"
)

// catalogPaths maps the admin API's path segment to the item kind.
var catalogPaths = map[string]string{"jokes": kindJoke, "tricks": kindTrick, "stories": kindStory, "facts": kindFact, "games": kindGame}

// catalogBody bounds one catalogue item (a story with its title is the largest).
const catalogBody = 16 << 10

// catalogCache holds the Engine built from the stored catalogue at a
// revision. Every turn compares the stored revision (one small read) and
// rebuilds when an admin changed something, so an edit reaches every node
// with its next turn after the node applied it.
type catalogCache struct {
	mu  sync.Mutex // one rebuild at a time
	cur atomic.Pointer[catalogSnap]
}

type catalogSnap struct {
	rev int64
	eng *companion.Engine
}

// engine is the companion Engine over the catalogue in force: the stored
// one once seeded, the built-in default before. A stored catalogue that
// does not build (it cannot pass the admin API's checks, so this means a
// bug) keeps the last good Engine.
func (s *Server) engine(ctx context.Context) *companion.Engine {
	rev, err := s.DB.CatalogRevision(ctx)
	snap := s.catalog.cur.Load()
	if err != nil || rev == 0 {
		if snap != nil {
			return snap.eng
		}
		return s.Companion
	}
	if snap != nil && snap.rev == rev {
		return snap.eng
	}
	s.catalog.mu.Lock()
	defer s.catalog.mu.Unlock()
	if snap := s.catalog.cur.Load(); snap != nil && snap.rev == rev {
		return snap.eng
	}
	prev := s.Companion
	if snap != nil {
		prev = snap.eng
	}
	st, err := s.DB.Catalog(ctx)
	if err != nil {
		s.log.Warn("reading the catalogue failed; keeping the current one", "err", err)
		return prev
	}
	eng := prev
	if cat, err := catalogFrom(st); err != nil {
		s.log.Error("stored catalogue is unusable; keeping the current one", "rev", st.Rev, "err", err)
	} else if e, err := companion.NewWithCatalog(cat); err != nil {
		s.log.Error("stored catalogue does not validate; keeping the current one", "rev", st.Rev, "err", err)
	} else {
		eng = e
	}
	s.catalog.cur.Store(&catalogSnap{rev: st.Rev, eng: eng})
	return eng
}

// catalogFrom decodes stored items into a Catalog.
func catalogFrom(st storage.CatalogState) (companion.Catalog, error) {
	c := companion.Catalog{V: companion.CatalogVersion}
	for _, it := range st.Items {
		var err error
		switch it.Kind {
		case kindJoke:
			c.Jokes, err = appendDoc(c.Jokes, it.Doc)
		case kindTrick:
			c.Tricks, err = appendDoc(c.Tricks, it.Doc)
		case kindStory:
			c.Stories, err = appendDoc(c.Stories, it.Doc)
		case kindFact:
			c.Facts, err = appendDoc(c.Facts, it.Doc)
		case kindGame:
			c.Games, err = appendDoc(c.Games, it.Doc)
		default:
			err = fmt.Errorf("unknown kind %q", it.Kind)
		}
		if err != nil {
			return c, fmt.Errorf("catalogue %s %q: %w", it.Kind, it.ID, err)
		}
	}
	return c, nil
}

func appendDoc[T any](xs []T, doc []byte) ([]T, error) {
	var v T
	if err := json.Unmarshal(doc, &v); err != nil {
		return xs, err
	}
	return append(xs, v), nil
}

// catalogItems turns a Catalog into storage items (for seeding).
func catalogItems(c companion.Catalog, at int64) ([]storage.CatalogItem, error) {
	var out []storage.CatalogItem
	add := func(kind, id string, v any) error {
		doc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out = append(out, storage.CatalogItem{Kind: kind, ID: id, Doc: doc, UpdatedAt: at})
		return nil
	}
	var errs []error
	for _, x := range c.Jokes {
		errs = append(errs, add(kindJoke, x.ID, x))
	}
	for _, x := range c.Tricks {
		errs = append(errs, add(kindTrick, x.ID, x))
	}
	for _, x := range c.Stories {
		errs = append(errs, add(kindStory, x.ID, x))
	}
	for _, x := range c.Facts {
		errs = append(errs, add(kindFact, x.ID, x))
	}
	for _, x := range c.Games {
		errs = append(errs, add(kindGame, x.Kind, x))
	}
	return out, errors.Join(errs...)
}

// SeedCatalogCommand is the command that stores the default catalogue on a
// cluster's first start (a no-op once seeded).
func SeedCatalogCommand(at int64) (*storage.SeedCatalog, error) {
	items, err := catalogItems(companion.DefaultCatalog(), at)
	if err != nil {
		return nil, err
	}
	return &storage.SeedCatalog{Items: items, At: at}, nil
}

// currentCatalog is the catalogue admins edit: the stored one (fresh from
// the leader's point of view), or the default before the first seeding.
func (s *Server) currentCatalog(ctx context.Context) (companion.Catalog, error) {
	if err := s.Repl.SyncRead(ctx); err != nil {
		return companion.Catalog{}, errUnavailable
	}
	st, err := s.DB.Catalog(ctx)
	if err != nil {
		return companion.Catalog{}, err
	}
	if !st.Seeded {
		return companion.DefaultCatalog(), nil
	}
	return catalogFrom(st)
}

// catalogEntry is one decoded item of a kind with what the policy must see.
type catalogEntry struct {
	id    string
	ages  companion.Ages
	texts []string
	value any
}

// decodeCatalogItem strictly decodes an item of kind from the request.
func decodeCatalogItem(w http.ResponseWriter, r *http.Request, kind string) (catalogEntry, error) {
	switch kind {
	case kindJoke:
		var v companion.Joke
		err := decodeJSON(w, r, catalogBody, &v)
		return catalogEntry{v.ID, v.Ages, []string{v.Text}, v}, err
	case kindFact:
		var v companion.Fact
		err := decodeJSON(w, r, catalogBody, &v)
		return catalogEntry{v.ID, v.Ages, []string{v.Text}, v}, err
	case kindStory:
		var v companion.Story
		err := decodeJSON(w, r, catalogBody, &v)
		return catalogEntry{v.ID, v.Ages, []string{v.Title, v.Text}, v}, err
	case kindTrick:
		var v companion.Trick
		err := decodeJSON(w, r, catalogBody, &v)
		return catalogEntry{v.ID, v.Ages, append([]string{v.Name, v.Description}, v.Lines...), v}, err
	case kindGame:
		var v companion.GameInfo
		err := decodeJSON(w, r, catalogBody, &v)
		return catalogEntry{v.Kind, v.Ages, []string{v.Name, v.Description, v.Rules}, v}, err
	}
	return catalogEntry{}, errNotFound
}

// withItem returns c with the item of kind and id replaced by v (nil:
// removed; not there: appended), and whether it was there.
func withItem(c companion.Catalog, kind, id string, v any) (companion.Catalog, bool) {
	var found bool
	switch kind {
	case kindJoke:
		c.Jokes, found = edit(c.Jokes, func(x companion.Joke) string { return x.ID }, id, v)
	case kindFact:
		c.Facts, found = edit(c.Facts, func(x companion.Fact) string { return x.ID }, id, v)
	case kindStory:
		c.Stories, found = edit(c.Stories, func(x companion.Story) string { return x.ID }, id, v)
	case kindTrick:
		c.Tricks, found = edit(c.Tricks, func(x companion.Trick) string { return x.ID }, id, v)
	case kindGame:
		c.Games, found = edit(c.Games, func(x companion.GameInfo) string { return x.Kind }, id, v)
	}
	return c, found
}

func edit[T any](xs []T, idOf func(T) string, id string, v any) ([]T, bool) {
	out := make([]T, 0, len(xs)+1)
	found := false
	for _, x := range xs {
		if idOf(x) != id {
			out = append(out, x)
			continue
		}
		found = true
		if v != nil {
			out = append(out, v.(T))
		}
	}
	if !found && v != nil {
		out = append(out, v.(T))
	}
	return out, found
}

// errUnsafe refuses content the output policy does not allow.
func errUnsafe(msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "unsafe_content", Message: msg}
}

// checkContent runs every text through the output policy for every tier
// in ages, at standard and strict strictness (what any child in range,
// whatever the parent's setting, could be shown). A policy failure refuses
// too (fail closed).
func (s *Server) checkContent(ctx context.Context, what string, ages companion.Ages, texts []string) error {
	for _, tier := range companion.Tiers() {
		if !ages.Includes(tier) {
			continue
		}
		for _, strict := range []string{companion.StrictStandard, companion.StrictStrict} {
			for _, text := range texts {
				v, err := s.evaluate(ctx, policies.Input{Text: text, Direction: "out", AgeTier: tier, Strictness: strict})
				if err != nil {
					s.log.Warn("policy failed while checking content; refusing it", "err", err)
					return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the safety check is unavailable; try again", RetryAfter: 2}
				}
				if v.Action != "allow" {
					return errUnsafe(fmt.Sprintf("%s: refused by the safety policy for ages %s at %s strictness (%s: %s)",
						what, tier, strict, v.Action, strings.Join(v.Categories, ", ")))
				}
			}
		}
	}
	return nil
}

// getCatalog (GET /v1/admin/catalog) returns the whole catalogue.
func (s *Server) getCatalog(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	c, err := s.currentCatalog(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// listCatalog (GET /v1/admin/catalog/{jokes,tricks,stories,facts,games})
// returns the items of one kind.
func (s *Server) listCatalog(kind string) authed {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
		return s.listKind(w, r, kind)
	}
}

func (s *Server) listKind(w http.ResponseWriter, r *http.Request, kind string) error {
	c, err := s.currentCatalog(r.Context())
	if err != nil {
		return err
	}
	var items any
	switch kind {
	case kindJoke:
		items = c.Jokes
	case kindFact:
		items = c.Facts
	case kindStory:
		items = c.Stories
	case kindTrick:
		items = c.Tricks
	case kindGame:
		items = c.Games
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "items": items})
	return nil
}

// putCatalog creates (POST /v1/admin/catalog/jokes …) or replaces (PUT
// /v1/admin/catalog/jokes/:id …) an item: it must keep the whole catalogue
// valid and pass the output policy for every tier it is marked for.
func (s *Server) putCatalog(kind string, create bool) authed {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
		e, err := decodeCatalogItem(w, r, kind)
		if err != nil {
			return err
		}
		cur, err := s.currentCatalog(r.Context())
		if err != nil {
			return err
		}
		if !create {
			if _, exists := withItem(cur, kind, p.ByName("id"), nil); !exists {
				return errNotFound
			}
			if e.id != p.ByName("id") {
				return errInvalid("the item's id must match the path")
			}
		}
		next, found := withItem(cur, kind, e.id, e.value)
		switch {
		case create && found:
			return &apiError{Status: http.StatusConflict, Code: "conflict", Message: kind + " " + e.id + " already exists"}
		case !create && !found:
			return errNotFound
		}
		if err := next.Validate(); err != nil {
			return errInvalid(err.Error())
		}
		if err := s.checkContent(r.Context(), kind+" "+e.id, e.ages, e.texts); err != nil {
			return err
		}
		if err := s.ensureSeeded(r.Context()); err != nil {
			return err
		}
		doc, err := json.Marshal(e.value)
		if err != nil {
			return err
		}
		cmd := &storage.PutCatalogItem{Item: storage.CatalogItem{Kind: kind, ID: e.id, Doc: doc, UpdatedAt: s.Now().UnixMilli()},
			Create: create, Actor: adminActor(a)}
		if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
			return err
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		writeJSON(w, status, e.value)
		return nil
	}
}

// deleteCatalog (DELETE /v1/admin/catalog/jokes/:id …) removes an item,
// unless a tier would be left without a joke, fact, story or trick.
func (s *Server) deleteCatalog(kind string) authed {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
		return s.deleteItem(w, r, a, kind, p.ByName("id"))
	}
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, a storage.Actor, kind, id string) error {
	cur, err := s.currentCatalog(r.Context())
	if err != nil {
		return err
	}
	next, found := withItem(cur, kind, id, nil)
	if !found {
		return errNotFound
	}
	if err := next.Validate(); err != nil {
		return errInvalid("deleting it would leave the catalogue incomplete: " + err.Error())
	}
	if err := s.ensureSeeded(r.Context()); err != nil {
		return err
	}
	cmd := &storage.DeleteCatalogItem{ItemKind: kind, ID: id, Actor: adminActor(a), At: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ensureSeeded stores the default catalogue before the first admin edit
// if the cluster has not seeded it yet (normally done at first start).
func (s *Server) ensureSeeded(ctx context.Context) error {
	cmd, err := SeedCatalogCommand(s.Now().UnixMilli())
	if err != nil {
		return err
	}
	_, err = s.replicate(ctx, cmd, nil)
	return err
}
