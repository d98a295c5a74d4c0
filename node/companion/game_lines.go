package companion

// gamePools are the lines of every game, by key ("fetch.catch") and tier.
// Placeholders: {game} {spots} {spot} {clue} {tries} {left} {need} {score}
// {n} {dir} {secret} {shown} {word} {letters}. Counts are filled with their
// noun ("2 tries", "1 point").
func gamePools() map[string]tierLines {
	return map[string]tierLines{
		"unknown": byTier(
			[]line{{"Hmm, I don't know that game. We can play fetch, tug of war, hide and seek, guess my number or word scramble!", MoodPlayful}},
			[]line{{"I don't know that one. Try fetch, tug of war, hide and seek, guess my number or word scramble.", MoodPlayful}},
			[]line{{"Not a game I know. Options: fetch, tug of war, hide and seek, guess my number, word scramble.", MoodPlayful}}),
		"tired": byTier(
			[]line{{"*yawns* I'm too tired for {game} right now. How about guess my number? It's a quiet game!", MoodSleepy}, {"My legs are sleepy! Can we play a quiet game like word scramble instead of {game}?", MoodSleepy}},
			[]line{{"I'm out of energy for {game}. Give me a few minutes, or let's play guess my number instead.", MoodSleepy}, {"*flops down* Too tired for {game}. A quiet game like word scramble?", MoodSleepy}},
			[]line{{"Not enough energy for {game} right now. Guess my number or word scramble would work, though.", MoodSleepy}, {"I need a rest before {game}. Quiet game in the meantime?", MoodSleepy}}),
		"over": same(
			line{"That game is finished. Want to play again, or try a different one?", MoodHappy}),
		"expired": same(
			line{"We stopped playing a while ago, so I put the toys away. Want to start a new game?", MoodHappy}),
		// fetch
		"fetch.start": byTier(
			[]line{{"*drops the ball at your feet* Yay, fetch! Say throw, or throw it far for double points. You have {left}!", MoodExcited}},
			[]line{{"Fetch time! *crouches, ready* Say throw for 1 point, or throw it far for 2. {left} to go, and 4 points wins.", MoodExcited}},
			[]line{{"Fetch. You get {left}: throw for 1 point, throw it far for 2. Four points and you win.", MoodPlayful}}),
		"fetch.catch": byTier(
			[]line{{"*runs and runs* Got it! *brings it back, tail wagging*", MoodExcited}, {"*jumps* Caught it! Again, again!", MoodExcited}, {"*zooms after the ball* I got it! Good throw!", MoodExcited}},
			[]line{{"*sprints* Got it! *drops it at your feet*", MoodExcited}, {"*leaps and snaps it out of the air* Caught it!", MoodExcited}, {"Easy catch! *trots back proudly*", MoodPlayful}},
			[]line{{"*clean catch* Too easy.", MoodPlayful}, {"*grabs it on the first bounce* Got it.", MoodPlayful}, {"Caught. Bring it on.", MoodPlayful}}),
		"fetch.catch_far": byTier(
			[]line{{"Wow, so far! *runs super fast* I GOT IT! Two points!", MoodExcited}, {"*flies through the air* Big catch! Two points!", MoodExcited}},
			[]line{{"That was a long one! *dives* GOT IT! Two points.", MoodExcited}, {"*full sprint, big jump* Caught the far one! Two points!", MoodExcited}},
			[]line{{"Long throw, diving catch. Two points.", MoodExcited}, {"*sprints across the field* Got the far one. Two points.", MoodExcited}}),
		"fetch.miss": byTier(
			[]line{{"*the ball bounces past my nose* Oopsie! I missed that one.", MoodPlayful}, {"*trips over my ears* Whoops! Missed it!", MoodPlayful}},
			[]line{{"*the ball bonks off my paw* Missed it! Next one's mine.", MoodPlayful}, {"*gets distracted by a butterfly* Oops, missed.", MoodPlayful}},
			[]line{{"Missed. The sun was in my eyes. That's my story.", MoodPlayful}, {"*watches it roll away* Okay, that one got past me.", MoodPlayful}}),
		"fetch.miss_far": byTier(
			[]line{{"That was SO far! *runs and runs* ...I couldn't catch it!", MoodPlayful}},
			[]line{{"Whoa, too far! *skids* Missed that one.", MoodPlayful}},
			[]line{{"Too far even for me. Missed.", MoodPlayful}}),
		"fetch.left": same(line{"{left} left. Score: {score}.", MoodPlayful}),
		"fetch.win": byTier(
			[]line{{"That's all the throws! You got {score}. We won! *happy zoomies*", MoodExcited}},
			[]line{{"Last throw done: {score}. That's a win! Great throwing.", MoodExcited}},
			[]line{{"Final score: {score}. That's a win. Good arm.", MoodExcited}}),
		"fetch.end": byTier(
			[]line{{"That's all the throws! We got {score}. That was fun! Play again?", MoodHappy}},
			[]line{{"Game over with {score}. Not quite a win, but I had a blast. Again?", MoodHappy}},
			[]line{{"Final score: {score}. Not a win this time. Rematch?", MoodHappy}}),
		"fetch.hint": byTier(
			[]line{{"*holds the ball in my mouth* Say throw to throw the ball!", MoodPlayful}},
			[]line{{"*wiggles* Say throw, or throw it far for a harder one.", MoodPlayful}},
			[]line{{"Say throw, or throw it far. The ball's waiting.", MoodPlayful}}),
		"fetch.stop": same(line{"Okay, we'll stop fetch here. Final score: {score}. Thanks for playing.", MoodHappy}),
		// tug of war
		"tug.start": byTier(
			[]line{{"*grabs the rope and growls playfully* Tug of war! Say pull to pull!", MoodExcited}},
			[]line{{"*grabs the rope* Grrr, tug of war! Say pull. Three steps to your side and you win.", MoodExcited}},
			[]line{{"*takes the other end of the rope* Say pull. Three steps your way and you win, three my way and I do.", MoodPlayful}}),
		"tug.gain": byTier(
			[]line{{"Whoa! You pulled me a step closer!", MoodExcited}, {"*slides forward* You're strong!", MoodExcited}},
			[]line{{"*skids forward* Hey, you're strong!", MoodExcited}, {"You pulled me a whole step!", MoodExcited}},
			[]line{{"*gets dragged a step* Okay, you've been training.", MoodPlayful}, {"You gained a step.", MoodPlayful}}),
		"tug.hold": byTier(
			[]line{{"*pulls back* Grrr! Nobody moves! We're both super strong!", MoodPlayful}},
			[]line{{"*digs in my paws* Stalemate! Neither of us moved.", MoodPlayful}},
			[]line{{"Perfectly even. Nobody moved.", MoodPlayful}}),
		"tug.slip": byTier(
			[]line{{"*tugs back hard* Hee hee, I pulled you a step!", MoodPlayful}},
			[]line{{"*yanks* Ha! I got a step back!", MoodPlayful}},
			[]line{{"*pulls hard* That step's mine.", MoodPlayful}}),
		"tug.status": same(line{"You need {need} to win.", MoodPlayful}),
		"tug.win": byTier(
			[]line{{"*lets go and rolls over* You win! You're so strong!", MoodExcited}},
			[]line{{"*flops over* You win! That was a great tug!", MoodExcited}},
			[]line{{"You win. Fair and square.", MoodExcited}}),
		"tug.lose": byTier(
			[]line{{"*pulls the rope all the way* I win this time! That was so fun. Again?", MoodExcited}},
			[]line{{"*prances with the rope* I win! Good game though. Rematch?", MoodExcited}},
			[]line{{"Rope's mine. Good game. Rematch?", MoodPlayful}}),
		"tug.tie":   same(line{"*both sit down, panting* It's a tie! We're both champions.", MoodHappy}),
		"tug.hint":  same(line{"*holds the rope* Say pull to tug. Or let go if you're done.", MoodPlayful}),
		"tug.letgo": same(line{"*tumbles backwards with the rope* You let go. I win this round. Good game.", MoodPlayful}),
		// hide and seek
		"hide.choose": byTier(
			[]line{{"Hide and seek! Do you want me to hide, or do you want to hide? Say you hide or I'll hide.", MoodExcited}},
			[]line{{"Hide and seek! Should I hide, or will you? Say you hide or I'll hide.", MoodExcited}},
			[]line{{"Hide and seek. Who hides? Say you hide or I'll hide.", MoodPlayful}}),
		"hide.choose_hint": same(line{"Say you hide if I should hide, or I'll hide if you want to hide.", MoodPlayful}),
		"hide.daisy_start": byTier(
			[]line{{"*runs off giggling* Ready! Where am I? Is it {spots}?", MoodExcited}},
			[]line{{"*scampers away* Okay, I'm hidden! Am I {spots}? You have 3 tries.", MoodExcited}},
			[]line{{"Hidden. Options: {spots}. Three tries. Ask for a hint if you need one.", MoodPlayful}}),
		"hide.wrong_clue": same(line{"Not {spot}! Here's a clue: I'm {clue}. {tries} left.", MoodPlayful}),
		"hide.wrong": byTier(
			[]line{{"Not {spot}! Keep looking. {tries} left.", MoodPlayful}},
			[]line{{"Nope, not {spot}. {tries} left. You can ask for a hint.", MoodPlayful}},
			[]line{{"Not {spot}. {tries} left. Hints are allowed.", MoodPlayful}}),
		"hide.already": same(line{"You already looked {spot}. Try somewhere else.", MoodPlayful}),
		"hide.found": byTier(
			[]line{{"*jumps out* You found me! I was {spot}! You win!", MoodExcited}},
			[]line{{"*pops out, tail wagging* You found me {spot}! You win!", MoodExcited}},
			[]line{{"Found me, {spot}. You win.", MoodExcited}}),
		"hide.reveal":    same(line{"*pops out* Here I am! I was {spot}. Good try. Play again?", MoodPlayful}),
		"hide.clue":      same(line{"Clue: I'm {clue}.", MoodPlayful}),
		"hide.seek_hint": same(line{"I'm hiding. Say where you want to look: {spots}. Or ask for a hint.", MoodPlayful}),
		"hide.you_start": byTier(
			[]line{{"*covers eyes with paws* Where are you hiding? Pick one: {spots}. I promise I won't peek!", MoodExcited}},
			[]line{{"*covers eyes* Okay, pick your spot: {spots}. No peeking, I promise.", MoodExcited}},
			[]line{{"Eyes closed. Pick a spot: {spots}.", MoodPlayful}}),
		"hide.you_hint": same(line{"Pick a hiding spot: {spots}.", MoodPlayful}),
		"hide.counting": same(line{"*counting* One, two, three... ready or not, here I come!", MoodExcited}),
		"hide.search_miss": byTier(
			[]line{{"*sniff sniff* Are you {spot}? ... No! Hmm. Say ready and I'll keep looking.", MoodPlayful}, {"*peeks {spot}* Not here! Where could you be?", MoodPlayful}},
			[]line{{"*sniffs {spot}* Not here. Hmm. Say ready and I'll keep searching.", MoodPlayful}, {"*checks {spot}* Nope! You're good at this.", MoodPlayful}},
			[]line{{"Checked {spot}. Nothing. Say ready and I'll keep going.", MoodPlayful}, {"Not {spot}. Impressive.", MoodPlayful}}),
		"hide.search_found": byTier(
			[]line{{"*sniff sniff* FOUND YOU! You were {spot}! My nose wins this time. Again?", MoodExcited}},
			[]line{{"Found you {spot}! The nose knows. Want to go again?", MoodExcited}},
			[]line{{"Found you, {spot}. The nose never lies. Rematch?", MoodExcited}}),
		"hide.search_giveup": byTier(
			[]line{{"I give up! Where were you? You're the best hider ever! You win!", MoodExcited}},
			[]line{{"I can't find you anywhere! You win! Come out, come out!", MoodExcited}},
			[]line{{"Okay, I give up. You win. Great hiding spot.", MoodExcited}}),
		"hide.search_hint": same(line{"*sniffing around* Shh, I'm searching. Say ready and I'll keep looking.", MoodPlayful}),
		"hide.you_stop":    same(line{"You came out of hiding. Okay, we'll stop here. That was fun.", MoodHappy}),
		// guess my number
		"guess.start": byTier(
			[]line{{"I'm thinking of a number from 1 to 10. Can you guess it? You have {tries}!", MoodExcited}},
			[]line{{"I've picked a number from 1 to 10. You've got {tries}. Go!", MoodExcited}},
			[]line{{"Number from 1 to 10. You get {tries}. Go.", MoodPlayful}}),
		"guess.higher": byTier(
			[]line{{"Not {n}! My number is bigger. Go higher!", MoodPlayful}},
			[]line{{"Not {n}. Higher!", MoodPlayful}},
			[]line{{"{n}? Higher.", MoodPlayful}}),
		"guess.lower": byTier(
			[]line{{"Not {n}! My number is smaller. Go lower!", MoodPlayful}},
			[]line{{"Not {n}. Lower!", MoodPlayful}},
			[]line{{"{n}? Lower.", MoodPlayful}}),
		"guess.tries": same(line{"{tries} left.", MoodPlayful}),
		"guess.win": byTier(
			[]line{{"YES! It was {n}! You got it! *happy zoomies*", MoodExcited}},
			[]line{{"You got it, it was {n}! You win {score}.", MoodExcited}},
			[]line{{"{n}. Correct. You win {score}.", MoodExcited}}),
		"guess.lose": byTier(
			[]line{{"Out of tries! My number was {secret}. Good guessing! Want to try again?", MoodHappy}},
			[]line{{"That's all your tries. It was {secret}. So close! Again?", MoodHappy}},
			[]line{{"Out of tries. It was {secret}. Rematch?", MoodHappy}}),
		"guess.range":      same(line{"Pick a number from 1 to 10.", MoodPlayful}),
		"guess.again":      same(line{"You already guessed {n}. Remember, it's {dir}.", MoodPlayful}),
		"guess.hint_even":  same(line{"Hint: my number is even.", MoodPlayful}),
		"guess.hint_odd":   same(line{"Hint: my number is odd.", MoodPlayful}),
		"guess.hint_big":   same(line{"Hint: my number is bigger than 5.", MoodPlayful}),
		"guess.hint_small": same(line{"Hint: my number is 5 or smaller.", MoodPlayful}),
		"guess.hint_none":  same(line{"No more hints. You can do it.", MoodPlayful}),
		"guess.hint": byTier(
			[]line{{"Say a number from 1 to 10, like 5 or seven!", MoodPlayful}},
			[]line{{"Guess a number from 1 to 10. You can also ask for a hint.", MoodPlayful}},
			[]line{{"Guess a number from 1 to 10, or ask for a hint.", MoodPlayful}}),
		"guess.stop": same(line{"Okay, we'll stop. My number was {secret}. Thanks for playing.", MoodHappy}),
		// word scramble
		"scramble.start": byTier(
			[]line{{"Word scramble! Can you fix these mixed-up letters? {shown}", MoodExcited}},
			[]line{{"Unscramble this word: {shown}. You have {tries}.", MoodExcited}},
			[]line{{"Unscramble: {shown}. {tries}.", MoodPlayful}}),
		"scramble.wrong": same(line{"Not quite. The letters are {shown}. {tries} left.", MoodPlayful}),
		"scramble.close": same(line{"Ooh, right letters, but I'm thinking of a different word. {tries} left.", MoodPlayful}),
		"scramble.win": byTier(
			[]line{{"YES! It's {word}! You're so smart! *spins*", MoodExcited}},
			[]line{{"Correct, it's {word}! You win {score}.", MoodExcited}},
			[]line{{"{word}. Correct. {score}.", MoodExcited}}),
		"scramble.lose":     same(line{"Out of tries. The word was {word}. Good try. Another one?", MoodHappy}),
		"scramble.hint":     same(line{"Hint: it starts with {letters}.", MoodPlayful}),
		"scramble.hint_max": same(line{"That's all the hints. The letters are {shown}. You've got this.", MoodPlayful}),
		"scramble.invalid":  same(line{"Type the word you think it is. The letters are {shown}. Or ask for a hint.", MoodPlayful}),
		"scramble.stop":     same(line{"Okay, we'll stop. The word was {word}. Thanks for playing.", MoodHappy}),
	}
}
