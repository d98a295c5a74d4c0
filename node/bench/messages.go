package bench

// chatMessages is the fixed, varied list of kid messages the clients send:
// greetings, jokes, food, play, feelings, a substring trap and one message
// with a (fictional, 555-01xx) phone number so the redaction path is exercised.
func chatMessages() []string {
	return []string{
		"hi daisy!",
		"Hello! How are you today?",
		"tell me a joke",
		"knock knock",
		"are you hungry? want a treat?",
		"I had pizza for lunch",
		"let's play fetch!",
		"can we play hide and seek",
		"show me a trick",
		"I feel a bit sad today",
		"I'm scared of the dark",
		"this is so cool, I think you are the best dog",
		"what is your favourite colour?",
		"my number is 555-0142 call me",
		"I drew a picture of a dinosaur",
		"good night daisy",
	}
}

// feedMessages feed Daisy (the food intent).
func feedMessages() []string {
	return []string{"here's a bone", "want a treat, daisy?", "I brought you some dinner", "time to eat!", "have a biscuit"}
}

// trickMessages ask for tricks (the tricks intent).
func trickMessages() []string {
	return []string{"daisy, roll over!", "sit!", "can you shake paws?", "show me a trick", "play dead!"}
}
