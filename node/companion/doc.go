// Package companion is Daisy: her state (hunger, energy, mood), intent
// matching, replies per age tier, the content catalogue (jokes, tricks,
// stories, dog facts, games), game rules, achievements and the evaluation of
// parental controls — all as pure, deterministic Go, plus the fixed safe
// replies the safety pipeline needs (support, redirect, blocked, redaction
// reminder, fail-closed).
//
// What it owns: the words Daisy says and the rules she follows. Entry
// points: Respond (a full stateful chat turn, routing to an active game),
// Reply (the stateless form), Start/Play (games), Award (achievements),
// Check/Allowed (parental controls), StateAt/MoodAt (state drift), Catalog
// types with Validate/ForTier, and Corpus (every line: `daisydog policy
// score` checks a candidate policy against it, and so do the policy tests),
// and Record — a child's Daisy as node/api stores it — with its codec
// (DecodeRecord/EncodeRecord: byte for byte encoding/json's output, without
// reflection on the common path; FuzzRecordFastAgreesWithJSON).
//
// What it must never do: touch storage, the network, clocks or randomness
// (callers pass now and pick), keep mutable package state, or judge safety.
//
// Safety invariant (the caller's side): the server runs the active safety
// policy on EVERY message before Respond, Reply, Play or Start sees it, and
// uses the policy's support/redirect/blocked replies instead when it says
// so — "I want to kill myself" in the middle of a guessing game gets the
// crisis response, never a hint. It runs the output policy on every reply
// this package returns. This package adds a second net, not a substitute:
// a hard feeling (sad, scared, lonely, angry, hurt) beats every other
// intent, and inside a game it pauses the game for a warm, calm reply.
//
// Invariants:
//   - An Engine is immutable after New/NewWithCatalog and safe for
//     concurrent use. Returned values (Reply.Suggestions, State.Recent,
//     GameState.Checked, catalogues) are fresh copies.
//   - Deterministic: every function is a pure function of its arguments and
//     of the values pick returns. Randomness is chosen by the node that
//     handles the request, before replication (design §3); the caller
//     replicates the results (Turn, GameState, Stats), never re-runs them on
//     another node. pick(n) must return a value in [0,n); out-of-range
//     values are folded back, a nil pick means 0. Reply, Redirect and Blocked
//     call pick exactly once; Respond, Start and Play may call it more often.
//   - One meaning for the levels, everywhere: hunger 0 = full … 5 = very
//     hungry; energy 0 = worn out … 5 = full of energy. They drift with real
//     time from stored anchors (StateAt; no job ever rewrites a State), and
//     StateAt(StateAt(s,a),b) == StateAt(s,b).
//   - Every reply carries a mood; with state (Respond, Start, Play) it is
//     MoodAt of the new state.
//   - Intent keywords match whole words of the normalised text (lowercase,
//     apostrophes dropped, other punctuation as separators), never
//     substrings: "this", "hit", "think" and "shipping" do not match "hi";
//     "my friend hit me" is a hurt feeling, not a greeting.
//   - No reply repeats the previous one when another line exists; catalogue
//     items are not reused while unused ones remain (State.Recent).
//   - No line contains a URL, e-mail address or phone-like number, asks for
//     personal information, suggests meeting, secrecy, gifts or photos; Daisy
//     never asks for or reveals personal information. The only numbers to
//     call are the emergency and crisis short codes in Support.
//     Catalog.Validate enforces the mechanical part for admin content.
//   - A game never shows its answer (GameState.View), and a child's invalid
//     move gets a friendly hint, never an error.
//   - Parental controls are evaluated in the child's time zone with calendar
//     arithmetic (DST-safe), never now±24h.
//   - An unknown age tier is treated as the youngest tier ("5-8").
package companion
