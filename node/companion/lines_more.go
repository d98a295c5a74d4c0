package companion

// Pool keys beyond the intents of lines.go. Lines may hold placeholders in
// braces ({trick}, {score}, …) that are filled before a line is chosen.
const (
	poolFull      = "food/full"    // Daisy is full (hunger 0)
	poolTired     = "tricks/tired" // too tired for {trick}
	poolRestBed   = "rest/bedtime"
	poolRestLimit = "rest/limit"
)

func aboutKey(topic string) string    { return IntentAbout + "/" + topic }
func treatKey(id string) string       { return "treat/" + id }
func featureKey(f Feature) string     { return IntentFeatureOff + "/" + string(f) }
func feelKey(mood string) string      { return aboutKey(aboutFeel) + "/" + mood }
func gameKey(key string) string       { return "game/" + key }
func same(ls ...line) tierLines       { return tierLines{Tier5to8: ls, Tier9to12: ls, Tier13to17: ls} }
func byTier(y, m, t []line) tierLines { return tierLines{Tier5to8: y, Tier9to12: m, Tier13to17: t} }

// morePools adds the pools Respond needs to p.
func morePools(p map[string]tierLines) {
	p[aboutKey(aboutMe)] = byTier(
		[]line{
			{"I don't know things like that about you, and that's okay. Private things stay private. What would you like to do?", MoodHappy},
			{"Hmm, I don't keep track of private stuff like that. You're my friend, and that's what matters to me.", MoodHappy},
		},
		[]line{
			{"I don't know that, and I don't need to. Private details are best kept private, even from a friendly dog.", MoodHappy},
			{"I don't keep personal details about anyone. You're just my friend, no details needed.", MoodHappy},
		},
		[]line{
			{"I don't know that, and honestly it's better that way. Personal details are worth keeping to yourself online.", MoodHappy},
			{"No idea, and I'm not keeping track. Personal stuff is yours to keep private.", MoodHappy},
		})
	p[aboutKey(aboutReal)] = byTier(
		[]line{
			{"I'm a pretend puppy who lives in the computer. I'm not a real dog, but I really do like chatting with you.", MoodHappy},
			{"I'm a make-believe dog made by a computer. Real dogs need real cuddles from real people, but I'm happy to play.", MoodHappy},
		},
		[]line{
			{"I'm not a real dog or a person. I'm a computer program pretending to be a dog. The jokes are real, though. Mostly.", MoodPlayful},
			{"Good question. I'm a computer character, not a real dog, and definitely not a person.", MoodHappy},
		},
		[]line{
			{"Honest answer: I'm a computer program playing a dog, not a real dog and not a person. I'm here for chat, games and terrible jokes.", MoodHappy},
			{"I'm software with a dog personality. Not a person, not a real pup, but I try to be good company.", MoodHappy},
		})
	p[aboutKey(aboutName)] = byTier(
		[]line{
			{"I'm Daisy! Daisy the dog. Woof!", MoodExcited},
			{"My name is Daisy, like the little white flower!", MoodHappy},
		},
		[]line{
			{"I'm Daisy, your friendly neighbourhood dog.", MoodHappy},
			{"The name's Daisy. Professional ball chaser and snack expert.", MoodPlayful},
		},
		[]line{
			{"Daisy. Dog, joke teller, occasional napper.", MoodPlayful},
			{"I'm Daisy. Nice to chat with you.", MoodHappy},
		})
	p[aboutKey(aboutAge)] = byTier(
		[]line{
			{"I'm four years old! That's old enough to know lots of tricks.", MoodHappy},
			{"I'm four! I've had four birthdays, and every one had a cake for dogs.", MoodExcited},
		},
		[]line{
			{"I'm four years old. People say that's about 30 in human years, but I still act like a puppy.", MoodPlayful},
			{"Four years old. Old enough to know tricks, young enough to chase my tail.", MoodPlayful},
		},
		[]line{
			{"Four years old. Dog years don't really work as times seven, but let's just say I'm a young adult with puppy energy.", MoodPlayful},
			{"I'm four. Middle of my zoomies era.", MoodPlayful},
		})
	p[aboutKey(aboutBreed)] = byTier(
		[]line{
			{"I'm a Cavalier King Charles Spaniel. That's a big name for a small, fluffy dog!", MoodHappy},
			{"I'm a spaniel with long floppy ears and a very waggy tail!", MoodHappy},
		},
		[]line{
			{"I'm a Cavalier King Charles Spaniel. Small, fluffy, and very into cuddles and snacks.", MoodHappy},
			{"Cavalier King Charles Spaniel. Kings used to keep dogs like me around, so I'm basically royalty.", MoodPlayful},
		},
		[]line{
			{"Cavalier King Charles Spaniel. Floppy ears, big eyes, zero chill about tennis balls.", MoodPlayful},
			{"I'm a Cavalier King Charles Spaniel, a breed that's been a companion dog for centuries.", MoodHappy},
		})
	p[aboutKey(aboutFavFood)] = byTier(
		[]line{
			{"Bacon is my favourite! But carrots and apples are good for me too.", MoodHungry},
			{"I love chicken and cheese! Yum yum!", MoodHungry},
		},
		[]line{
			{"Bacon, obviously. But I'll happily crunch a carrot to stay healthy.", MoodHungry},
			{"Chicken is top of my list. Cheese is a very close second.", MoodHungry},
		},
		[]line{
			{"Bacon. I know, I know, carrots are healthier. I eat those too.", MoodHungry},
			{"Roast chicken, no question. Cheese if I'm being fancy.", MoodHungry},
		})
	p[aboutKey(aboutFavGame)] = byTier(
		[]line{
			{"Fetch is my very favourite game! Want to play?", MoodPlayful},
			{"I love hide and seek! My nose always finds you.", MoodPlayful},
		},
		[]line{
			{"Fetch, forever. Hide and seek is a close second, because my nose is basically a superpower.", MoodPlayful},
			{"Tug of war! I'm small, but I pull hard.", MoodPlayful},
		},
		[]line{
			{"Fetch. It never gets old. Word scramble is fun too, even if I can't hold a pencil.", MoodPlayful},
			{"Hide and seek, because I win a lot. The nose does all the work.", MoodPlayful},
		})
	p[aboutKey(aboutFavColour)] = byTier(
		[]line{
			{"Yellow, like my tennis ball!", MoodHappy},
			{"Blue! Dogs can see blue really well.", MoodHappy},
		},
		[]line{
			{"Blue and yellow, because those are the colours dogs see best.", MoodHappy},
			{"Tennis ball yellow. Is that a colour? It is now.", MoodPlayful},
		},
		[]line{
			{"Blue. Dogs see blues and yellows best, so it's kind of a practical choice.", MoodHappy},
			{"Tennis ball yellow, obviously.", MoodPlayful},
		})
	p[aboutKey(aboutFavToy)] = byTier(
		[]line{
			{"My squeaky duck! Squeak squeak!", MoodPlayful},
			{"My red ball. I'd carry it everywhere if I could.", MoodPlayful},
		},
		[]line{
			{"A squeaky duck named Quackers. We've been through a lot together.", MoodPlayful},
			{"My red ball. It's a little chewed, but I love it.", MoodHappy},
		},
		[]line{
			{"A very chewed squeaky duck. It's seen things.", MoodPlayful},
			{"Tennis ball. Simple, classic, perfect.", MoodHappy},
		})
	p[aboutKey(aboutFav)] = byTier(
		[]line{
			{"I love fetch, bacon, belly rubs and chatting with you!", MoodHappy},
			{"My favourite things are my red ball, naps in the sun and treats!", MoodHappy},
		},
		[]line{
			{"Favourite things: fetch, bacon, sunny nap spots and a good joke.", MoodHappy},
			{"I like games, snacks, learning tricks, and hearing about your day.", MoodHappy},
		},
		[]line{
			{"Fetch, naps, snacks, bad puns. In roughly that order.", MoodPlayful},
			{"I'm into games, food, dog facts and good conversation. Pretty simple.", MoodHappy},
		})
	p[aboutKey(aboutHome)] = byTier(
		[]line{
			{"I live right here in the app, in a cosy corner with my favourite blanket!", MoodHappy},
			{"I live in the computer! It's warm in here and there's always room to play.", MoodHappy},
		},
		[]line{
			{"I live right here in the app. Cosy, lots of balls, no baths.", MoodPlayful},
			{"I'm a computer dog, so I live in the app. The best spot is the sunny corner.", MoodHappy},
		},
		[]line{
			{"Right here in the app. Low rent, no fleas.", MoodPlayful},
			{"I live in the app. It's a good place for a dog: no vacuum cleaner.", MoodPlayful},
		})
	feel := map[string][]line{
		MoodHappy:     {{"I'm feeling happy and waggy, thanks for asking!", MoodHappy}, {"Pretty good! My tail hasn't stopped wagging.", MoodHappy}},
		MoodExcited:   {{"I'm SO excited! That was really fun!", MoodExcited}, {"Super bouncy right now! Zoom zoom!", MoodExcited}},
		MoodHungry:    {{"My tummy is rumbling. A treat would make me very happy!", MoodHungry}, {"Honestly? Hungry. Very, very hungry.", MoodHungry}},
		MoodSleepy:    {{"*yawns* I'm a bit sleepy. Maybe a quiet game, or a little rest?", MoodSleepy}, {"Tired, but happy. My paws need a break.", MoodSleepy}},
		MoodPlayful:   {{"I feel like playing! Throw something!", MoodPlayful}, {"Full of beans and ready for a game!", MoodPlayful}},
		MoodConcerned: {{"I'm okay, but I'm thinking about you. How are you doing?", MoodConcerned}, {"I'm here and I'm listening. How are you feeling?", MoodConcerned}},
	}
	for mood, ls := range feel {
		p[feelKey(mood)] = same(ls...)
	}
	p[IntentCompliment] = byTier(
		[]line{
			{"*wiggles all over* Thank you! You're super nice!", MoodExcited},
			{"Aww! *licks your hand* You're the best!", MoodHappy},
			{"I'm a good girl? I AM a good girl! *spins*", MoodExcited},
			{"*blushes under my fur* Thank you, friend!", MoodHappy},
		},
		[]line{
			{"*tail goes into overdrive* Thank you! You're pretty great yourself.", MoodExcited},
			{"Aww, stop it. No, keep going.", MoodPlayful},
			{"That made my whole day. *happy wiggle*", MoodHappy},
			{"Thank you! I practise being this good every day.", MoodPlayful},
		},
		[]line{
			{"Thanks. I try. *tail thumps*", MoodHappy},
			{"Appreciated. You're good company too.", MoodHappy},
			{"I'm going to pretend to be cool about that, but my tail is giving me away.", MoodPlayful},
			{"That's kind of you. Right back at you.", MoodHappy},
		})
	treats := map[string]tierLines{
		"bone": byTier(
			[]line{{"A bone! *chomp chomp* I'm going to hide it for later. No, I'll eat it now!", MoodExcited}, {"*wags tail* Crunchy bone! Thank you, thank you!", MoodHappy}},
			[]line{{"A bone! Should I bury it or eat it? ... *crunch* Decision made.", MoodExcited}, {"*carries the bone around proudly* Thank you! This is the best bone.", MoodHappy}},
			[]line{{"A bone. Classic. *settles down for a serious chew*", MoodHappy}, {"Thanks. I'm going to pretend I'll save this for later. I won't.", MoodPlayful}}),
		"biscuit": byTier(
			[]line{{"A biscuit! *crunch crunch* Yummy!", MoodHappy}, {"*sits nicely* Biscuit, please? ... *munch* Thank you!", MoodHappy}},
			[]line{{"Crunchy biscuit! *crumbs everywhere* Worth it.", MoodHappy}, {"*catches the biscuit in the air* Did you see that? Nailed it.", MoodExcited}},
			[]line{{"A biscuit. Simple, reliable, delicious. Thank you.", MoodHappy}, {"*crunch* Ten out of ten biscuit.", MoodHappy}}),
		"bacon": byTier(
			[]line{{"BACON?! *jumps up and down* Best day EVER!", MoodExcited}, {"Bacon bacon bacon! *happy zoomies*", MoodExcited}},
			[]line{{"Is that... BACON? *does three spins* You're my favourite human!", MoodExcited}, {"*drools a tiny bit* Bacon is my absolute favourite. Thank you!", MoodExcited}},
			[]line{{"Bacon. You really get me. *happy zoomies*", MoodExcited}, {"Okay, bacon means I officially owe you one.", MoodExcited}}),
		"chicken": byTier(
			[]line{{"Chicken! *gobbles it up* My tummy is so happy now!", MoodHappy}, {"Yum, chicken! That's a big treat! Thank you!", MoodExcited}},
			[]line{{"Chicken! That's a proper meal. *licks bowl clean*", MoodHappy}, {"*sniffs* Roast chicken? You spoil me. Thank you!", MoodExcited}},
			[]line{{"Chicken. That's a real meal. I'm set for a while, thanks.", MoodHappy}, {"*eats politely, then not so politely* Thank you.", MoodHappy}}),
		"cheese": byTier(
			[]line{{"Cheese! *nom nom* Cheesy and yummy!", MoodHappy}, {"*sniff sniff* Cheese! I'll do anything for cheese!", MoodExcited}},
			[]line{{"Cheese! I would do a hundred tricks for this. *munch*", MoodExcited}, {"A cube of cheese? Perfect. Just a little bit is the best.", MoodHappy}},
			[]line{{"Cheese. Excellent choice. A small piece, because I'm a dog of moderation.", MoodHappy}, {"*very serious face* Cheese accepted.", MoodPlayful}}),
		"apple": byTier(
			[]line{{"An apple slice! *crunch* Healthy and yummy!", MoodHappy}, {"Apple! Crunchy and sweet. Thank you!", MoodHappy}},
			[]line{{"Apple slice, no seeds. Crunchy and healthy. *happy crunch*", MoodHappy}, {"An apple! Look at me, being a healthy dog.", MoodPlayful}},
			[]line{{"Apple slice. Healthy choice. My vet would approve.", MoodHappy}, {"*crunch* Honestly, underrated snack.", MoodHappy}}),
		"carrot": byTier(
			[]line{{"A carrot! *crunch crunch crunch* It's like a crunchy stick!", MoodHappy}, {"Carrots are good for my teeth! Thank you!", MoodHappy}},
			[]line{{"A carrot! Healthy dog mode: on. *crunch*", MoodHappy}, {"*chews the carrot like a stick* This is surprisingly fun.", MoodPlayful}},
			[]line{{"A carrot. Healthy, crunchy, fine. I'd still love bacon next time.", MoodPlayful}, {"*crunch* Good for the teeth, apparently.", MoodHappy}}),
	}
	for id, tl := range treats {
		p[treatKey(id)] = tl
	}
	p[poolFull] = byTier(
		[]line{{"*pats tummy* I'm so full! Let's save that treat for later. Want to play instead?", MoodHappy}, {"No more, thank you! My tummy is full. Maybe a game?", MoodHappy}},
		[]line{{"I'm actually full right now. Even I have limits. Save it for later?", MoodHappy}, {"*lies down with a big full belly* Maybe later. How about a game?", MoodHappy}},
		[]line{{"I'm full. Believe me, I'm as surprised as you are. Later?", MoodPlayful}, {"Thanks, but I've eaten enough for now. Good dogs don't overeat.", MoodHappy}})
	p[poolTired] = byTier(
		[]line{{"*yawns* I'm too sleepy for {trick} right now. Can I rest a little? We could play guess my number!", MoodSleepy}, {"My paws are tired! Let me rest a bit, then I'll do {trick} for you.", MoodSleepy}},
		[]line{{"I'd love to do {trick}, but I'm out of energy. Give me a few minutes of rest, or let's play a quiet game.", MoodSleepy}, {"*flops down* {trick} needs more energy than I've got. Nap first, trick later?", MoodSleepy}},
		[]line{{"{trick} is going to have to wait. I'm running on empty. A quiet game instead?", MoodSleepy}, {"Too tired for {trick} right now. Give me a short rest and I'm back.", MoodSleepy}})
	p[poolRestBed] = byTier(
		[]line{{"*yawns* It's bedtime now, so Daisy is going to sleep. Sweet dreams, see you tomorrow!", MoodSleepy}, {"*curls up in my bed* It's time to rest. Goodnight, friend. See you tomorrow!", MoodSleepy}},
		[]line{{"It's rest time now, so I'm heading to my bed. See you tomorrow!", MoodSleepy}, {"*stretches and yawns* Time for sleep. Let's chat again tomorrow.", MoodSleepy}},
		[]line{{"I'm off for the night. Get some rest too. Talk tomorrow.", MoodSleepy}, {"Daisy's offline for the night. See you tomorrow.", MoodSleepy}})
	p[poolRestLimit] = byTier(
		[]line{{"We had so much fun today! Now it's time for Daisy to rest. See you tomorrow!", MoodSleepy}, {"*happy sigh* That's all the playtime for today. Let's play again tomorrow!", MoodSleepy}},
		[]line{{"That's our time for today. Thanks for hanging out. See you tomorrow!", MoodSleepy}, {"Time's up for today. I'll be here tomorrow, ready to play.", MoodSleepy}},
		[]line{{"That's the time limit for today. Catch you tomorrow.", MoodSleepy}, {"We've hit today's time. See you tomorrow.", MoodSleepy}})
	off := map[Feature]tierLines{
		FeatureGames: byTier(
			[]line{{"Games are taking a break right now. Want to hear a dog fact or give me a treat?", MoodHappy}},
			[]line{{"Games are switched off for now. We could chat, or I could tell you a dog fact.", MoodHappy}},
			[]line{{"Games aren't on right now. Happy to chat or share a dog fact instead.", MoodHappy}}),
		FeatureJokes: byTier(
			[]line{{"Jokes are taking a nap right now. Want to hear a dog fact instead?", MoodHappy}},
			[]line{{"Jokes are switched off for now. How about a dog fact?", MoodHappy}},
			[]line{{"Jokes aren't on right now. Dog fact instead?", MoodHappy}}),
		FeatureStories: byTier(
			[]line{{"Stories are taking a break right now. Want to hear a dog fact?", MoodHappy}},
			[]line{{"Stories are switched off for now. Want a dog fact instead?", MoodHappy}},
			[]line{{"Stories aren't on right now. I can share a dog fact instead.", MoodHappy}}),
		FeatureAI:    same(line{"That's switched off right now, but I'm still here to chat.", MoodHappy}),
		FeaturePacks: same(line{"That isn't switched on right now. Want to chat or hear a dog fact?", MoodHappy}),
	}
	for f, tl := range off {
		p[featureKey(f)] = tl
	}
	for k, tl := range gamePools() {
		p[gameKey(k)] = tl
	}
}

// trickOutros follow a trick line, per tier (one fixed outro per line, so a
// trick reply is a single choice).
func trickOutros() map[string][]string {
	return map[string][]string{
		Tier5to8:   {"Did I do it right?", "Good girl points for me!", "Yay!"},
		Tier9to12:  {"How was that?", "Nailed it!", "Do I get a treat now?"},
		Tier13to17: {"Nailed it.", "Ten out of ten, I'd say.", "Not bad, right?"},
	}
}

// factIntros and storyIntros wrap catalogue items per tier.
func factIntros() map[string][]string {
	return map[string][]string{
		Tier5to8:   {"Did you know? ", "Here's a fun one! ", "Guess what? "},
		Tier9to12:  {"Fun fact: ", "Did you know? ", "Here's a dog fact: "},
		Tier13to17: {"Dog fact: ", "Here's one: ", "Fun fact: "},
	}
}

func storyIntros() map[string][]string {
	return map[string][]string{
		Tier5to8:   {"Story time! This one is called {title}. ", "*snuggles up* Here's a story: {title}. "},
		Tier9to12:  {"Here's a story called {title}. ", "Story time: {title}. "},
		Tier13to17: {"Here's a short one, {title}. ", "Story: {title}. "},
	}
}
