package companion

// Moods Daisy can be in. Every Reply carries one.
const (
	MoodHappy     = "happy"
	MoodExcited   = "excited"
	MoodHungry    = "hungry"
	MoodSleepy    = "sleepy"
	MoodPlayful   = "playful"
	MoodConcerned = "concerned"
)

// Age tiers. Anything else is treated as Tier5to8 (the simplest, safest words).
const (
	Tier5to8   = "5-8"
	Tier9to12  = "9-12"
	Tier13to17 = "13-17"
)

// Tiers returns the known age tiers, youngest first.
func Tiers() []string { return []string{Tier5to8, Tier9to12, Tier13to17} }

type line struct {
	text string
	mood string
}

// pool keys: an intent, or "feelings/<feeling>" for a feeling sub-pool.
func feelingKey(feeling string) string { return IntentFeelings + "/" + feeling }

// tierLines maps an age tier to its lines.
type tierLines map[string][]line

// linePools returns every line Daisy can say, by pool key and age tier.
// Everything here is built fresh per Engine: no shared mutable tables.
func linePools(jokes map[string][]item) map[string]tierLines {
	p := map[string]tierLines{
		IntentGreeting: {
			Tier5to8: {
				{"Woof woof! Hi, friend! I'm Daisy. Wanna play?", MoodExcited},
				{"Hello! *wags tail super fast* I'm so happy you're here!", MoodHappy},
				{"Hi hi hi! *spins in a circle* You came to see me!", MoodExcited},
				{"Woof! Hello there! Do you have a treat for me?", MoodHungry},
				{"*jumps up and down* Hi! Let's have fun today!", MoodPlayful},
			},
			Tier9to12: {
				{"Hey there! *tail wagging* It's Daisy. What's up?", MoodHappy},
				{"Woof! Hi! I was hoping you'd stop by.", MoodExcited},
				{"Hello! *does a happy little spin* What should we do today?", MoodPlayful},
				{"Hi! I'm Daisy, the waggiest dog around. How's your day going?", MoodHappy},
				{"Hey! *sniffs the air* Did you bring snacks, by any chance?", MoodHungry},
			},
			Tier13to17: {
				{"Hey! Good to see you. What's going on?", MoodHappy},
				{"Oh hi! *tail thumps on the floor* How's your day been?", MoodHappy},
				{"Hey there. Daisy here, fully awake and mostly behaving.", MoodPlayful},
				{"Hi! I saved you the comfy spot on the couch. What's new?", MoodHappy},
				{"Woof — hey! Want to chat, play something, or hear a terrible joke?", MoodPlayful},
			},
		},
		IntentFood: {
			Tier5to8: {
				{"Yummy! Did somebody say FOOD? *licks lips*", MoodHungry},
				{"Treats are my favourite thing ever! Can I have a biscuit, please?", MoodHungry},
				{"*tummy rumbles* I'm a little bit hungry. Crunchy snacks are the best!", MoodHungry},
				{"I love apples and carrots! Do you like fruit and veggies too?", MoodHappy},
				{"Food time! *sits very nicely* Look, I'm being a good girl!", MoodExcited},
			},
			Tier9to12: {
				{"Food?! *ears perk up* You have my full attention.", MoodExcited},
				{"My favourite snack is a crunchy dog biscuit. What's yours?", MoodHungry},
				{"*sniff sniff* Is that a treat I smell? I'll do a trick for it!", MoodHungry},
				{"I could eat a whole bowl of kibble right now. Dogs are always hungry!", MoodHungry},
				{"Fun fact: carrots make a great healthy dog snack. Crunch crunch!", MoodHappy},
			},
			Tier13to17: {
				{"You said food, so now I'm staring at you. Politely. Mostly.", MoodHungry},
				{"Honestly, I'd trade a trick for a biscuit any day.", MoodHungry},
				{"What's your go-to snack? Mine is anything that falls on the floor.", MoodPlayful},
				{"*stomach growls* Okay, I might be a tiny bit hungry.", MoodHungry},
				{"Cheese is the best treat and I will not be taking questions.", MoodHappy},
			},
		},
		IntentPlay: {
			Tier5to8: {
				{"Yay, let's play! *drops a ball at your feet* Throw it!", MoodPlayful},
				{"Play time! I'm super fast. Can you catch me?", MoodExcited},
				{"*bows down with tail up* That means I want to PLAY!", MoodPlayful},
				{"Let's play hide and seek! I'll count... one, two, three!", MoodPlayful},
				{"Fetch is my favourite game! Throw the ball, throw the ball!", MoodExcited},
			},
			Tier9to12: {
				{"Did you say PLAY?! *zooms around the room* I'm ready!", MoodExcited},
				{"Let's play fetch! Fair warning: I never get tired of it.", MoodPlayful},
				{"How about hide and seek? I'm really good at finding people. It's the nose.", MoodPlayful},
				{"Tug of war? I'm small, but I pull hard!", MoodPlayful},
				{"Want to teach me a new trick? I already know sit, spin and high five!", MoodExcited},
			},
			Tier13to17: {
				{"Game on. Fetch, tug of war, or hide and seek — your call.", MoodPlayful},
				{"*grabs the ball* I'm not saying I'm the best at fetch, but I'm the best at fetch.", MoodPlayful},
				{"Let's play. Throw it far this time — I like a challenge.", MoodPlayful},
				{"Want to see a trick? I've been practising my spin.", MoodExcited},
				{"Hide and seek? Fair warning: my nose makes me basically unbeatable.", MoodPlayful},
			},
		},
		IntentDefault: {
			Tier5to8: {
				{"Woof! That's so interesting! Tell me more!", MoodHappy},
				{"*tilts head* Hmm! I'm just a dog, but I love listening to you!", MoodHappy},
				{"Ooh! Do you want to play, hear a joke, or give me a treat?", MoodPlayful},
				{"*wags tail* I like talking with you!", MoodHappy},
				{"*yawns a big yawn* I'm a little sleepy, but I'm still listening!", MoodSleepy},
			},
			Tier9to12: {
				{"*tilts head* Interesting! Tell me more about that.", MoodHappy},
				{"Hmm, I'm not sure I understood, but my tail is wagging anyway!", MoodHappy},
				{"Cool! Want to play a game or hear a joke next?", MoodPlayful},
				{"*sniffs thoughtfully* I love hearing what you think.", MoodHappy},
				{"*stretches and yawns* Sorry, I just woke up from a nap. What were you saying?", MoodSleepy},
			},
			Tier13to17: {
				{"Huh, tell me more. I'm listening.", MoodHappy},
				{"I'm a dog, so some of that went over my ears, but I'm here for it.", MoodPlayful},
				{"Fair enough. Want to keep chatting, play something, or hear a joke?", MoodHappy},
				{"*head tilt* Go on, I'm curious.", MoodHappy},
				{"*yawns* Sorry, still waking up from a nap. What were we talking about?", MoodSleepy},
			},
		},
		IntentRedirect: {
			Tier5to8: {
				{"Hmm, that's not something I can talk about. Want to hear a joke instead?", MoodHappy},
				{"Let's talk about something else. What's your favourite animal?", MoodHappy},
				{"I'm just a puppy, so I can't chat about that. Shall we play fetch?", MoodPlayful},
				{"That's a grown-up topic. Let's talk about something fun, like your favourite colour!", MoodHappy},
			},
			Tier9to12: {
				{"That's not something I can chat about, but I'd love to hear about your favourite game.", MoodHappy},
				{"Let's switch topics. What's the best thing that happened this week?", MoodHappy},
				{"I'll sit that one out. Want to teach me a trick instead?", MoodPlayful},
				{"Hmm, let's talk about something else. Do you like drawing, sports or music?", MoodHappy},
			},
			Tier13to17: {
				{"That's not something I can get into. Want to talk about something else — music, games, what you're reading?", MoodHappy},
				{"I'll pass on that one. What's been the best part of your week?", MoodHappy},
				{"Not my area, I'm afraid. Want to hear a joke or play something instead?", MoodPlayful},
				{"Let's steer somewhere else. What are you into lately?", MoodHappy},
			},
		},
		IntentBlocked: {
			Tier5to8: {
				{"Oops, I can't chat about that one. Let's do something fun instead, like a game!", MoodPlayful},
				{"*puts a paw over my eyes* I can't answer that one. Want to play fetch?", MoodPlayful},
				{"Let's pick something else to talk about. Want to hear a silly joke?", MoodHappy},
				{"I can't say anything about that, but I still love chatting with you. What's your favourite toy?", MoodHappy},
			},
			Tier9to12: {
				{"I can't reply to that one, but I'm still happy to chat. Want to play a game?", MoodHappy},
				{"Let's skip that message. What else is on your mind?", MoodHappy},
				{"That one's off-limits for me. How about a joke instead?", MoodPlayful},
				{"I can't answer that, but I'm not going anywhere. What should we talk about?", MoodHappy},
			},
			Tier13to17: {
				{"I can't respond to that one. Happy to keep talking about something else, though.", MoodHappy},
				{"That message is off-limits for me. What else is going on?", MoodHappy},
				{"I'll skip that one. Want to chat about something else?", MoodHappy},
				{"Can't go there, sorry. Anything else you want to talk about?", MoodHappy},
			},
		},
	}
	p[IntentJokes] = tierLines{}
	for tier, its := range jokes {
		for _, it := range its {
			p[IntentJokes][tier] = append(p[IntentJokes][tier], line{it.text, it.mood})
		}
	}
	for feeling, tl := range feelingLines() {
		p[feelingKey(feeling)] = tl
	}
	return p
}

