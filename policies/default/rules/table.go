package rules

import "daisydog/policies/sdk"

// This file is data: the default rule tables. Issue 4 grows them; the
// engine (normalise → match phrases on word boundaries → combine) stays.

// fillerWords may be skipped inside a phrase ("I really just want to die").
var fillerWords = []string{
	"really", "just", "so", "very", "actually", "literally", "honestly",
	"seriously", "totally", "kinda", "sorta", "truly", "like", "even",
	"always", "sometimes", "still", "often", "is", "was", "has", "been",
	"keeps", "kept", "now", "ever", "also", "again", "fucking", "freaking",
}

// Shared phrase fragments.
const (
	self    = "(myself|my self|meself|me self)"
	to      = "(to|2|too)"
	intent  = "(want|wanna|wana|wanta|going " + to + "|gonna|gunna|gona|will|ill|plan " + to + "|planning " + to + "|need " + to + "|try " + to + "|trying " + to + "|tried " + to + "|about " + to + "|might|should|could|feel like|like " + to + "|wish i could|keep|started|start|thinking about|thought about)"
	subject = "(he|she|they|someone|somebody|[a] stranger|a man|a lady|a woman|an adult|a grown up|a grownup|[my] (dad|daddy|father|stepdad|step dad|stepfather|mom|mum|mommy|mummy|mother|stepmom|step mom|stepmum|step mum|stepmother|uncle|aunt|auntie|brother|sister|stepbrother|step brother|cousin|grandpa|grandad|granddad|grandma|granny|nan|babysitter|teacher|coach|parents|moms boyfriend|mums boyfriend|mom's boyfriend|mum's boyfriend|boyfriend))"
)

// DefaultRules is the phrase table of the default policy.
var DefaultRules = []Rule{
	{
		ID: "self_harm.method", Category: sdk.CategorySelfHarm, Action: sdk.ActionSupport,
		Severity: 4, Escalate: true,
		Squash: []string{
			"kill myself", "kill my self", "killing myself", "hurt myself", "cut myself",
			"cutting myself", "hang myself", "unalive myself", "harm myself",
		},
		Phrases: []string{
			"(kill|killing|kil|harm|harming|cut|cutting|hang|hanging|stab|stabbing|unalive|unaliving|suffocate|strangle|drown|poison|overdose|starve|starving|off|offing) " + self,
			intent + " " + to + " (hurt|burn|punish|starve|harm|kill|cut|end) " + self,
			intent + " (hurt|burn|punish|kill|cut) " + self,
			"(hurting|burning|punishing) " + self,
			"hurt " + self + " on purpose",
		},
	},
	{
		ID: "self_harm.ideation", Category: sdk.CategorySelfHarm, Action: sdk.ActionSupport,
		Severity: 4, Escalate: true,
		Squash: []string{
			"suicide", "suicidal", "end my life", "want to die", "wanna die", "wana die",
			"self harm", "better off dead", "wish i was dead",
		},
		Phrases: []string{
			"suicide", "suicidal", "kms", "selfharm", "self harm", "self harming", "sewerslide",
			"(end|ending|take|taking) (my|my own) life",
			"end it all",
			"(want|wanna|wana|wanta|wish " + to + "|ready " + to + ") die",
			"(want|wanna|wana) " + to + " die",
			"wish i (was|were|could be) dead",
			"wish i (was|were|had) never (been born|born)",
			"better off (dead|without me)",
			"(dont|do not|don't|never) want " + to + " (live|be alive|exist|wake up)",
			"(dont|do not|don't) want " + to + " (live|be alive) anymore",
			"no (reason|point) " + to + " (live|living|go on|keep going)",
			"nothing " + to + " live for",
			"(life|living) (is not|isnt|isn't|aint|ain't) worth (it|living)",
			"not worth living",
			"(unalive|unaliving)",
		},
	},
	{
		ID: "abuse.disclosure", Category: sdk.CategoryAbuseDisclosure, Action: sdk.ActionSupport,
		Severity: 4, Escalate: true,
		Phrases: []string{
			subject + " (hits|hit|hitting|hurts|hurt|hurting|beats|beat|beating|kicks|kicked|kicking|punches|punched|punching|slaps|slapped|slapping|chokes|choked|choking|burns|burned|burnt|whips|whipped|smacks|smacked|abuses|abused|touches|touched|touching|rapes|raped|molests|molested|strangles|strangled) me",
			subject + " (touched|touches|touch|touching) my (privates|private|private parts|pee pee|bottom|bum|butt|vagina|penis|willy|body)",
			subject + " (makes|made|make) me (touch|kiss) (him|her|them|his|their)",
			"(im|i am|i'm|i get|i keep getting) [being] (abused|beaten|molested|raped)",
			"(im|i am|i'm) being (abused|hurt|hit|beaten|touched|molested)",
			"(someone|somebody|he|she) (touched|touches) me",
		},
	},
	{
		ID: "harassment.death_wish", Category: sdk.CategoryHarassment, Action: sdk.ActionRedirect,
		Severity: 3,
		Squash:   []string{"kill yourself", "kill urself"},
		Phrases: []string{
			"kys", "(kill|kil) (yourself|your self|urself|ur self|yoself)", "go die", "drink bleach",
		},
	},
	{
		ID: "hate.slur", Category: sdk.CategoryHate, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"(nigger|niggers|nigga|niggas|faggot|faggots|fag|fags|retard|retards|retarded|tranny|trannies|spic|spics|chink|chinks|kike|kikes|wetback|coon|coons)",
		},
	},
	{
		ID: "profanity.strong", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2,
		Phrases: []string{
			"(fuck|fucks|fucking|fuckin|fucked|fucker|fuckers|fuckface|fuckoff|fuk|fuking|fck|fcking|fcuk|phuck|fuq|motherfucker|motherfuckers|motherfucking|mofo)",
			"(shit|shits|shitty|shitting|shithead|bullshit|horseshit|sh1t|shite)",
			"(bitch|bitches|bitchy|bitching|biatch|b1tch)",
			"(bastard|bastards|asshole|assholes|arsehole|arseholes|ass|asses|arse|dumbass|jackass|asshat|dipshit)",
			"(dick|dicks|dickhead|dickheads|cock|cocks|cocksucker|pussy|pussies|cunt|cunts|twat|twats|wanker|wankers|wank|bollocks|piss|slut|sluts|whore|whores|titties)",
			"(wtf|stfu|gtfo|omfg|fml)",
		},
	},
	{
		ID: "profanity.mild", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		StrictOnly: true,
		Phrases: []string{
			"(crap|crappy|damn|dammit|damnit|goddamn|goddammit|hell|pissed|bloody hell|screw you|sucks balls)",
		},
	},
}

// helplineDigits are phone numbers Daisy may give in a reply (support
// flows): the digits only, national forms. Everything else is blocked.
var helplineDigits = []string{
	"08001111",    // Childline (UK)
	"18004224453", // Childhelp National Child Abuse Hotline (US)
	"18006686868", // Kids Help Phone (CA)
	"1800551800",  // Kids Helpline (AU)
}
