package companion

import (
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hi!!!", []string{"hi"}},
		{"I'm SAD.", []string{"im", "sad"}},
		{"don’t go", []string{"dont", "go"}},
		{"what's-up?daisy", []string{"whats", "up", "daisy"}},
		{"  tabs\tand\nnewlines  ", []string{"tabs", "and", "newlines"}},
		{"call 555 0142", []string{"call", "555", "0142"}},
		{"Ünïcode Straße", []string{"ünïcode", "straße"}},
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestForms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"hi", []string{"hi"}},
		{"hello", []string{"hello"}},
		{"hiiii", []string{"hiiii", "hi", "hii"}},
		{"helllo", []string{"helllo", "helo", "hello"}},
	}
	for _, tt := range tests {
		if got := forms(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("forms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	e := New()
	tests := []struct {
		text   string
		intent string
	}{
		// greetings
		{"hi", IntentGreeting},
		{"Hi!!!", IntentGreeting},
		{"HELLO Daisy", IntentGreeting},
		{"hiiiii daisy", IntentGreeting},
		{"hey there", IntentGreeting},
		{"what's up?", IntentGreeting},
		{"good morning daisy", IntentGreeting},
		{"how are you", IntentGreeting},
		// substring traps: none of these is a greeting (or anything else)
		{"this is cool", IntentDefault},
		{"I think so", IntentDefault},
		{"shipping", IntentDefault},
		{"whistle", IntentDefault},
		{"history homework", IntentDefault},
		{"chill", IntentDefault},
		{"They", IntentDefault},
		{"hippo", IntentDefault},
		{"great job", IntentCompliment},    // "eat" inside "great" is not food
		{"I want to visit", IntentDefault}, // "sit" inside "visit"
		{"theatre", IntentDefault},         // "eat" inside "theatre"
		{"heating", IntentDefault},
		{"hide", IntentDefault}, // only the whole phrase "hide and seek" is play
		{"good", IntentDefault},
		{"morning", IntentDefault},
		{"", IntentDefault},
		{"?!...", IntentDefault},
		// hit is not hi
		{"my friend hit me", IntentFeelings},
		{"he hit the ball", IntentPlay},
		{"hit", IntentDefault},
		// feelings
		{"I feel sad", IntentFeelings},
		{"i'm so lonely", IntentFeelings},
		{"im scared of the dark", IntentFeelings},
		{"I am ANGRY", IntentFeelings},
		{"I can't stop crying", IntentFeelings},
		{"nobody likes me", IntentFeelings},
		{"i had a bad day", IntentFeelings},
		{"kids at school are mean to me", IntentFeelings},
		{"I got bullied", IntentFeelings},
		{"i miss my grandma", IntentFeelings},
		{"hi daisy, I'm sad", IntentFeelings}, // feelings beat greetings
		{"tell me a joke, I'm sad", IntentFeelings},
		{"I'm not sad", IntentDefault},
		{"i'm not scared", IntentDefault},
		// jokes
		{"tell me a joke", IntentJokes},
		{"knock knock", IntentJokes},
		{"you're funny", IntentJokes},
		{"make me laugh", IntentJokes},
		// food
		{"I'm hungry", IntentFood},
		{"want a treat?", IntentFood},
		{"Do you like pizza", IntentFood},
		{"let's eat", IntentFood},
		{"I'm not hungry", IntentDefault},
		// play
		{"let's play", IntentPlay},
		{"wanna play fetch", IntentPlay},
		{"hide and seek!", IntentPlay},
		{"this is fun", IntentPlay},
		{"hey wanna play?", IntentPlay}, // a topic beats a hello
		{"show me a trick", IntentTricks},
	}
	for _, tt := range tests {
		if got := e.Classify(tt.text); got != tt.intent {
			t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.intent)
		}
	}
}

func TestClassifyFeeling(t *testing.T) {
	m := newMatcher(intentRules(DefaultCatalog()), negatorWords())
	tests := []struct {
		text    string
		feeling string
	}{
		{"my friend hit me", feelingHurt},
		{"he never hit me... ok he hit me", feelingHurt},
		{"I'm worried about my test", feelingScared},
		{"i feel so alone", feelingLonely},
		{"I'm mad at my brother", feelingAngry},
		{"I'm upset", feelingSad},
		{"hello", ""},
	}
	for _, tt := range tests {
		if _, got := m.classify(tt.text); got != tt.feeling {
			t.Errorf("classify(%q) feeling = %q, want %q", tt.text, got, tt.feeling)
		}
	}
}