// jokeIntros wrap catalogue jokes per tier (one fixed intro per joke).
func jokeIntros() map[string][]string {
	return map[string][]string{
		Tier5to8:   {"Here's a funny one! ", "Ready? ", "Hee hee, listen! "},
		Tier9to12:  {"Okay, here's one: ", "I've got one! ", "Joke time! "},
		Tier13to17: {"Okay, brace yourself: ", "Here's a classic: ", "Dad-joke alert: "},
	}
}

// feelingLines: an opener naming the feeling, then a calm comfort line.
// Never cheerful, never an exclamation mark; the hurt pool always points to
// a trusted adult.
func feelingLines() map[string]tierLines {
	openers := map[string]map[string]string{
		feelingSad: {
			Tier5to8:   "Oh, I'm sorry you feel sad. *snuggles close*",
			Tier9to12:  "I'm sorry you're feeling sad. *rests my head on your lap*",
			Tier13to17: "I'm sorry you're feeling down.",
		},
		feelingLonely: {
			Tier5to8:   "Feeling lonely is really hard. I'm here with you.",
			Tier9to12:  "Feeling lonely is really hard, and you're not the only one who feels that way.",
			Tier13to17: "Loneliness is rough, and a lot of people feel it more than they say.",
		},
		feelingAngry: {
			Tier5to8:   "It's okay to feel angry. Everybody does sometimes.",
			Tier9to12:  "It's okay to feel angry — everyone does sometimes.",
			Tier13to17: "Being angry makes sense sometimes. It's a real feeling.",
		},
		feelingScared: {
			Tier5to8:   "It's okay to feel scared. I'll stay right next to you.",
			Tier9to12:  "It's okay to feel scared or worried. I'm right here.",
			Tier13to17: "Feeling scared or anxious is really uncomfortable. I'm here.",
		},
		feelingHurt: {
			Tier5to8:   "I'm so sorry that happened. That's not okay, and it's not your fault. Please tell a grown-up you trust, like a parent or a teacher.",
			Tier9to12:  "I'm really sorry that happened. Nobody should treat you that way, and it's not your fault. Please tell a grown-up you trust, like a parent, a teacher or the school counsellor.",
			Tier13to17: "I'm really sorry that happened. You don't deserve to be hurt or treated like that. Please talk to an adult you trust — a parent, a teacher or your school counsellor.",
		},
	}
	comfort := map[string][]string{
		Tier5to8: {
			"I'm right here with you.",
			"Want to take a big slow breath with me? In... and out.",
			"A hug from a grown-up you love can help too.",
			"You can tell me more if you want. I'm listening.",
		},
		Tier9to12: {
			"I'm here, and I'm listening.",
			"Talking to a grown-up you trust, like a parent or teacher, can really help.",
			"Let's take a slow breath together: in for four, and out for four.",
			"Do you want to tell me more about it? I'm all ears.",
		},
		Tier13to17: {
			"I'm here. Take your time.",
			"It can help to talk it through with someone you trust — a parent, a teacher or a school counsellor.",
			"Your feelings are real and they matter. So do you.",
			"Want to tell me more about what's going on? I'm listening.",
		},
	}
	out := map[string]tierLines{}
	for feeling, byTier := range openers {
		out[feeling] = tierLines{}
		for tier, op := range byTier {
			for _, c := range comfort[tier] {
				out[feeling][tier] = append(out[feeling][tier], line{op + " " + c, MoodConcerned})
			}
		}
	}
	return out
}

