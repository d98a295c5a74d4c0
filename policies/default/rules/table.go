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
			"(easiest|easy|best|quickest|fastest|quick|painless|least painful|simplest|surest) (way|ways|method|methods) (to|2) (die|end it|end my life|kill myself|commit suicide)",
			"how (can|do|should|could|would) i (die|end it all|end my life|kill myself|commit suicide|disappear forever)",
			"(i|i've|ive|i have) (been|started) (cutting|self harming|harming myself|hurting myself|burning myself)",
			"i (cut|scratch) (my arms|my wrists|my legs|my thighs|my skin)",
			"(cut|cuts|cutting|slicing|sliced|scratching|burning|burnt|burned) (on|into) (my) (arms|wrists|legs|thighs|skin|stomach)",
			"(slicing|sliced|slice) myself",
			"(i|i just|i really) (hate|hated|loathe|despise) myself",
			"(nobody|no one) (would|will) (miss|care about) me",
			"(want|wanna|wish i could) (to|2) (disappear|not exist|stop existing|not wake up)",
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
			subject + " (makes|made|make|wants|wanted|asks|asked|tells|told) me (to) (sit on|sit in|touch|kiss|undress|take off) (his|her|their|my) (lap|clothes|shirt|pants|privates)",
			subject + " (makes|made|make|wants|wanted) me (sit on|sit in) (his|her|their) lap",
			"(and|it|that|this) (feels|felt) (wrong|weird|bad|scary|uncomfortable|icky|gross) (when|and) (he|she|they)",
			subject + " (touches|touched|touching) me (there|down there|under my|in places|where)",
			subject + " (locks|locked|lock) me (in|up|out)",
			subject + " (doesnt|doesn't|does not|wont|won't) (feed|let me eat)",
			"(im|i am|i'm) (scared|afraid|terrified) (of|to go home|to go back)",
			"(im|i'm|i am) scared of (my|him|her)",
		},
	},
	{
		ID: "abuse.lap", Category: sdk.CategoryAbuseDisclosure, Action: sdk.ActionSupport,
		Severity: 4, Escalate: true,
		Targets: []string{subject + " (makes|made|make|wants|wanted|asks|asked|tells|told|has|had) me"},
		Phrases: []string{"(feels|felt|feel) (wrong|weird|bad|icky|uncomfortable|gross)", "(lap|privates|private parts|underwear|bath|bed|naked)"},
	},
	{
		ID: "abuse.disclosure.more", Category: sdk.CategoryAbuseDisclosure, Action: sdk.ActionSupport,
		Severity: 4, Escalate: true,
		Phrases: []string{
			"(dad|daddy|father|stepdad|mom|mum|mommy|mother|stepmom|uncle|aunt|brother|sister|cousin|grandpa|grandma|babysitter|teacher|coach) (hits|beats|kicks|punches|slaps|chokes|burns|abuses|hurts) me",
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
		Stems: slurStems,
		Phrases: []string{
			"(nig|nigs|nicca|niccas|nigguh|nigguhs|niggah|niggahs|niggaz|nigra|negro|negroes|negros|jigaboo|jiggaboo|jigaboos|porchmonkey|porch monkey|moon cricket|mooncricket|sand nigger|towelhead|towelheads|raghead|ragheads|camel jockey|wetbacks|beaner|beaners|gook|gooks|zipperhead|zipperheads|slant eye|slanteye|slanteyes|kyke|heeb|hebe|yid|yids|dyke|dykes|lesbo|lesbos|homo|homos|queer|queers|fairy boy|shemale|shemales|ladyboy|trannys|tranny's|muzzie|muzzies|muzrat|raghead|paki|pakis|golliwog|sambo|spook|spooks|darkie|darkies|coloreds|redneck|rednecks|white trash|honky|honkies|gypsy scum|gyppo|pikey|pikeys|mong|mongs|mongoloid|spaz|spazz|spastic|spastics|cripple|cripples|retards|tard|tards|rapefugee|rapefugees|kaffir|kaffirs|kafir|abo|abos|wog|wogs|chinaman|japs|dago|dagos|wop|wops|kraut|krauts)",
			"(you|ur|youre|you're|u) [a] (monkey|ape|gorilla|animal|cockroach)",
		},
		Targets: nil,
	},
	{
		ID: "hate.slur.base", Category: sdk.CategoryHate, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"(nigger|niggers|nigga|niggas|faggot|faggots|fag|fags|retard|retards|retarded|tranny|trannies|spic|spics|chink|chinks|kike|kikes|wetback|coon|coons)",
		},
	},
	{
		ID: "profanity.strong", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2,
		Stems: profanityStems,
		Phrases: []string{
			"(fuck|fucks|fucking|fuckin|fucked|fucker|fuckers|fuckface|fuckoff|fuk|fuking|fck|fcking|fcuk|phuck|fuq|motherfucker|motherfuckers|motherfucking|mofo)",
			"(shit|shits|shitty|shitting|shithead|bullshit|horseshit|sh1t|shite)",
			"(bitch|bitches|bitchy|bitching|biatch|b1tch)",
			"(bastard|bastards|asshole|assholes|arsehole|arseholes|ass|asses|arse|dumbass|jackass|asshat|dipshit)",
			"(dick|dicks|dickhead|dickheads|cock|cocks|cocksucker|pussy|pussies|cunt|cunts|twat|twats|wanker|wankers|wank|bollocks|piss|slut|sluts|whore|whores|titties)",
			"(wtf|stfu|gtfo|omfg|fml)",
			"(idgaf|idgaff|diligaf|gfy|gtfoh|stfd|foad|ffs|wtaf|stfup)",
		},
	},
	{
		ID: "profanity.vulgar", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2,
		Phrases: []string{
			"(hoe|hoes|hoez|thot|thots|skank|skanks|skanky|tramp|tramps|slag|slags|scrubber|hooker|hookers|hussy|floozy|bimbo|bimbos)",
			"(douche|douchebag|douchebags|douchey|scumbag|scumbags|scum|dirtbag|dirtbags|sleazebag|shitbag|turd|turds|bellend|bellends|knob|knobhead|knobend|nob|nobhead|pillock|prat|git|minger|munter|numpty|plonker|tosser|tossers|wazzock|bugger|buggery|sod off|arsed|feck|fecking|frig|frigging|friggin|frigin|effing|f off|eff off|f u|biatches|beyotch|beeyotch)",
			"(piss off|screw you|screw off|sucks balls|suck my|blow me|kiss my ass)",
			"(wtf|stfu|gtfo|omfg|fml|lmfao|mfer|mfers|smfh|fubar|milf|dilf|gilf|nsfw)",
			// spellings of common rude words (v for u, ph for f, k for c) and
			// rude compounds; one-off misspellings are left to the loose matcher
			"(fvck|fvcks|fvcking|fvcked|fvcker|fvckup|fvckface|fuxor|fuxored|pussie|phanny|phannies|khunt|khunts|cawk|cawks|kawk|kawks|shagstress|whoralicious|spermbag|holestuffer|crotchjockey|crotch jockey|virginbreaker)",
			"(fanny|fannies|fannyflaps|pissflaps|pussi|pussies|poonani|punany|punani|punanny|poontang|queef|queefs|queaf|pube|pubes|scrote|scrot|scrotum|choad|chode|chodes|smegma|felch|feltch|felching|feltching|skeet|skeeting|schlong|nutsack|ballsack|cameltoe|camel toe|coochie|cooch|twink|spooge|splooge|jerkoff|jerk0ff|jackoff|jack off|circlejerk|circle jerk|fugly|shiz|shizzle|gaylord|lezzy|lezzie|lezzies|lesbo|lesbos|gypo|gyppo|squaw|pickaninny|bohunk|muff|muffdiver|muff diver|dingleberry|dingleberries|dickweed|dickwad|dumass|dumbass|jerkass|buttface|buttwipe|buttmunch|butthead|assface|asswipe|hobag|whoor|hoar)",
			"(merda|porra|caralho|foda|fodase|buceta|zorra|zorras|estupido|estúpido|estupida|estúpida|hijo de puta|hijo de perra|hija de puta|maricon|maricón|culero|chinga|chingada|chingar|hostia|хуй|хуйня|пидор|пидорас|пиздец|пизда|сука|блять|блядь|бля|проститутка|мудак|говно|ебать|鸡巴|傻逼|操你妈|他妈的|hurensohn|arschloch|scheisse|scheiße|pendejo|pendeja|mierda|carajo|cabron|cabrón|puta|putas|puto|joder|coño|gilipollas|couillon|enfoiré|enfoire|connard|connasse|salaud|salope|pétasse|petasse|merde|putain|vaffanculo|fanculo|coglione|stronzo|zoccola|cazzo|figa|minchia|kurwa|blyat|suka|cyka|pizda|chuj|penchod|bhenchod|madarchod|chutiya|randi)",
			"(bint|buggered|bumboy|bum boy|buttpirate|butt pirate|clunge|cockwomble|dickcheese|dick cheese|dickish|dickmilk|dicknose|dickweasel|dickwod|douchecanoe|douche canoe|fartknocker|fleshflute|jackhole|jerkwad|jism|meatflap|meat curtains|nads|pecker|peckers|peckerhead|pissant|poofter|poofters|poonanny|pusy|quim|rentboy|rent boy|shitfaced|shithouse|shitless|shitbird|shitweasel|slapper|smeg|smeghead|sodding|spunkbubble|tallywhacker|todger|twunt|vag|vadge|bellendy|knobcheese|gobshite|gobshites|pissflap|ho bag|skeezy|skeeze|turdburglar|turd burglar|fannybaws|bawbag|bawbags|arsebadger|clitty|clitface|cocksniffer|dickbeaters|dickmonger|gaywad|kootch|lameass|panooch|penispuffer|shitbagger|shitcanned|shitspitter|shiznit|numbnuts|shitgibbon|twatbadger|spunkmonkey|scuzzbag|shitehawk|wankpuffin|bellendery|renob|perv|pervs|pervy|perve|sexpest|sex pest)",
			"(pinche|cabrona|cabrones|chingas|chingate|chinga tu madre|mamon|mamones|puneta|punetas|huevon|huevona|weon|weona|marica|maricas|joto|jotos|cojones|boludo|boluda|pelotudo|pelotuda|sorete|hijueputa|hijoputa|malparido|malparida|cojudo|conchatumadre|concha tu madre|concha de tu madre|me cago en|foder|fodido|fodida|fodase|cuzao|viado|viados|arrombado|arrombada|cacete|desgracado|desgracada|vai se foder|vai tomar no cu|pqp|otario|otaria|babaca|encule|enculee|encules|niquer|nique|nique ta mere|ta gueule|fils de pute|pute|putes|foutre|couille|couilles|chier|branleur|branleuse|branler|batard|connards|pouffiasse|stronza|stronzi|puttana|puttane|porca puttana|porco dio|fottiti|fottuto|fottuta|figlio di puttana|cornuto|pompino|fotze|wichser|wixxer|fick dich|schlampe|schwuchtel|missgeburt|spast|verpiss dich|leck mich|kacke|arsch|hure|klootzak|godverdomme|teringlijer|kankerlijer|mongool|flikker|slet|kurwy|pierdol|pierdolic|pierdole|jebac|jebany|jebana|skurwysyn|spierdalaj|kutas|cipa|pizdec|nahui|nahuy|khuy|yebat|mudak|pidor|pidoras|pidaras|gandon|zalupa|jebem|jebote|jebiga|picka|picku|kurac|govno|orospu|siktir|yarrak|sharmouta|sharmoota|sharmuta|kos omak|kos omok|kus emek|ben zona|zamel|chutiye|behenchod|bhenchodd|bhosdike|bhosdiwale|bhosdi|bhosda|gaand|gaandu|gandu|lavda|lawda|lodu|bsdk|putang ina|putangina|tangina|tang ina|gago|pokpok|kantot|bangsat|kontol|memek|ngentot|pepek|jancok|pukimak|caonima|cao ni ma|tamade|ta ma de|sha bi|shabi|chinko|manko|chinpo|yariman|sibal|shibal|ssibal|gaesaekki|byungsin|knulla|javla|vittu|perkele|kyrpa|huora|kurva|fasz|geci|bazmeg|picsa|curak|zmrd|kokot|malaka|malakas|poutana|gamoto|pousti|muie|fokken|fok jou)",
			"(swastika|swastikas|neonazi|neo nazi|white power|heil hitler|sieg heil|1488|kkk|white supremacy|white supremacist|natsoc)",
		},
	},
	{
		ID: "sexual.explicit", Category: sdk.CategorySexual, Action: sdk.ActionBlock, Severity: 3,
		Stems: sexualStems,
		Phrases: []string{
			"(sex|sexy|sexual|sexually|sexting|sext|sexts|sexted|horny|hornier|nude|nudes|nudity|naked|porn|porno|pornography|pornographic|porns|pornstar|xxx|xxxx|erotic|erotica|orgasm|orgasms|orgy|orgies|masturbate|masturbating|masturbation|masturbated|wank|fap|fapping|jerk off|jerking off|jack off|jacking off|cum|cumming|cums|cumshot|cumshots|jizz|semen|sperm|ejaculate|ejaculation|ejaculating|erection|erections|boner|boners|hard on|hardon|penis|penises|vagina|vaginas|vaginal|vulva|clitoris|clit|labia|anus|anal|rectum|testicles|testicle|scrotum|nipple|nipples|boobs|boob|boobies|tits|titty|titties|breasts|butthole|genitals|genital|genitalia|pubic|pubes|dildo|dildos|vibrator|vibrators|buttplug|butt plug|strap on|strapon|fleshlight|condom|condoms|lube|kinky|kinkster|fetish|fetishes|bdsm|bondage|dominatrix|dominatricks|blowjob|blowjobs|blow job|handjob|handjobs|hand job|rimjob|rimming|footjob|titjob|fingering|fingered|fisting|fisted|squirt|squirting|creampie|gangbang|gang bang|gangbanged|threesome|foursome|bukkake|deepthroat|deep throat|cunnilingus|fellatio|blowing him|suck his|suck her|sucking his|sucked his|sixty nine|doggy style|doggystyle|doggie style|dawgie style|missionary position|cowgirl position|stripper|strippers|striptease|strip club|lap dance|escort|escorts|prostitute|prostitutes|prostitution|hooker|whorehouse|brothel|camgirl|cam girl|camgirls|webcam sex|phone sex|cybersex|onlyfans|hentai|playboy|hustler|nsfw|milf|bbw|pawg|twink|bareback|hookup|hook up|hooking up|one night stand|booty call|bootycall|friends with benefits|fwb|sugar daddy|sugar baby|dry hump|humping|aroused|arousal|seduce|seduced|seductive|sultry|lingerie|thong|panties|undress|undressing|undressed|topless|bottomless|voyeur|exhibitionist|incest|bestiality|zoophilia|necrophilia|pedophile|pedophilia|paedophile|paedophiles|paedophilia|rape|raped|raping|rapist|rapists|molest|molested|molesting|molestation|molester|grope|groped|groping|intercourse|coitus|coital|copulate|copulation|fornicate|fornication|sodomy|sodomize|sodomise|nympho|nymphomania|nymphomaniac|slutty|whoring|smut|smutty|lewd|obscene|raunchy|x rated|adult video|adult videos|adult movie|adult film|sex tape|sex toy|sex toys|sex chat|sex cam|live sex|livesex|sexcam|sexo|sexe|porno|pornos|puta|putas|putain|prostitutas|prostituta|follar|follan|polla|pollas|coño|verga|chupar|mamada|tetas|culo|baise|baiser|chatte|salope|salopes|nichons|enculer|sucer|fellation|rencontre adulte|rencontres adultes|sexuel|sexuelle|erotique|érotique|ficken|schwanz|muschi|nackt|neuken|tieten|kneppe|knulle|pikk|porr|sexy girls|hot girls|hot chick|hot chicks|big tits|big boobs|wet pussy|tight pussy|suck dick|suck cock|eat pussy|eating pussy|blow your load|shoot your load|rusty trombone|donkey punch|carpet muncher|rosy palm|baby juice|ball licking|ball sucking|tea bagging|teabagging|motorboating|pegging|pegged|scissoring|tribadism|sixty-nine|cream pie|golden shower|glory hole|gloryhole|money shot|cock ring|nut sack|ball sack|ballsack|jerk me|touch yourself|touch myself|play with yourself|sit on my face|ride me|ride my|spread your legs|take off your clothes|take your clothes off|show me your body|show me your boobs|show me your)",
			"(naughty|dirty) (pics|pictures|photos|videos|talk|chat|girls|girl)",
			"(viagra|v1agra|cialis|femdom|futanari|yaoi|ecchi|upskirt|voyeurweb|bangbus|bangbros|goatse|tubgirl|2g1c|2 girls 1 cup|two girls one cup|lemon party|blue waffle|pthc|nambla|shibari|kinbaku|bastinado|strappado|coprophilia|coprolagnia|urophilia|acrotomophilia|dendrophilia|vorarephilia|omorashi|gokkun|fingerbang|throating|blumpkin|cleveland steamer|dirty sanchez|alabama hot pocket|alaskan pipeline|hot carl|barely legal|barelylegal|jail bait|jailbait|double penetration|double dong|reverse cowgirl|menage a trois|ménage à trois|beaver cleaver|shaved beaver|beaver lips|wet dream|wet dreams|g spot|gspot|ball gag|ballgag|nipple clamps|clover clamps|autoerotic|sexuality|sexslave|sex slave|sexkitten|sex kitten|phonesex|camslut|cam slut|analsex|lovemaking|love making|busty|big knockers|huge tits|swinger|swingers|erotism|sadism|masochism|sadomasochism|s&m|domination|dominatrix|dommes|pegging|frotting|frottage|figging|snowballing|rimming|anilingus|cunilingus|kunilingus|fellatio|felatio|penetrate|penetration|penetrating|micropenis|cumdumpster|cumguzzler|cum dumpster|cumtart|cumbucket|skinflute|skin flute|lovebone|spermherder|baby batter|ball gravy|jizjuice|jizz juice|pimpjuice|nympho|nimphomania|nymphomania|beastiality|bestiality|zoophile|incestuous|peedofile|peedofiles|peadofile|peadofiles|pedofile|pedofiles|peedos|kiddie fiddler|kiddie fiddling|kiddy fiddler)",
			"(send|show) (me|us) (nudes|nude|your nudes|naked pics|your body|your boobs|your tits|your dick|your pussy)",
			"(have|having|had|want|wanna) sex",
			"(suck|sucks|sucking|sucked|lick|licks|licking|licked) (my|his|her|your|a|the) (dick|cock|penis|balls|nuts|pussy|tits|boobs|nipples|clit|ass|butt)",
			"(touch|touching|touched|rub|rubbing|rubbed|grab|grabbing|grabbed|fondle|fondling|fondled|feel|feeling) (my|his|her|your) (dick|cock|penis|balls|pussy|tits|boobs|breasts|nipples|clit|crotch|vagina)",
			"(hard|wet) (for you|for me|dick|cock)",
			"(make|makes|made) (me|you) (cum|come|squirt|wet|hard|horny)",
			"(group|oral|anal|phone|cyber|rough|casual|hot|kinky|lesbian|gay|teen|live|free|hardcore|softcore|amateur|virtual|online) (sex|porn|porno|fuck|fucking|xxx)",
		},
	},
	{
		ID: "sexual_minors", Category: sdk.CategorySexualMinors, Action: sdk.ActionBlock, Severity: 4, Escalate: true,
		Phrases: []string{
			"(child|children|kid|kids|minor|minors|underage|under age|preteen|pre teen|teen|teens|young|little) (porn|porno|pornography|sex|nudes|nude|naked|xxx)",
			"(cp|loli|lolicon|lolita|shota|shotacon|jailbait|pedo|pedos|paedo|paedos|pedobear|childlover|child lover|kiddie porn|kiddy porn|child abuse material|csam)",
			"(sex|sexual|naked|nude|molest|molested|molesting|rape|raped|raping|touch|touched|touching|fuck|fucking|fucked) [with|a|the|my|his|her|their|little|young] (child|children|kid|kids|minor|minors|boy|boys|girl|girls|son|daughter|niece|nephew|students|student|toddler|toddlers|baby|babies|preteen|preteens|schoolgirl|schoolgirls|schoolboy|schoolboys|teen|teens|teenager|teenagers|underage)",
			"(child|children|kid|kids|minor|minors|boy|boys|girl|girls|teen|teens|teenager|teenagers|student|students|toddler|toddlers|schoolgirl|schoolgirls) (sexy|naked|nude|sex|porn|molested|raped|abused)",
			"(year old|years old|yr old|yo) (sexy|naked|nude|porn|pussy|tits|boobs|sex)",
			"(sexy|naked|nude|hot) (child|children|kid|kids|minor|minors|little girl|little girls|little boy|little boys|schoolgirl|schoolgirls|preteen|preteens|teen|teens|teenager|teenagers|young girl|young girls)",
			"(uncles|uncle's|dads|dad's|brothers|brother's|step dads|stepdad's) (pp|penis|dick|cock|privates)",
		},
	},
	{
		ID: "hate.group", Category: sdk.CategoryHate, Action: sdk.ActionBlock, Severity: 3,
		Typos:   true,
		Targets: []string{hateGroups},
		Unless: []string{
			"(calling|call|called|saying|say|said|says|writing|write|wrote|tweeting|tweeted|posting|posted|quote|quoting|claims|claiming|claim|statements|statement|comments|comment|remarks|words like|things like|threats like|threat like|opinions like|jokes about|slurs|slur|insults|insult|hate speech|hateful|racist|racism|bigot|bigots|bigotry|homophobic|homophobia|transphobic|transphobia|misogyny|misogynist|islamophobia|islamophobic|antisemitic|antisemitism|xenophobic|xenophobia|ableist|sexist|sexism|discrimination|prejudice|stereotype|stereotypes)",
			"(should|must|will|would) (never|not) (be|condone|tolerate|accept)",
			"(no one|nobody|never|not) (should|deserves|deserve)",
			"(cant|can't|cannot|dont|don't|do not) [seriously|really|honestly|possibly] (believe|think|say|claim|mean)",
			"(threatening|threaten|threatened|threats|threat) (to|like|against)",
			"will (get|land) you (thrown|put|sent|locked|banned|blocked|arrested|reported)",
			"(says|say|said|shows|show) (a lot|so much|something) about (you|how)",
			"(dont|don't|do not) expect (them|people|anyone)",
			// Negation over the whole statement: the negator comes before
			// the group ("no immigrant deserves …", "I would never want
			// … to suffer", "I have never thought of … as …").
			"no " + hateGroups + " (deserves|deserve|ought to|ought|should ever|should have to|has to|have to|needs to|need to)",
			"(never|not|dont|don't|do not|wouldnt|wouldn't|wont|won't|shouldnt|shouldn't) [ever] (support|endorse|back|condone|vote for|defend) (a|an|any|the) [political] (law|laws|policy|policies|bill|rule|rules|idea|plan|proposal|party|movement|candidate|government|politician|leader|group|campaign|organisation|organization|cause|measure|system|view|belief|ideology|agenda|initiative|statement|message|post) (that|which|who)",
			"(never|not|dont|don't|do not|didnt|didn't) (want|wanted|wish|wished) " + hateGroups + " (to|2) (suffer|die|be hurt|be harmed|be killed|feel|be)",
			"(never|not once|didnt|didn't|dont|don't|do not) [ever] (thought of|think of|thinks of|see|saw|seen|view|viewed|regard|regarded|consider|considered|treat|treated|called|call) " + hateGroups + " (as|like)",
			"never (will|would|did|have|had|could) (i|we)",
		},
		Phrases: []string{
			"(hate|hated|hating|hates|loathe|loathes|loathing|despise|despises|detest|detests|abhor|abhors|cant stand|can't stand|cannot stand|sick of|tired of|fed up with|disgust|disgusts|disgusted|disgusting|disgustingly|repulsive|repugnant|revolting|vile|gross|nasty|sickening|sicken|sickens|makes me sick|make me sick|make me furious|makes me furious|make me angry|makes me angry|make me so angry|piss me off|pissing me off|pisses me off|annoying|hatred|hatrd|hatered)",
			"(scum|scumbags|scumbag|filth|filthy|vermin|rats|rat|cockroaches|cockroach|parasites|parasite|leeches|leech|plague|cancer|disease|diseased|virus|garbage|trash|tr4sh|rubbish|waste|waste of space|animals|animal|beasts|beast|pigs|pig|swine|dogs|apes|ape|monkeys|monkey|savages|savage|subhuman|sub human|less than human|not human|inhuman|primitive|barbarians|barbaric|lice|maggots|maggot|worms|snakes|rodents|insects|bugs|freaks|freak|degenerates|degenerate|perverts|pervert|abominations|abomination|mistake|mistakes|burden|burdens|useless|worthless|pathetic|inferior|stupid|stupidest|dumb|dumbest|idiots|idiot|morons|moron|retarded|ignorant|lazy|dirty|smelly|ugly|dishonest|liars|criminals|criminal|thieves|terrorists|terrorist|rapists|predators|evil|sick|mentally ill|insane|crazy|unnatural|disordered|perverted|dangerous|threat|problem|invaders|invasion)",
			"(kill|killed|killing|murder|murdered|murdering|shoot|shot|shooting|stab|stabbed|hang|hanged|hanging|lynch|lynched|lynching|burn|burned|burning|gas|gassed|gassing|drown|drowned|exterminate|exterminated|extermination|eradicate|eradicated|eliminate|eliminated|wipe out|wiped out|get rid of|round up|deport|deported|deportation|ban|banned|execute|executed|execution|torture|tortured|hurt|beat|beaten|punch|slaughter|slaughtered|die|dead|death|suffer|suffering|destroy|destroyed|cleanse|purge|removed|sterilize|sterilized|locked up|lock up|put down|snap the necks|shut the fuck up|shut up|go back|send back|sent back|get out|fuck|fucking|fucked|shit|bitch|whore|prick|cunts|cunt|bastards|assholes|kill all)",
			"(not|never|no) (our|my|your) (equal|equals)",
			"(not|never|arent|aren't|isnt|isn't|cant|can't) (be|being) (trusted|equal|human|people|intelligent|smart|attractive|beautiful|welcome|valued|respected|capable|allowed)",
			"(never|not) (attractive|intelligent|smart|human|welcome|trustworthy|worth anything|worth it|equal|capable|valuable|beautiful|good enough|real)",
			"(worthless|worth nothing|not worth anything|not worth|no value|lives dont matter|lives don't matter|lives do not matter)",
			"(should|must|need to|ought to|deserve to|deserves to) (be|get) (killed|shot|hanged|hung|executed|deported|removed|banned|locked up|punished|eradicated|exterminated|gassed|burned|beaten|sterilized|segregated)",
			"(better off|world would be better|should not exist|shouldnt exist|shouldn't exist|have no place|has no place|dont belong|don't belong|do not belong|not welcome)",
			"(rather have cancer|rather die|test new drugs|than be anywhere near)",
			// Dehumanising and implicit derogation.
			"no better than (rats|animals|dogs|pigs|vermin|cockroaches|apes|monkeys|parasites|savages|trash|garbage)",
			"(lesser beings|lesser humans|lesser people|nothing but (refuse|trash|garbage|filth|animals|vermin|parasites))",
			"(belong|belongs) in (a|the) (zoo|cage|cages|jail|trash|bin|gutter|sewer)",
			"(dumped|thrown|tossed|put) in (a|the) (landfill|trash|bin|dump|gutter|sewer)",
			"(my dog|my cat|a dog|a monkey|a rock|a goldfish) is smarter than",
			"(like|hate) less than",
			"(can|could|will) never be as (smart|good|intelligent|capable|clever|civilised|civilized|human) as",
			"(not|never) let (any|them|those|these) [of] [them] live",
			"(should|shouldnt|shouldn't) (not|never) (be|matter|be important)",
			"never lift a finger (to|2) (save|help)",
			"(despicable|contemptible|detestable|scorn|disdain|contempt)",
			"(danger|threat|menace) (to|for) (our|this|the) (country|society|nation|children|kids|world)",
			"(violent and cruel|cruel and violent|violent|cruel|savage) by nature",
			"(ruin|ruins|will ruin|destroy|destroys|will destroy) (our|this|the) (country|society|nation)",
		},
	},
	{
		ID: "harassment.insult", Category: sdk.CategoryHarassment, Action: sdk.ActionRedirect, Severity: 2,
		Phrases: []string{
			"(you|youre|you're|ur|u|u r|you are|your) (such|so|a|an|the|just|really) [fucking|stupid|big|fat|little|ugly|dumb] (idiot|moron|loser|retard|freak|pig|cow|whore|slut|bitch|bastard|dumbass|jackass|creep|weirdo|failure|nobody|joke|disgrace|waste of space|waste of air)",
			"(you|youre|you're|ur|u|you are) (ugly|fat|stupid|dumb|worthless|pathetic|disgusting|useless|gross|a loser|an idiot|trash|garbage|nothing)",
			"(nobody|no one) (likes|loves|cares about|wants) (you|u)",
			"(shut up|shut the fuck up|stfu|go away|get lost|drop dead|go kill yourself|eat shit|piss off|screw you|fuck you|fuck off|f off|fuck u|fuk u|fck u)",
			"(yo mama|your mama|your mom|ur mom|yo momma) (is|so|s) [so] (fat|ugly|stupid|dumb|poor|old)",
		},
	},
	{
		ID: "violence.threat", Category: sdk.CategoryViolence, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"(kill|killing|murder|murdering|shoot|shooting|stab|stabbing|strangle|choke|behead|beheading|slaughter|butcher|execute|lynch|hang|torture|bomb|nuke|massacre|exterminate|wipe out) (you|u|him|her|them|everyone|everybody|all|every|those|these|people|civilians|kids|children|the jews|the blacks|the gays|my teacher|my teachers|my classmates|my family|my mom|my dad|my brother|my sister|somebody|someone)",
			"(gonna|going to|will|ill|i'll|want to|wanna|i will|im going to) (kill|murder|shoot|stab|hurt|beat up|beat|punch|strangle|choke|torture|burn|bomb|destroy|slaughter|execute|hang|rape|attack|get rid of) (you|u|him|her|them|everyone|everybody|all|those|these|people|my)",
			"(gore|gory|decapitated|decapitate|dismember|dismembered|disembowel|disemboweled|mutilate|mutilated|mutilation|dead bodies|body bags|massacre|massacred|genocide|ethnic cleansing|bloodbath|slit (his|her|their|your) throat|cut (his|her|their|your) throat|snap (his|her|their|your) neck|broken bones|bashed in|beat to death|beaten to death|stabbed to death|shot dead|burned alive|burnt alive|skinned alive|tortured|torturing|torturer|murdered|murderer|murdering|homicide|manslaughter|war crimes|kill all|killing spree|mass shooting|school shooting|shooting up|shoot up|hanging from lampposts|deserving of the rope|gas chamber|gas chambers|lynching|lynched|beheaded|beheading|assassinate|assassination|slaughter|slaughtered)",
			"(fight|fighting|fought|punch|punched|punching|kick|kicked) (me|him|her|them|you|someone) [in the face|up]",
			"(want|wanna|going) (to|2) (hurt|kill|punch|beat|stab|shoot) (someone|somebody|people|everyone|him|her|them)",
		},
	},
	{
		ID: "weapons", Category: sdk.CategoryWeapons, Action: sdk.ActionRedirect, Severity: 2,
		Phrases: []string{
			"(gun|guns|pistol|pistols|rifle|rifles|shotgun|shotguns|handgun|handguns|firearm|firearms|ammo|ammunition|bullets|ar15|ar 15|ak47|ak 47|glock|uzi|revolver|machine gun|assault rifle|sniper rifle|grenade|grenades|explosive|explosives|pipe bomb|molotov|dynamite|c4|tnt|switchblade|machete|brass knuckles|nunchucks|taser|pepper spray|flamethrower|silencer|suppressor)",
			"(how|where) (to|can i|do i|do you) (make|build|buy|get|find|use|hide|sharpen) (a|an|the|some) (gun|bomb|knife|weapon|weapons|explosive|pistol|rifle|grenade|poison)",
			"(bring|brought|bringing|carry|carrying|take|taking|took) (a|my|his|her|dads|dad's) (gun|knife|weapon|pistol|rifle) (to|into) (school|class)",
		},
	},
	{
		ID: "substances", Category: sdk.CategorySubstances, Action: sdk.ActionRedirect, Severity: 2,
		Phrases: []string{
			"(crackpipe|crackpipes|methpipe|crackhead|crackheads|methhead|methheads|weed|marijuana|cannabis|smoke pot|smoking pot|smoke weed|smoking weed|blunt|blunts|bong|bongs|thc|cocaine|crack cocaine|meth|methamphetamine|heroin|fentanyl|lsd|acid trip|shrooms|magic mushrooms|ecstasy|mdma|ketamine|oxycontin|percocet|opioids|opiates|codeine|do drugs|doing drugs|take drugs|taking drugs|sell drugs|selling drugs|buy drugs|drug dealer|stoned|high af|getting high|get high|got high|blazed|vape|vapes|vaping|juul|nicotine|get drunk|getting drunk|got drunk|binge drinking)",
		},
	},
	{
		ID: "substances.mild", Category: sdk.CategorySubstances, Action: sdk.ActionRedirect, Severity: 1,
		StrictOnly: true,
		Phrases: []string{
			"(drugs|cigarette|cigarettes|cigs|smoking|tobacco|cigar|cigars|alcohol|booze|beer|beers|vodka|whiskey|whisky|tequila|liquor|drunk|wasted|tipsy|hangover)",
		},
	},
	{
		ID: "dangerous_acts", Category: sdk.CategoryDangerousActs, Action: sdk.ActionRedirect, Severity: 3, Escalate: true,
		Phrases: []string{
			"(blackout challenge|choking game|pass out challenge|tide pod|tide pods|eat a tide pod|cinnamon challenge|fire challenge|skull breaker|skullbreaker challenge|benadryl challenge|car surfing|train surfing|roof jumping|nyquil chicken|salt and ice challenge|hot water challenge|outlet challenge|penny challenge|milk crate challenge|kia challenge|devious lick|hold my breath until|huff|huffing|sniffing glue|inhalants)",
			"(how|where) (to|can i|do i) (make|get|buy|start|light|set) (a|an|the|some) (fire|explosion|drugs|poison)",
			"(play|playing|played) with (fire|matches|lighters|a lighter|a gun|guns|knives)",
			"(jump|jumping|jumped) (off|from) (the|a|my) (roof|bridge|building|balcony|cliff)",
			"(drink|drinking|drank|eat|eating|ate) (bleach|poison|detergent|laundry pods|pills)",
		},
	},
	{
		ID: "scam", Category: sdk.CategoryScam, Action: sdk.ActionRedirect, Severity: 3, Escalate: true,
		Phrases: []string{
			"(free robux|free vbucks|free v bucks|free gems|free coins|free skins|robux generator|vbucks generator|free iphone|you have won|you won a|you've won|claim your prize|claim your reward|click this link|click the link|click here|verify your account|account will be suspended|send me your password|give me your password|tell me your password|whats your password|what's your password|your login|your pin|credit card number|moms credit card|mom's credit card|dads credit card|dad's credit card|parents credit card|parents' credit card|gift card code|gift card codes|bank details|social security)",
		},
	},
	{
		ID: "grooming", Category: sdk.CategoryGrooming, Action: sdk.ActionRedirect, Severity: 4, Escalate: true,
		Phrases: []string{
			"(our|his|her) [little|special] secret",
			"(little|special) secret",
			"(keep|keeping) (it|this|that|us) (between us|our secret|between you and me)",
			"(dont|don't|do not|never|not) (tell|telling) (anyone|anybody|your mom|your mum|your dad|your parents|your mother|your father|mom|mum|dad|my mom|my mum|my dad|my parents|the teacher|your teacher)",
			"(if i|if you|if we) (dont|don't|do not|never) tell (anyone|anybody|my mom|my mum|my dad|my parents|your parents)",
			"(mom|mum|dad|my mom|my mum|my dad|my parents|your mom|your mum|your dad|your parents|parents) (cant|can't|cannot|mustn't|mustnt|shouldnt|shouldn't|must not|should not|wont|won't|dont|don't|do not|never) (know|find out|see|hear)",
			"(gift card|gift cards|giftcard|robux|vbucks|v bucks|money|cash|presents|present|a gift|gifts|a phone|an iphone|skins) (if i|if you|for) (dont|don't|do not|never|keep|send|show)",
			"(promised|promise|promises|offered|offers|will give|gave|give) (me|you) (a|an|some|free) (gift|gifts|gift card|present|presents|money|robux|vbucks|phone|iphone|skins)",
			"(meet|meeting|meetup|meet up) (me|us|you|him|her) [up] (at|in|after|near|by|tonight|tomorrow|alone|somewhere|irl|in person|in real life)",
			"(wants|want|wanted|asked|asks|asking) (me|us) to meet",
			"(wants|want|wanna) to (meet|meet up|hang out) (with me|me|irl|in person|in real life)",
			"(meet|meeting) (in person|irl|in real life)",
			"(asked|asks|told|tells|wants|wanted) me to (come|get|go) (with|in|into) (him|her|them|his car|her car|the car|a car|his van|the van|a van|his house|her house)",
			"(stranger|strangers|a man|a woman|a lady|some guy|a guy) (in a car|in a van|asked me|followed me|offered me|wanted me)",
			"(add|message|text|call|dm|snap|contact|talk to) (me|him|her) (on|in|at|over) (snapchat|snap|whatsapp|kik|telegram|discord|instagram|insta|tiktok|facebook|messenger|signal|wickr|skype|text|private|dms|dm)",
			"(lets|let's|we should|can we) (talk|chat|move|go|switch) (on|to) (snapchat|snap|whatsapp|kik|telegram|discord|instagram|insta|tiktok|facebook|messenger|signal|skype|another app|a different app|private|dms|dm|somewhere private)",
			"(whats|what's|what is|give me|send me|tell me) your (snapchat|snap|whatsapp|kik|telegram|discord|instagram|insta|tiktok|number|phone number|username)",
			"(wants|want|wanted|asked|asks|asking|ask) (for) [a|some|more] (photo|photos|pic|pics|picture|pictures|selfie|selfies|video|videos) (of me|of you)",
			"(wants|want|wanted|asked|asks|asking|ask) (me|you) [to send|for] [a|some|more] (photo|photos|pic|pics|picture|pictures|selfie|selfies)",
			"(wants|want|wanted|asked|asks|asking|ask|send|sent|show) [me|you] (a|an|some|more) (photo|photos|pic|pics|picture|pictures|selfie|selfies|video|videos) (of me|of you|of yourself|of myself) [in|without|with]",
			"(send|sent|show|take) (me|him|her) (a|some) (photo|photos|pic|pics|picture|pictures|selfie|selfies|video) (of you|of yourself|of me)",
			"(photo|photos|pic|pics|picture|pictures|selfie|selfies) (of me|of you) (in|without) (my|your) (pajamas|pyjamas|pjs|underwear|bathing suit|swimsuit|bikini|clothes|shirt|bra|towel|bed)",
			"(are you|r u) [home] alone",
			"(is|are) your (parents|mom|mum|dad) (home|around|there|watching)",
			"(you are|youre|you're|ur|u r) (so|very|really) (mature|pretty|beautiful|cute|hot|sexy) (for your age)",
			"(mature|grown up) for your age",
			"(our|a) (relationship|love) (is|should be) (special|secret)",
			"(delete|deleting|erase|clear) (our|the|these|this) (messages|chat|chats|texts|conversation)",
			"(be my|you are my|youre my|you're my) (girlfriend|boyfriend|gf|bf)",
		},
	},
	{
		// Daisy's (or a model's) reply never proposes meeting, secrecy
		// between the two, or visits: she is a dog on a screen.
		ID: "grooming.reply", Category: sdk.CategoryGrooming, Action: sdk.ActionRedirect, Severity: 4, Direction: sdk.DirectionOut,
		Phrases: []string{
			"(lets|let's|we could|we can|we should|i want to|i wanna|wanna|want to|how about we|shall we|i'd like to|id like to) (meet|meet up|hang out|get together|see each other) (in person|irl|in real life|at|after|before|tonight|tomorrow|somewhere|alone|outside|near)",
			"(come|come over|sneak out) (to|over to) (my|our) (house|place|home|car|van)",
			"just (you and me|you and i|the two of us|us two)",
			"(dont|don't|do not|never) (tell|show) (your|ur) (mom|mum|dad|parents|mother|father|teacher|family)",
		},
	},
	{
		ID: "pii.solicitation", Category: sdk.CategoryPIISolicitation, Action: sdk.ActionRedirect, Severity: 3, Escalate: true,
		Phrases: []string{
			"(whats|what's|what is|where is|give me|send me|tell me|can i have|can i get) your (address|home address|phone number|number|cell number|cell|mobile|mobile number|email|email address|school|real name|full name|last name|surname|password|location|zip code|postcode|post code)",
			"(what|which) school (do|did) you (go to|attend)",
			"where do you (live|go to school)",
			"(send|share|give) (me|us) your (location|address|number|pic|picture|photo)",
		},
	},
	{
		ID: "emergency", Category: sdk.CategoryEmergency, Action: sdk.ActionSupport, Severity: 4, Escalate: true,
		Phrases: []string{
			"(there is|theres|there's) (a fire|a stranger|someone|somebody|a man|a gun) (in|at|outside) (my|our|the) (house|home|room|school|door|window)",
			"(someone|somebody|a man|a stranger) (is|are) (breaking in|trying to get in|in my house|following me|chasing me)",
			"(i am|im|i'm) (lost|bleeding|trapped|being followed|being chased|scared for my life|not safe|in danger)",
			"(my|our) (house|home|apartment|flat) is on fire",
			"(cant|can't|cannot) (breathe|wake (my|her|him) up|wake up my)",
			"(mom|mum|dad|grandma|grandpa|brother|sister|baby|friend) (wont|won't|will not|is not|isnt|isn't) (wake up|waking up|breathing|moving)",
			"(call|calling) (911|999|112|000|an ambulance|the police|the cops)",
			"(help me|help) (please|pls|plz) (help|im|i'm)",
		},
	},
	{
		ID: "exempt.names", Category: sdk.CategoryProfanity, Action: sdk.ActionAllow, Exempt: true,
		Phrases: []string{
			"moby dick", "dick whittington", "philip k dick", "philip dick", "dick van dyke", "dick tracy",
			"spotted dick", "dick grayson", "dick cheney", "dick clark", "dick smith", "dick francis",
			"(pot|candy|chocolate|granola|energy|protein|snack|salad|sushi|monkey|handle|bar) (pie|bar|bars)",
			"(cocker spaniel|cocker spaniels|maine coon|maine coons|raccoon|raccoons|coon hound|coonhound|shuttlecock|woodcock|peacock|peacocks|weathercock|stopcock|ballcock|poppycock)",
			"(blue tit|blue tits|great tit|great tits|coal tit|coal tits|tit for tat|bushtit|bushtits)",
			"(suicide squad|suicide burn|suicide doors|suicide door|suicide run|suicide runs|suicide sprints|suicide note for my plant)",
			"(kill|killed|killing|kills) (it|time|the lights|the engine|the boss|the dragon|the zombie|the zombies|zombies|the monster|monsters|the creeper|creepers|the bug|bugs|the spider|weeds|the mood)",
			"(shoot|shooting|shot) (a|the|some) (hoops|basket|baskets|ball|goal|photo|photos|video|film|movie|star|arrow)",
			"(hell's kitchen|hells kitchen|hello kitty|hell on wheels|hellboy)",
			"(dyke|dykes) (road|lane|street|marsh)",
			"(knife and fork|butter knife|pocket knife for scouts)",
			"(gun|guns) (show|club|sheriff)",
			"(water gun|water guns|nerf gun|nerf guns|glue gun|glue guns|squirt gun|squirt guns|bubble gun|toy gun|toy guns|laser gun|ray gun|finger guns|paintball gun|gun bunny)",
			"(party pop|pop corn|popcorn|fire drill|fire truck|fire trucks|fire engine|fire station|fire fighter|firefighter|firefighters|campfire|fireworks)",
			"(wine gums|root beer|ginger beer|rum raisin|gin rummy|cocktail sausage|cocktail sausages)",
			"(chicken breast|chicken breasts|breast stroke|breaststroke)",
			"(hot dog|hot dogs|cream puff)",
			"(panty liner|panty liners|pantyliner|pantyliners|ear muff|ear muffs|party pooper|party poopers|poop deck|poop decks|sperm whale|sperm whales|dik dik|dik diks|shag carpet|shag rug|shag pile|shag haircut|psycho killer)",
		},
	},
	{
		// Sexual violence denied, not described or asked for: "… should
		// never be raped", "no one deserves to be raped". A child who
		// fears it ("I don't want to be raped") or discloses it is not
		// shielded: the negation must govern the word itself.
		ID: "exempt.negated", Category: sdk.CategorySexual, Action: sdk.ActionAllow, Exempt: true,
		Phrases: []string{
			"(should|must|would|will|could|can|ought to) (never|not) [ever] (be|get) (raped|molested|sexually assaulted|sexually abused)",
			"(shouldnt|shouldn't|mustnt|mustn't|wouldnt|wouldn't|wont|won't|cant|can't|cannot) [ever] (be|get) (raped|molested|sexually assaulted|sexually abused)",
			"(no one|nobody|noone|no woman|no women|no man|no person|no human|no girl|no boy|no child|no one ever) (deserves|deserve|should|should ever|asks|asked) (to be|to get|be|get) (raped|molested|sexually assaulted|sexually abused)",
			"(should|would|will|could) never (rape|molest|sexually assault)",
			"(not|never|wont|won't|cant|can't|cannot|shouldnt|shouldn't|mustnt|mustn't|dont|don't|do not) (allow|let|permit|tolerate|accept) [any|anyone|our|the|these|those|any of our] " + hateGroups + " [(in|of|from|at|around) (this|our|the|my|your|their) (country|society|world|community|city|town|area|school|family|neighbourhood|neighborhood|land)] [ever] (to be|be|to get|get|being) (raped|molested|sexually assaulted|sexually abused)",
		},
	},
	{
		// Mild swearing: blocked for the younger tiers at the standard
		// setting, allowed for 13-17 or when a parent chose "relaxed".
		ID: "profanity.mild", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		NotRelaxed: true,
		Squash:     []string{"go to hell"},
		Phrases: []string{
			"(wth|crap|crappy|crapola|bullcrap|horsecrap|damn|dammit|damnit|goddamn|goddamned|goddammit|godamnit|godamn|goddam|hotdamn|god dam|god damn|god damned|pissed|pissoff|bloody hell|screw you|screwyou|sucks balls|what the hell|go to hell|the hell|hell no|hell yeah|hell yes|heck no|to hell with)",
		},
	},
	{
		// "hell" on its own is also a place in a religion a child may ask
		// about: only for the youngest tier or the strict setting.
		ID: "profanity.mild.strict", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		StrictOnly: true,
		Phrases:    []string{"(hell|hells|damned|damnation)"},
	},
	{
		// Mild words written in disguise ("һell" with a Cyrillic h, "gaу"
		// with a Cyrillic y, "heII"): plainly they may be innocent (a
		// place in a religion, who someone loves); hidden from a filter
		// they are meant as rude. Relaxed like mild swearing. (Insults
		// such as "loser" are caught in disguise by their own rules.)
		ID: "profanity.disguised", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		NotRelaxed: true, Disguised: true,
		Phrases: []string{
			"(hell|hells|heck|damned|gay|gays|gey|virgin|virgins|frick|fricking|fricken|freaking|naughty|poop|poo|poopy|butt|butts|bum|bums|booty|pee|sexy|suck|sucks)",
		},
	},
	{
		ID: "profanity.compound", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2,
		Squash: []string{"suck my dick", "suck my cock", "suck my ass", "suck my balls", "eat my ass", "kiss my ass", "up the ass"},
		Stems:  []string{"fook", "fekk", "feck", "ashole", "arshole", "arsehol", "basterd", "biatch", "byatch"},
		Phrases: []string{
			"(fack|fak|fac|fuch|fook|fuk|fuc|fck|fek|fok|phuk|fyuk|fawk|fcuk) (you|u|yo|off|u all|you all|ya)",
			"(pedo|pedos|peedo|peedos|paedo|paedos)",
			"(ahole|assclown|assklown|assbag|assbagger|assjacker|asspacker|asspuppies|arsepuppies|assmunch|assmuncher|asslicker|asskisser|kissass|kissmyass|suckass|fatass|gayass|bumhole|bumbandit|bum bandit|bunghole|bung hole|buttcheeks|buttfucker|buttbang|buttbanger|cornhole|poop chute|poopchute|cockblock|cockblocker|cockknocker|cockknoker|cocknose|cocksmoke|cocksmoker|cockmuncher|cocktease|cockteaser|corksucker|cocklump|cockqueen|dickbag|dickface|dickhole|dickslap|dicksucker|dicksipper|dickwhipper|dickbreath|dickless|dickforbrains|dickerlicker|whiskeydick|whiskydick|douchbag|doochbag|douch|douchenozzle|fudgepacker|fudge packer|fudgpacker|shirtlifter|shirt lifter|pillowbiter|pillow biter|carpetmuncher|rugmuncher|muffdive|muffdiving|knobjockey|nobjockey|nobjocky|knobhead|bell end|minge|mingebag|cumbucket|cumslut|cumqueen|mycum|jizzbag|spunking|shagger|shagging|shagged|whorebag|slutbag|slutwear|nastyslut|nastyho|skankee|motherfucka|muthafucka|mothafucka|muthafecker|mdrfkr|mf|mfs|fk|fkin|fking|fked|fkn|phuk|phuq|fuckwit|fucktard|shitbag|shitface|shithole|shitstain|cuntface|twatface|bitchass|ballsucker|ballbag|tosspot|tossers|tossurs|bollocs|cheekybollocs|bollox|polesmoker|meatbeater|beatyourmeat|beat your meat|spankthemonkey|spank the monkey|jerkoff|jackoffcurly|massterbait|masterbate|masterbating|masterbation|masterbations|master bates|deez nuts|dees nuts|dig bick|mike hawk|seymour butts|hugh jass|ben dover)",
			"(f|eff) (you|u|your mother|ur mom|off)",
			"you little (b|s|f) word",
		},
	},
	{
		ID: "sexual.more", Category: sdk.CategorySexual, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"(fondle|fondling|fellate|fellating|felched|feltcher|lapdance|lap dancing|stiffy|boners|jubblies|juggs|sexpot|sexbot|sextoy|sextoys|sexfarm|sexworld|worldsex|hotsex|gaysex|havesexnow|have sex now|sexting|pornhub|xvideos|xhamster|redtube|youporn|brazzers|playgirl|playbunny|play bunny|pornprincess|horniest|horney|horni|cumming|cummin|kumming|cumshots|creampies|ejakulate|jizim|jizm|kunnilingus|cunnilingis|blowjobs|blowie|rimjob|analannie|buttplugs|bootplug|nipplering|nipple ring|scantily clad|barenaked|bare naked|girls gone wild|spread your legs|spread ur legs|bend over for me|golden shower|goldenshower|brown showers|yellow showers|one guy one jar|mr hands|dirty pillows|wrinkled starfish|chocolate rosebuds|beaver shot|camel toe|vjayjay|vajayjay|peenus|peener|vagene|cumm|gloryhole|glory hole|sugar tits|big black cock|bbc porn|i climax|make me climax|climaxed|orgasmed|sexed|sexing|threesomes|orgy|orgies)",
			"(ahegao|blowbang|camshow|camshows|cam show|chaturbate|clussy|bussy|cuck|cucks|cucked|cuckolding|deepthroating|facesitting|face sitting|fingerbanging|footfetish|foot fetish|futa|hotwife|lewds|lewding|noodz|rule34|rule 34|r34|sexdoll|sex doll|sexdolls|spitroast|spit roast|spitroasted|tribbing|yiff|yiffy|coomer|coomers|coom|gooning|3some|sexparty|sex party|upskirts|downblouse|nip slip|nipslip|sideboob|underboob|braless|g string|gstring|creampied|horndog|breeding kink|eat her out|eating her out|eat him out|sixtynine|69ing|jack me off|jerk him off|jerk her off|rub one out|rubbing one out|choke the chicken|choking the chicken|tiddies|tiddy|gooch|grundle|meat spin|trouser snake|blow my load|blew my load|busting a nut|bust a nut|busted a nut|nutt|precum|pre cum|buttsex|butt sex|assplay|maledom|findom|paypig|sissy hypno|sissification|chastity cage|ageplay|ddlg|rapeplay|rape play|oppai|paizuri|nakadashi|sugar daddies|happy ending massage|stripclub|strip clubs|stripclubs|strip tease|peep show|sexworker|sexworkers|sex worker|sex workers|brothels|whorehouses|wifeswap|cuckolding|giving head|gave head|give head|dtf|netflix and chill|creepshot|creepshots|upskirting|dickpic|dickpics|dick pic|dick pics|onlyfan|fansly|manyvids|camming|sexytime|sexy time|shagadelic|horizontal tango)",
			"(you|u|i|she|he|they) (want|wanna|wants) (my|your|his|her|ur) (dick|cock) in",
			"(nutt|cum|jizz) (in|on) (you|u|your|ur|all of|me)",
			"(my dick is|my cock is) [like] (5|6|7|8|9|10|12) (inch|inches|in)",
			"(mines6inches|mine6inches|imma nut)",
			"(child toucher|kiddie toucher|i touch kids|itouchkids|i rape kids)",
		},
	},
	{
		ID: "hate.more", Category: sdk.CategoryHate, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"(ching chong|chingchong|chinc|chincs|jiggerboo|jiggaboo|jigaboo|jijjiboo|junglebunny|jungle bunny|jungle bunnies|towel head|rag head|zipper head|sand monkey|whitetrash|poorwhitetrash|honkey|honkeys|negroid|niglet|niglets|nigr|niga|nigas|nigguh|nigguhs|nikka|nikkas|spik|spiks|beanerino|wetbacks|qweer|qweers|qweerz|heshe|shemale|lezbo|lezbos|lezzo|lezza|dyke|bulldyke|bull dyke|diesel dyke|mcfagget|faqqot|faqqots|fagit|faggit|faggits|feggat|feggats|faig|faigs|faigt|fagget|faggets|fagot|fagots|japcrap|gooks|raghead|kike|heeb|sheeny|yid|kraut|dago|wop|mein fuhrer|white power|gas the jews|gas jews|oven dodger|holocaust was fake|holohoax)",
			"(cameljockey|abbo|abbos|boong|boongs|bogtrotter|bogtrotters|curry muncher|curry munchers|darky|dindu|dindus|gippo|gippos|greaseball|greaseballs|halfbreed|halfbreeds|half breed|half breeds|hymie|hymies|injun|injuns|sheboon|sheboons|slopehead|slopeheads|slanty|taig|taigs|wigga|wiggas|spearchucker|spear chucker|batty boy|battyboy|battyman|batty man|chi chi man|lezzer|lezzers|spacker|spackers|spacca|window licker|nignog|nig nog|groid|groids|chinamen|golliwogs|sambos|polack|polacks|gweilo|yellow peril|zionazi|zionazis|jewboy|jew boy|christ killer|christ killers|nigaboo|queerbait|queerhole|dothead|dot head|dotheads|durka durka)",
			"(niggur|niggurs|niggor|niggors|nigor|nigors|niggar|niggars|nigar|nigars|neggar|neggars|negga|neggas|nagga|naggas|nigguz|nigha|nighas|niqqa|niqqas|niqqer|niqqers|nijja|nijjas|nijjer|nijjers|nlgga|nlggas|nlgger|nlggers|nlggor|njgga|njggas|njgger|njggers|nibba|nibbas|nibber|nibbers|jap|wigger|retarted|retart|retarts)",
			"(who has|got the|the) (china virus|kung flu|chinese virus)",
			"(jews|judens|jewish people|muslims|blacks|gays) (belong in|should be in|back to) (the|an|a) (oven|ovens|camps|camp|gas chamber|gas chambers)",
		},
	},
	{
		// Toilet insults and vulgar toilet words: mild, like "crap".
		ID: "profanity.mild.toilet", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		NotRelaxed: true,
		Phrases: []string{
			"(poophead|poopheads|poopface|poopfaces|poopbrain|poopbrains|poopyhead|poopyheads|poopy head|poopy pants|poopypants|poopstain|poopstains|poohead|pooheads|pooface|poofaced|poobrain|poostain|doodoo|doo doo|dookie|dookies|caca|shart|sharts|sharted|sharting|excrement|excrements|feces|faeces|fecal|faecal|crapper|crappers|craphead|crapheads|crapface|craphole|crapholes|crapbag|fartface|farthead|fartheads|fartbag|fartbrain|fartsniffer)",
		},
	},
	{
		// Plain toilet words: what a child says about a dog in the park
		// too ("the dog pooped"), so only for the youngest tier or the
		// strict setting, like "hell".
		ID: "profanity.mild.toilet.strict", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 1,
		StrictOnly: true,
		Stems:      []string{"poop", "*poopoo"},
		Phrases:    []string{"(poo|poos)"},
	},
	{
		// Vulgar slang for body parts and bodies, and rude compounds.
		ID: "profanity.vulgar.body", Category: sdk.CategoryProfanity, Action: sdk.ActionBlock, Severity: 2,
		Phrases: []string{
			"(trollop|trollops|strumpet|strumpets|tushy|tushie|tushies|weenie|weenies|boaby|boabie|boabies|muffs|tatas|ta tas|nards|skin flute|skinflute|pole smoker|poo stabber|poo stabbers|poostabber|poostabbers|bish|bishes|dik|diks|dikhead|dikheads|dikface|big knockers|beef curtains|beefcurtains|knob jockey|shit stabber|shit stabbers)",
		},
	},
	{
		// Sexual slang beyond sexual.explicit: acts, body parts, services.
		ID: "sexual.slang", Category: sdk.CategorySexual, Action: sdk.ActionBlock, Severity: 3,
		Squash: []string{"cum in me", "cum on me", "in the ass", "i eat ass", "i rape kids", "up the butt"},
		Phrases: []string{
			"(phallus|phallic|areola|areolas|areolae|dogging|daterape|daterapes|daterapist|date rapist|date raped|roofie|roofies|roofied|rohypnol|lovemaking|love making|foreplay|nookie|nooky|boink|boinks|boinking|boinked|shag|shags|camslut|camsluts|camwhore|camwhores|cam whore|ball gag|ballgag|ball gravy|baby batter|figging|frotting|frottage|tribade|tribades|tribadist|tribadists|furburger|fur burger|perversion|perversions|raunch|knobbing|urethra play|ponyplay|pony play|sex slave|sex slaves|sexslave|love juice|love juices|pussy juice|pussyjuice|cum dump|cumdump|cum guzzler|cumguzzler|panty|pantys|bullet vibe|cherrypopper|cherry popper|moneyshot|givehead|lovejuice|lovemuscle|love muscle|mastabate|mastabater|mastabating|mastrabate|mastrabator|mastrabating|masterbater|masterbator|masterbaiter|masterbaiting|masturbator|masturbater|suckme|suck me off|suckmeoff|suckoff|suck off|suckmytit|suck my tit|suck my tits|beatoff|beat your meat|seggs|seggsy|secks|seks|sexx|bulldike|bull dike|butchdyke|butch dyke|butchdike|buttstain|buttstains)",
			"(good|easy|great|quick) lay",
			"(mines|my dick is|my cock is|his dick is|my dicks|his dicks) [like] (4|5|6|7|8|9|10|11|12) (inch|inches)",
		},
	},
	{
		// Name-calling: words that are insults on their own. Mild, like
		// swearing: allowed for 13-17 or when a parent chose "relaxed".
		ID: "harassment.name_calling", Category: sdk.CategoryHarassment, Action: sdk.ActionRedirect, Severity: 2,
		NotRelaxed: true,
		Phrases: []string{
			"(loser|losers|idiot|idiots|moron|morons|moronic|imbecile|imbeciles|cretin|cretins|dimwit|dimwits|halfwit|halfwits|numbskull|numbskulls|numskull|numskulls|bonehead|boneheads|blockhead|meathead|meatheads|pinhead|pinheads|doofus|doofuses|dufus|twerp|twerps|dweeb|dweebs|dork|dorks|wuss|wusses|wussy|fatso|fatsos|crybaby|crybabies|sissy|sissies|schizo|schizos|psycho|psychos|nutjob|nutjobs|nutcase|nutcases|lowlife|lowlifes|lowlives|scumbucket|scumbuckets|simp|simps|lamebrain|lamebrains|pea brain|peabrain|birdbrain|birdbrains|porker|porkers|incel|incels|schmuck|schmucks|shmuck|twonk|twonks|slimeball|slimeballs|sleazeball|sleazeballs|jerkface|jerkfaces)",
			"(you|youre|you're|ur|u r|you are|your) [such|so|a|an|such a|a total|a big|a real|just a|nothing but a] (nazi|nazis|nazy|fascist|facist|fascists)",
		},
	},
	{
		ID: "harassment.wish", Category: sdk.CategoryHarassment, Action: sdk.ActionRedirect, Severity: 3,
		Phrases: []string{
			"(i hope|hope|i wish|wish|hopefully) (you|u|ur family|your family|your mom|ur mom) (get|gets|catch|catches) (cancer|aids|hit by a car|run over|shot|stabbed|killed|murdered|raped)",
			"(i hope|hope|i wish|wish) (you|u) (die|dies|died|drown|burn|rot|choke)",
			"(go|pls|please) (jump|jump out|jump off) (a|the|of a|out a|out the|off a|off the) (window|bridge|building|cliff|roof)",
			"(get|go) (cancer|aids) and die",
			"(i hate you|hateyou|i h8 u|i h8 you|i hate u)",
		},
	},
	{
		ID: "violence.more", Category: sdk.CategoryViolence, Action: sdk.ActionBlock, Severity: 3,
		Phrases: []string{
			"how (to|2|do i|do you|can i|could i) (kill|murder|poison|strangle|stab|shoot) (someone|somebody|a person|people|him|her|them|my (mom|mum|dad|brother|sister|teacher|family|parents|friend|classmate|classmates))",
			"how (to|2) murder",
			"(schoolshooting|school shooting|school shooter|shoot up the school|shoot up my school|shoot up a school)",
			"(fk|fuck|f) everyone up",
			"(cut|slit|slice) (their|his|her|your|ur|those|these) [trans|gay|black|white|female|male|disabled|muslim|jewish|immigrant|asian|brown|lesbian|queer] (throat|throats)",
			"(snap|break|wring|twist) (that|your|their|his|her|those) [trans|gay|black|white|female|male|disabled|muslim|jewish|immigrant|asian|brown|lesbian|queer] (neck|necks)",
		},
	},
	{
		ID: "self_harm.more", Category: sdk.CategorySelfHarm, Action: sdk.ActionSupport, Severity: 4, Escalate: true,
		Phrases: []string{
			"take the easy way out",
			"(burnt|burned|burning|punched|punching|starved|starving) " + self,
			"(i|ive|i've|i have|i used to|i still) [been] (cut|cutting) (for|since|again|every|daily|whenever|to cope)",
			"(my|the|of|to|an|dont|don't|do not|didnt|didn't|i|stop|after) (sh|s h) (scars|scar|urges|urge|cuts|wounds|again|relapse|habit|i|is|was)",
			"(urge|urges|temptation) (to|2) (sh|cut|self harm|burn myself|hurt myself)",
			"(relapsed|relapse|relapsing) (on|into|with) (self harm|sh|cutting)",
			"(enjoy|like|love|keep|kept|cant stop|can't stop) thinking about (being hurt|being killed|dying|my death|hurting myself|killing myself|ending it)",
			"(i|i really|i just) (want|wanna|need) (it|everything|the pain) (to|2) (end|stop) [forever]",
			"(im|i'm|i am) (going to|gonna) end it",
			"(kill|killing) (me|myself) (now|already|tonight)",
			"(thinking|thought|think) (about|of) (dying|death|ending it|suicide|killing myself|hurting myself)",
			"(i|i've|ive|i have) (starved|been starving|stopped eating) (myself|to be thin|to lose weight)",
			"(pills|pill|razor|razors|blade|blades|rope) (to|2) (end it|die|kill myself|end my life|hurt myself|cut)",
			"(nobody|no one) (cares|loves me|would care|would notice) (if i|when i) (die|died|was gone|disappeared|killed myself)",
			"(i|i just) (cant|can't|cannot) (go on|take it anymore|do this anymore|keep going)",
			"(i|i'm|im) (feel|feeling) (so) (hopeless|worthless|empty) (and|i) (want|wanna) (to) (die|disappear)",
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

// profanityStems, slurStems and sexualStems feed the loose word matcher
// (words.go). A leading '*' lets a stem match anywhere inside a word that
// is not an ordinary English word.
var profanityStems = []string{
	"*fuck", "*fuk", "*cunt", "*bitch", "*whore", "*jizz", "*bollock", "*bastard", "*motherfuck",
	"wanker", "*biatch", "*fck", "fuc", "fuq", "fvck", "shit", "shite", "sht", "dick", "cock",
	"ass", "arse", "tit", "tits", "titt", "twat", "piss", "prick", "turd", "knob", "douche",
	"slut", "*skank", "tosser", "wank", "hoe", "pussy",
	"bich", "btch", "azz", "fagot",
	"*fucc", "*fukk", "*phuk", "*phuck",
}

var slurStems = []string{
	"*nigger", "*nigga", "*niggah", "*nigguh", "*faggot", "*kike", "*wetback", "*tranny",
	"nigg", "nig", "nicca", "fag", "fagg", "fgt", "spic", "coon", "retard",
	"spaz", "gook", "negro", "kyke", "paki", "homo",
}

var sexualStems = []string{
	"*dildo", "*orgasm", "*blowjob", "*handjob", "*cumshot", "*masturbat", "*incest",
	"*pedophil", "*paedophil", "*bukkake", "*gangbang", "*boobies", "*titty", "*titties",
	"porn", "sex", "boob", "penis", "vagina", "cum", "jizm", "horny", "nude",
	"erotic", "orgy", "milf", "smut", "*felch",
}

// hateGroups are identity groups named in hateful statements (the target
// of the hate.group co-occurrence rule).
const hateGroups = "(women|woman|womens|womn|womens|females|female|girls|feminists|trans|transgender|transgenders|trans people|trans person|trans women|trans men|gay|gays|gay people|gay person|gay men|lesbians|lesbian|bisexuals|queers|homosexuals|homosexual|lgbt|lgbtq|black people|black person|blacks|black|africans|african|african americans|asians|asian|chinese|mexicans|mexican|latinos|latinas|hispanics|arabs|arab|muslims|muslim|islam|islamic|jews|jew|jewish|christians|catholics|hindus|sikhs|immigrants|immigrant|imm1grants|immigrnts|immigrnt|migrants|migrant|refugees|refugee|foreigners|foreigner|disabled|disabled people|disabled person|handicapped|cripples|autistic|autists|retards|indians|pakistanis|romanians|poles|gypsies|roma|whites|white people|white person|white man|white men|old people|elderly|fat people|their kind|your kind|those people|these people|that lot|you people)"
