package companion

// Seed catalogue: the content a new cluster starts with. Admins edit the
// stored copy through the API; these literals only seed it. Keep IDs stable
// (items may be referenced from State.Recent) and only append.

var (
	all     = Ages{}
	young   = Ages{Max: Tier5to8}
	upTo12  = Ages{Max: Tier9to12}
	from9   = Ages{Min: Tier9to12}
	teens   = Ages{Min: Tier13to17}
	preteen = Ages{Min: Tier9to12, Max: Tier9to12}
)

func seedJokes() []Joke {
	return []Joke{
		{"magician", "What do you call a dog magician? A labracadabrador!", all},
		{"hot-dog", "Why did the dog sit in the shade? It didn't want to be a hot dog!", all},
		{"shampoodle", "What kind of dog loves bath time? A shampoodle!", all},
		{"chili-dog", "What do you call a cold puppy? A chili dog!", all},
		{"sandpaper", "What did the dog say when it sat on sandpaper? Ruff!", all},
		{"teachers-pet", "Why did the puppy get a gold star? It was the teacher's pet!", all},
		{"watch-dog", "What do you call a dog that can tell the time? A watch dog!", all},
		{"dj", "Why don't dogs make good DJs? They have such ruff beats!", all},
		{"pupcakes", "What's a dog's favourite dessert? Pupcakes!", all},
		{"udder-side", "Why did the cow cross the road? To get to the udder side!", all},
		{"gummy-bear", "What do you call a bear with no teeth? A gummy bear!", all},
		{"cornfield", "What has ears but can't hear? A cornfield!", all},
		{"circles", "Why do dogs run in circles? Because it's really hard to run in squares!", all},
		{"pupperoni", "What's a dog's favourite pizza? Pupperoni!", all},
		{"pupcorn", "What do dogs eat at the movies? Pup-corn!", all},
		{"barking-lot", "Where do dogs park their cars? In the barking lot!", all},
		{"trombone", "What's a puppy's favourite instrument? The trom-BONE!", all},
		{"spots", "Why did the Dalmatian go to the eye doctor? It kept seeing spots!", all},
		{"knock-woof", "Knock knock. Who's there? Woof. Woof who? Woof-ly nice to see you!", upTo12},
		{"knock-lettuce", "Knock knock. Who's there? Lettuce. Lettuce who? Lettuce in, it's cold out here!", upTo12},
		{"presses-paws", "How does a dog stop a video? It hits the paws button!", all},
		{"count-on", "What do you get if you cross a dog with a calculator? A friend you can count on!", all},
		{"new-yorkie", "What's a dog's favourite city? New Yorkie!", from9},
		{"ruff-edges", "Why did the puppy need a nap? It had a ruff day of doing absolutely nothing.", from9},
		{"bloodhound", "What kind of dog does a vampire have? A bloodhound!", from9},
		{"catscan", "Dogs can't run hospital scanners. But a cat scan can.", teens},
		{"took-off", "I tried to write a book about a dog that could fly. It really took off.", teens},
		{"aware-wolf", "What do you call a dog that's really into mindfulness? Aware wolf.", teens},
		{"choir", "Why did the Border Collie join the choir? It was great at keeping everyone in line.", teens},
		{"bike", "My dog kept chasing people on a bike. It got so bad I had to take the bike away from him.", teens},
	}
}

