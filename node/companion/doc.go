// Package companion is Daisy's deterministic reply engine: it classifies what a
// child wrote into an intent (greeting, food, play, jokes, feelings, default)
// and picks one of Daisy's lines for the child's age tier, plus the fixed safe
// replies the safety pipeline needs (support, redirect, blocked, redaction
// reminder, fail-closed).
//
// What it owns: intent matching on normalised text, the line pools per intent
// and age tier, moods and suggested next actions.
//
// What it must never do: touch storage, the network, clocks or randomness.
// It does not judge safety either — the active policy does that before a
// message reaches Reply; this package only supplies the words.
//
// Invariants:
//   - An Engine is immutable after New and safe for concurrent use; there is
//     no package-level mutable state. Returned Reply values (including their
//     Suggestions slices) are fresh copies the caller may modify.
//   - Reply, Redirect and Blocked are pure functions of their arguments and of
//     the values returned by pick. Randomness is chosen by the caller before
//     replication (see design §3), so every node produces the same reply for
//     the same inputs. pick is called exactly once per call with n ≥ 1; a
//     result outside [0,n) is folded back into range, and a nil pick means 0.
//   - Reply never returns prev again (when the pool has another line).
//   - Intent keywords match whole words of the normalised text (lowercase,
//     apostrophes dropped, other punctuation as separators), never substrings:
//     "this", "hit", "think" and "shipping" do not match "hi".
//   - Feelings (sad, lonely, angry, scared, hurt) win over every other intent
//     and get warm, calm lines with mood "concerned" — never cheer.
//   - No line contains a URL, e-mail address or phone number, asks for
//     personal information or suggests meeting. The only numbers Support may
//     carry are emergency or crisis short codes (911, 988, 999, 112, …).
//   - An unknown age tier is treated as the youngest tier ("5-8").
package companion
