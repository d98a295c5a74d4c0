package companion

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()
	if err := c.Validate(); err != nil {
		t.Fatalf("default catalogue invalid: %v", err)
	}
	if len(c.Facts) < 100 {
		t.Errorf("%d facts, want 100+", len(c.Facts))
	}
	if len(c.Tricks) != 8 {
		t.Errorf("%d tricks, want 8", len(c.Tricks))
	}
	if len(c.Games) != len(GameKinds()) {
		t.Errorf("%d games, want %d", len(c.Games), len(GameKinds()))
	}
	if len(Treats()) != 7 {
		t.Errorf("%d treats, want 7", len(Treats()))
	}
	want := map[string][2]int{ // difficulty, cost (the original's catalogue)
		"sit": {1, 1}, "stay": {2, 1}, "roll-over": {3, 2}, "play-dead": {3, 2},
		"spin": {2, 2}, "high-five": {2, 1}, "bow": {2, 1}, "dance": {4, 3},
	}
	for _, tr := range c.Tricks {
		if w, ok := want[tr.ID]; !ok || w != [2]int{tr.Difficulty, tr.EnergyCost} {
			t.Errorf("trick %s: difficulty %d cost %d", tr.ID, tr.Difficulty, tr.EnergyCost)
		}
	}
	for _, tier := range Tiers() {
		f := c.ForTier(tier)
		if len(f.Jokes) < 10 || len(f.Facts) < 80 || len(f.Stories) < 4 || len(f.Tricks) != 8 || len(f.Games) != 5 {
			t.Errorf("tier %s: %d jokes, %d facts, %d stories, %d tricks, %d games", tier,
				len(f.Jokes), len(f.Facts), len(f.Stories), len(f.Tricks), len(f.Games))
		}
	}
	// Fresh copies: modifying one does not touch the next.
	c.Tricks[0].Lines[0] = "changed"
	if DefaultCatalog().Tricks[0].Lines[0] == "changed" {
		t.Errorf("DefaultCatalog shares memory")
	}
}