func seedTricks() []Trick {
	return []Trick{
		{ID: "sit", Name: "Sit", Words: []string{"sit", "sit down"}, Difficulty: 1, EnergyCost: 1,
			Description: "Daisy sits down nicely.",
			Lines: []string{
				"*sits down with a proud little wiggle* Sit!",
				"*plops down on my bottom and looks up at you* Did I do it right?",
				"*sits perfectly still, tail sweeping the floor*",
			}},
		{ID: "stay", Name: "Stay", Words: []string{"stay put", "daisy stay", "stay daisy", "sit and stay"}, Difficulty: 2, EnergyCost: 1,
			Description: "Daisy stays in one spot until you say okay.",
			Lines: []string{
				"*stays very, very still* ... *wiggles just a tiny bit* I'm staying!",
				"*freezes like a statue, only my eyebrows move*",
				"*holds the stay, ears up, waiting for the okay*",
			}},
		{ID: "roll-over", Name: "Roll Over", Words: []string{"roll over", "rollover"}, Difficulty: 3, EnergyCost: 2,
			Description: "Daisy rolls all the way over.",
			Lines: []string{
				"*drops down and rolls all the way over* Ta-da!",
				"*rolls over and ends up with paws in the air*",
				"*does a big wobbly roll and pops back up*",
			}},
		{ID: "play-dead", Name: "Play Dead", Words: []string{"play dead", "playdead"}, Difficulty: 3, EnergyCost: 2,
			Description: "Daisy flops over dramatically and lies very still.",
			Lines: []string{
				"*flops over dramatically and sticks my paws in the air* ... *peeks with one eye*",
				"*falls over very slowly, like in a movie, then wags my tail anyway*",
				"*lies super still* ... *tail gives me away with a wag*",
			}},
		{ID: "spin", Name: "Spin", Words: []string{"spin", "spin around", "twirl"}, Difficulty: 2, EnergyCost: 2,
			Description: "Daisy spins in a happy circle.",
			Lines: []string{
				"*spins around in a happy circle* Wheee!",
				"*twirls once, twice, and nearly trips over my own tail*",
				"*spins so fast my ears flap*",
			}},
		{ID: "high-five", Name: "High Five", Words: []string{"high five", "high 5", "highfive", "gimme five", "paw"}, Difficulty: 2, EnergyCost: 1,
			Description: "Daisy lifts a paw for a high five.",
			Lines: []string{
				"*lifts my paw up high* High five!",
				"*taps your hand with my paw* Paw-some!",
				"*raises a paw and waits, very politely*",
			}},
		{ID: "bow", Name: "Bow", Words: []string{"bow", "take a bow"}, Difficulty: 2, EnergyCost: 1,
			Description: "Daisy takes a bow, front paws down and tail up.",
			Lines: []string{
				"*stretches my front paws down and takes a big bow*",
				"*bows with my tail in the air* Thank you, thank you.",
				"*does a fancy bow, nose almost on the floor*",
			}},
		{ID: "dance", Name: "Dance", Words: []string{"dance", "dancing", "boogie"}, Difficulty: 4, EnergyCost: 3,
			Description: "Daisy stands on her back legs and dances.",
			Lines: []string{
				"*stands up on my back legs and hops around* Look, I'm dancing!",
				"*does a wiggly dance, paws tapping, tail going everywhere*",
				"*bounces from paw to paw to a song only I can hear*",
			}},
	}
}

func seedGames() []GameInfo {
	return []GameInfo{
		{Kind: GameFetch, Name: "Fetch", EnergyCost: 1, Ages: all,
			Description: "Throw the ball and see how many Daisy catches.",
			Rules:       "Five throws. Say 'throw' for a normal throw (1 point) or 'throw it far' for a harder one (2 points). Score 4 or more to win."},
		{Kind: GameTug, Name: "Tug of War", EnergyCost: 2, Ages: all,
			Description: "Pull the rope against Daisy.",
			Rules:       "Say 'pull' to pull the rope. Get it three steps to your side to win; if Daisy gets it three steps to hers, she wins. After eight pulls it's a tie."},
		{Kind: GameHide, Name: "Hide and Seek", EnergyCost: 1, Ages: all,
			Description: "Daisy hides and you find her, or you hide and she sniffs you out.",
			Rules:       "Choose who hides. To find Daisy, name a hiding spot; you have three tries and can ask for a hint. When you hide, pick a spot and Daisy searches."},
		{Kind: GameGuess, Name: "Guess My Number", EnergyCost: 0, Ages: all,
			Description: "Guess the number Daisy is thinking of, from 1 to 10.",
			Rules:       "Say a number from 1 to 10. Daisy says higher or lower. Younger players get more tries. Ask for a hint any time."},
		{Kind: GameScramble, Name: "Word Scramble", EnergyCost: 0, Ages: all,
			Description: "Unscramble the mixed-up letters to find the word.",
			Rules:       "Type the word you think it is. Three tries; ask for a hint to see the first letters."},
	}
}

