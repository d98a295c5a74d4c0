package companion_test

import (
	"fmt"
	"time"

	"daisydog/node/companion"
)

// A server keeps Daisy's State, the game session and the stats per child,
// decides randomness before replication, and stores what Respond returns.
func Example() {
	e := companion.New()
	now := time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC)
	first := func(n int) int { return 0 } // the server would use real randomness here

	var daisy companion.State // a new child: the zero State
	var game *companion.GameState
	var stats companion.Stats
	for _, msg := range []string{"hi daisy!", "give daisy some bacon", "let's play guess my number", "5", "1"} {
		// (the safety policy has already allowed msg)
		turn := e.Respond(companion.Input{Text: msg, Tier: "5-8", Now: now, Daisy: daisy, Game: game}, first)
		daisy, game = turn.Daisy, turn.Game
		for _, ev := range turn.Events {
			var got []companion.Achievement
			stats, got = companion.Award(stats, ev)
			for _, a := range got {
				fmt.Println("  achievement:", a.Name)
			}
		}
		fmt.Printf("%s -> [%s, %s] %s\n", msg, turn.Reply.Intent, turn.Reply.Mood, turn.Reply.Text)
		now = now.Add(time.Minute)
	}
	fmt.Println("hunger", daisy.Hunger, "energy", daisy.Energy, "games", stats.Games, "wins", stats.Wins)
	// Output:
	//   achievement: Hello, Daisy!
	// hi daisy! -> [greeting, happy] Woof woof! Hi, friend! I'm Daisy. Wanna play?
	//   achievement: Snack Time
	// give daisy some bacon -> [food, excited] BACON?! *jumps up and down* Best day EVER!
	// let's play guess my number -> [game, excited] I'm thinking of a number from 1 to 10. Can you guess it? You have 5 tries!
	// 5 -> [game, excited] Not 5! My number is smaller. Go lower! 4 tries left.
	//   achievement: Game On
	//   achievement: Winner
	// 1 -> [game, excited] YES! It was 1! You got it! *happy zoomies*
	// hunger 1 energy 5 games 1 wins 1
}