func TestAgesAndForTier(t *testing.T) {
	tests := []struct {
		a    Ages
		in   []string
		name string
	}{
		{Ages{}, Tiers(), "open"},
		{Ages{Max: Tier5to8}, []string{Tier5to8}, "young"},
		{Ages{Min: Tier9to12}, []string{Tier9to12, Tier13to17}, "from 9"},
		{Ages{Min: Tier9to12, Max: Tier9to12}, []string{Tier9to12}, "9-12 only"},
		{Ages{Min: "nope"}, nil, "invalid"},
	}
	for _, tt := range tests {
		for _, tier := range Tiers() {
			want := contains(tt.in, tier)
			if got := tt.a.Includes(tier); got != want {
				t.Errorf("%s: Includes(%s) = %v", tt.name, tier, got)
			}
		}
	}
	// Unknown tiers are treated as the youngest, like replies.
	if !(Ages{Max: Tier5to8}).Includes("bogus") || (Ages{Min: Tier13to17}).Includes("") {
		t.Errorf("unknown tier not treated as 5-8")
	}
	c := DefaultCatalog()
	teen := c.ForTier(Tier13to17)
	for _, j := range teen.Jokes {
		if !j.Includes(Tier13to17) {
			t.Errorf("ForTier kept %s", j.ID)
		}
	}
	young := c.ForTier(Tier5to8)
	for _, s := range young.Stories {
		if s.Min != "" && s.Min != Tier5to8 {
			t.Errorf("story %s (%+v) listed for 5-8", s.ID, s.Ages)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	mod := func(f func(*Catalog)) Catalog { c := DefaultCatalog(); f(&c); return c }
	tests := []struct {
		name string
		c    Catalog
		want string
	}{
		{"dup joke", mod(func(c *Catalog) { c.Jokes = append(c.Jokes, c.Jokes[0]) }), "duplicate"},
		{"bad id", mod(func(c *Catalog) { c.Facts[0].ID = "Fact 1" }), "id"},
		{"empty text", mod(func(c *Catalog) { c.Jokes[0].Text = " " }), "empty"},
		{"url", mod(func(c *Catalog) { c.Facts[0].Text = "See www.dogs.example for more" }), "link"},
		{"email", mod(func(c *Catalog) { c.Facts[0].Text = "Write to daisy@example" }), "e-mail"},
		{"phone", mod(func(c *Catalog) { c.Jokes[0].Text = "Call 555 123 4567 for a joke" }), "phone"},
		{"too long", mod(func(c *Catalog) { c.Facts[0].Text = strings.Repeat("woof ", 100) }), "longer"},
		{"bad tier", mod(func(c *Catalog) { c.Jokes[0].Min = "4-7" }), "unknown age tier"},
		{"min above max", mod(func(c *Catalog) { c.Jokes[0].Ages = Ages{Min: Tier13to17, Max: Tier5to8} }), "above"},
		{"trick cost", mod(func(c *Catalog) { c.Tricks[0].EnergyCost = 4 }), "energy cost"},
		{"trick difficulty", mod(func(c *Catalog) { c.Tricks[0].Difficulty = 0 }), "difficulty"},
		{"trick word clash", mod(func(c *Catalog) { c.Tricks[1].Words = []string{"sit"} }), "also asks"},
		{"trick word form", mod(func(c *Catalog) { c.Tricks[1].Words = []string{"Roll-Over!"} }), "lowercase"},
		{"trick no lines", mod(func(c *Catalog) { c.Tricks[1].Lines = nil }), "no lines"},
		{"unknown game", mod(func(c *Catalog) { c.Games[0].Kind = "chess" }), "unknown kind"},
		{"game cost", mod(func(c *Catalog) { c.Games[0].EnergyCost = -1 }), "energy cost"},
		{"tier without stories", mod(func(c *Catalog) {
			var keep []Story
			for _, s := range c.Stories {
				if s.Min != "" {
					keep = append(keep, s)
				}
			}
			c.Stories = keep
		}), "tier 5-8"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
		if _, err := NewWithCatalog(tt.c); err == nil {
			t.Errorf("%s: NewWithCatalog accepted it", tt.name)
		}
	}
}

// An admin-managed catalogue changes what Daisy says and knows.
func TestCustomCatalog(t *testing.T) {
	c := DefaultCatalog()
	c.Tricks = append(c.Tricks, Trick{ID: "shake", Name: "Shake Paws", Words: []string{"shake paws", "shake"},
		Description: "Daisy shakes your hand.", Difficulty: 1, EnergyCost: 1,
		Lines: []string{"*offers a paw to shake* Pleased to greet you."}})
	c.Jokes = []Joke{{ID: "only", Text: "What do you call a dog in winter? A chilly dog!"}}
	e, err := NewWithCatalog(c)
	if err != nil {
		t.Fatal(err)
	}
	tr := e.Respond(Input{Text: "daisy, shake", Tier: Tier9to12, Now: t0}, nil)
	if tr.Reply.Intent != IntentTricks || !strings.Contains(tr.Reply.Text, "offers a paw") {
		t.Errorf("custom trick: %+v", tr.Reply)
	}
	j := e.Respond(Input{Text: "tell me a joke", Tier: Tier13to17, Now: t0}, nil)
	if !strings.Contains(j.Reply.Text, "chilly dog") {
		t.Errorf("custom joke: %q", j.Reply.Text)
	}
	// The Engine keeps its own copy.
	c.Jokes[0].Text = "changed"
	if e.Catalog().Jokes[0].Text == "changed" {
		t.Errorf("Engine shares the caller's catalogue")
	}
}

func TestCatalogJSON(t *testing.T) {
	c := DefaultCatalog()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"min_tier":"9-12"`) || strings.Contains(string(b), `"Ages"`) {
		t.Errorf("ages not flattened into items")
	}
	var back Catalog
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil || len(back.Facts) != len(c.Facts) || back.Jokes[22].Min != c.Jokes[22].Min {
		t.Errorf("round trip lost data: %v", err)
	}
}
