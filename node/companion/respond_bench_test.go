package companion

import (
	"testing"
	"time"
)

// benchMessages are everyday child messages of the kinds `daisydog bench`
// sends: greetings, jokes, food, play, tricks, feelings, questions.
var benchMessages = []string{
	"hi daisy!", "Hello! How are you today?", "tell me a joke", "knock knock",
	"are you hungry? want a treat?", "I had pizza for lunch", "let's play fetch!",
	"can we play hide and seek", "show me a trick", "I feel a bit sad today",
	"I'm scared of the dark", "this is so cool, I think you are the best dog",
	"what is your favourite colour?", "I drew a picture of a dinosaur", "good night daisy",
	"here's a bone", "daisy, roll over!", "sit!", "can you shake paws?", "play dead!",
	"my brother and me went to the park and we saw sooooo many ducks",
}

// BenchmarkRespond is the companion's share of a chat turn.
func BenchmarkRespond(b *testing.B) {
	e := New()
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	pick := lcg(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Respond(Input{Text: benchMessages[i%len(benchMessages)], Tier: Tier9to12, Now: now, Daisy: State{Hunger: 1, Energy: 3}}, pick)
	}
}

// BenchmarkClassify is the intent matcher alone.
func BenchmarkClassify(b *testing.B) {
	m := New().matcher
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.classify(benchMessages[i%len(benchMessages)])
	}
}