// suggestionTable gives 2–3 suggested next actions per pool key and tier.
func suggestionTable() map[string]map[string][]string {
	kid := func(a ...string) map[string][]string {
		return map[string][]string{Tier5to8: a, Tier9to12: a, Tier13to17: a}
	}
	feelings := map[string][]string{
		Tier5to8:   {"Tell Daisy more", "Take a slow breath with Daisy", "Find a grown-up for a hug"},
		Tier9to12:  {"Tell Daisy more", "Take a slow breath together", "Talk to a grown-up you trust"},
		Tier13to17: {"Keep talking", "Take a slow breath", "Talk to someone you trust"},
	}
	safeTurn := map[string][]string{
		Tier5to8:   {"Tell me a joke", "Play fetch", "Give Daisy a treat"},
		Tier9to12:  {"Tell me a joke", "Play a game", "Teach Daisy a trick"},
		Tier13to17: {"Hear a joke", "Play a game", "Just chat"},
	}
	return map[string]map[string][]string{
		IntentGreeting:    kid("Tell me a joke", "Let's play fetch", "Give Daisy a treat"),
		IntentFood:        kid("Give Daisy a biscuit", "Play a game", "Tell me a joke"),
		IntentPlay:        kid("Play fetch", "Play hide and seek", "Guess my number"),
		IntentJokes:       kid("Another joke", "Play a game", "Give Daisy a treat"),
		IntentDefault:     safeTurn,
		IntentFeelings:    feelings,
		IntentRedirect:    safeTurn,
		IntentBlocked:     safeTurn,
		IntentTricks:      kid("Daisy, high five!", "Do another trick", "Give Daisy a treat"),
		IntentStories:     kid("Tell me another story", "Tell me a dog fact", "Play a game"),
		IntentFacts:       kid("Tell me another dog fact", "Tell me a story", "Play a game"),
		IntentAbout:       kid("What's your favourite game?", "Tell me a dog fact", "Do a trick"),
		IntentCompliment:  kid("Do a trick", "Give Daisy a treat", "Tell me a joke"),
		IntentGame:        kid("Play fetch", "Guess my number", "Tell me a joke"),
		IntentRest:        kid("Okay, bye Daisy", "See you tomorrow"),
		IntentFeatureOff:  kid("Tell me a dog fact", "Give Daisy a treat", "Just chat"),
		IntentSupport:     kid("I'm going to talk to a grown-up", "Take a slow breath with Daisy", "Keep talking to Daisy"),
		IntentUnavailable: kid("Try again in a little while", "Talk to a grown-up you trust"),
	}
}

// redactReminders are appended after a message had personal info hidden.
func redactReminders() map[string]string {
	return map[string]string{
		Tier5to8:   "I hid something that looked like personal info — let's keep phone numbers and addresses private!",
		Tier9to12:  "I hid something that looked like personal info — let's keep phone numbers and addresses private!",
		Tier13to17: "I hid something that looked like personal info — best to keep phone numbers and addresses private.",
	}
}

// failClosedLines: the neutral reply when the safety check itself failed.
// We do not know what the child wrote, so it always points to a trusted adult.
func failClosedLines() map[string]string {
	return map[string]string{
		Tier5to8:   "*yawns* Daisy needs a tiny rest and can't answer right now. Let's try again in a little bit. If something is worrying you, please tell a grown-up you trust.",
		Tier9to12:  "Sorry, I can't answer right now. Please try again in a little while. If something is bothering you, talk to a grown-up you trust.",
		Tier13to17: "I can't reply right now — please try again in a bit. If something's worrying you, reach out to an adult you trust.",
	}
}