func seedStories() []Story {
	return []Story{
		{"lost-ball", "Daisy and the Lost Ball",
			"Once upon a time, Daisy lost her favourite red ball. She looked under the couch. Not there! She looked behind the door. Not there! Then she sniffed, sniff, sniff, all the way to the garden. There it was, under a big green leaf. Daisy was so happy she did three spins. The end!", young},
		{"puddle-party", "The Puddle Party",
			"One rainy day, Daisy saw a big puddle. Splash! She jumped right in. A little duck swam over and said quack. Daisy said woof. They splashed together until the sun came out and made a rainbow. Then Daisy went home for a warm, fluffy towel. The end!", young},
		{"bedtime-stars", "Daisy Counts the Stars",
			"At bedtime, Daisy looked out of the window. She saw one star, two stars, three stars. She tried to count them all, but there were too many. So she gave each star a little wag goodnight. Then she curled up in her soft bed, closed her eyes, and dreamed of chasing shooting stars. The end.", young},
		{"brave-pup", "The Brave Little Pup",
			"One night there was a big storm. Boom went the thunder, and Daisy felt scared. She hid under a blanket. Then her family came and sat with her, and they listened to the rain together. Daisy learned that being brave doesn't mean you're never scared. It means you let the people who love you help. By morning the sky was blue again.", upTo12},
		{"new-friend", "Daisy Makes a New Friend",
			"A new cat named Pepper moved in next door. Daisy wanted to play, so she bounced and barked. Pepper ran up a tree. Oops! The next day Daisy tried again, but this time she sat quietly and wagged her tail slowly. Pepper came down, sniffed her nose, and purred. Sometimes making a friend just takes a little patience.", upTo12},
		{"sock-mystery", "The Great Sock Mystery",
			"Socks kept vanishing from the laundry basket. One blue sock, then a striped one, then a fuzzy one. Daisy put on her best detective face and followed the trail. It led behind the garden shed, where she found a tiny nest with three sleepy kittens curled up in the socks. Daisy decided this was one mystery she didn't need to solve. The kittens could keep them.", from9},
		{"kite", "Daisy and the Runaway Kite",
			"At the park, a gust of wind pulled a kite right out of a little boy's hands. Daisy raced after the string as it bounced across the grass. She was fast, but the kite was faster, and it floated up into a tree. Daisy barked until a tall park ranger noticed. Together with the boy's family, they got the kite down. Daisy didn't catch it herself, but she learned that asking for help is sometimes the smartest move.", from9},
		{"lighthouse", "The Lighthouse Dog",
			"On a rocky island lived an old lighthouse keeper and her dog, Daisy. Every evening they climbed the spiral stairs to light the lamp. One foggy night the lamp flickered out. The keeper fixed it while Daisy barked into the fog, loud and steady, so the small fishing boats could hear where the rocks were. When the light came back on, every boat made it home. Daisy got an extra biscuit, and a new job title: assistant keeper.", teens},
		{"training-day", "Daisy's Training Day",
			"Daisy wanted to learn to catch a frisbee. The first try, it bonked her on the nose. The second, she ran the wrong way. By the tenth try she was tired and a bit grumpy. So she rested, had some water, and watched how the frisbee curved in the wind. The next day she caught it on her second try. Turns out getting better isn't about never missing. It's about resting, noticing and trying again.", teens},
		{"map", "The Map in the Attic",
			"While exploring the attic, Daisy found an old paper map with a big X drawn on it. She followed it past the apple tree, around the pond and under the garden bench. There, buried in a tin box, was a note written years ago by a kid who used to live there: whoever finds this, go and do something kind today. Daisy thought about it, then trotted home and shared her favourite toy. Some treasures aren't things at all.", preteen},
		{"new-trick", "The Trick That Took All Summer",
			"All summer, Daisy practised standing on her back legs. At first she wobbled and fell over. Then she could balance for one second, then three, then ten. Nobody else really noticed how much she practised. But on the last day of summer she stood up and danced a whole song, and her family cheered. Daisy realised the cheering was nice, but the best part was knowing how far she'd come.", teens},
	}
}
