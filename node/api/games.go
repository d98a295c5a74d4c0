package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/companion"
	"daisydog/storage"
)

// startGame begins a game session (POST /v1/games {"kind"}). It is a turn
// like any other: the request is stored as the child's message
// ("let's play …"), goes through the safety policy and parental controls
// (games switched off, bedtime, daily limit), and Daisy's reply through the
// output policy.
func (s *Server) startGame(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Kind string `json:"kind"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !slices.Contains(companion.GameKinds(), req.Kind) {
		return errInvalid("kind must be one of " + strings.Join(companion.GameKinds(), ", "))
	}
	kind := req.Kind
	step := func(s *Server, env turnEnv, _ string) companion.Turn {
		d, g, reply := env.eng.Start(env.d.rec.Daisy, kind, env.child.AgeTier, env.now, env.pick)
		t := companion.Turn{Reply: reply, Daisy: d, Game: env.d.rec.Game,
			Events: []companion.Event{{Kind: companion.EventChat, At: env.now}}}
		if g.Active(env.now) {
			t.Game = &g
			t.Events = append(t.Events, companion.Event{Kind: companion.EventGameStart, ID: kind, At: env.now})
		}
		return t
	}
	return s.runTurn(w, r, a, "let's play "+strings.ReplaceAll(kind, "_", " "), companion.FeatureGames, step, false, true)
}

// gameMove plays a move in the current game (POST /v1/games/current/moves
// {"move"}). The safety policy sees the move first: a crisis message in the
// middle of a game gets the support reply, never a hint. Without an active
// game the move is answered like a chat message.
func (s *Server) gameMove(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Move string `json:"move"`
	}
	if err := decodeJSON(w, r, chatBody, &req); err != nil {
		return err
	}
	text, err := cleanText("move", req.Move, maxMessageRunes, true)
	if err != nil {
		return err
	}
	return s.runTurn(w, r, a, text, companion.FeatureGames, chatStep, false, true)
}
