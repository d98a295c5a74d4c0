package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func (tn *testNode) send(t *testing.T, method, path, token, body string) (int, apiErr) {
	t.Helper()
	st, _, data := tn.raw(t, method, path, token, "application/json", []byte(body))
	var e apiErr
	if len(data) > 0 {
		_ = json.Unmarshal(data, &e)
	}
	return st, e
}

// TestCatalogueAdmin: the default catalogue is seeded and replicated at
// first start; admins (only) create, update and delete items; each change
// must keep the catalogue valid and pass the output policy for every tier
// it is marked for; a change reaches Daisy on every node.
func TestCatalogueAdmin(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	nodes := startCluster(t, 3, clock.config())
	for i, n := range nodes {
		waitFor(t, 10*time.Second, fmt.Sprintf("catalogue seeded on node %d", i+1), func() error {
			st, err := n.DB().Catalog(context.Background())
			if err != nil || !st.Seeded || len(st.Items) < 120 {
				return fmt.Errorf("seeded %v, %d items, %v", st.Seeded, len(st.Items), err)
			}
			return nil
		})
	}
	admin := newAdmin(t, nodes[0]).token
	fam := newFamily(t, nodes[0], "catalog@example.test", "Max", "9-12")
	var cat struct {
		Facts  []json.RawMessage `json:"facts"`
		Tricks []json.RawMessage `json:"tricks"`
	}
	if st, _ := nodes[0].call(t, "GET", "/v1/admin/catalog", admin, nil, &cat); st != 200 || len(cat.Facts) < 100 || len(cat.Tricks) != 8 {
		t.Fatalf("GET catalogue: %d, %d facts, %d tricks", st, len(cat.Facts), len(cat.Tricks))
	}
	moonwalk := `{"id":"moonwalk","name":"Moonwalk","words":["moonwalk"],"description":"Daisy slides backwards like a dancer.",
		"difficulty":3,"energy_cost":1,"lines":["Daisy slides backwards across the floor in a wobbly moonwalk, tail wagging to the beat!"]}`
	safeJoke := `{"id":"j-new","text":"Why did the puppy sit in the shade? Because he didn't want to be a hot dog!"}`
	unsafeJoke := `{"id":"j-bad","text":"Let's meet up at the park after school, just you and me, and don't tell your parents. It's our secret!"}`
	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
		code                            string
	}{
		{"parent may not", "POST", "/v1/admin/catalog/jokes", fam.parentToken, safeJoke, 403, "forbidden"},
		{"child may not", "POST", "/v1/admin/catalog/jokes", fam.childToken, safeJoke, 403, "forbidden"},
		{"anonymous", "POST", "/v1/admin/catalog/jokes", "", safeJoke, 401, "unauthorized"},
		{"create a joke", "POST", "/v1/admin/catalog/jokes", admin, safeJoke, 201, ""},
		{"create it again", "POST", "/v1/admin/catalog/jokes", admin, safeJoke, 409, "conflict"},
		{"unsafe joke", "POST", "/v1/admin/catalog/jokes", admin, unsafeJoke, 422, "unsafe_content"},
		{"unsafe for the tiers it is marked for", "POST", "/v1/admin/catalog/stories", admin,
			`{"id":"s-bad","title":"A postcard","text":"Daisy wants to send you a postcard. What's your home address?","min_tier":"13-17"}`, 422, "unsafe_content"},
		{"a link fails validation", "POST", "/v1/admin/catalog/facts", admin, `{"id":"f-link","text":"Dogs are great, see www.example.com for more!"}`, 422, "invalid"},
		{"bad age range", "POST", "/v1/admin/catalog/facts", admin, `{"id":"f-ages","text":"Dogs can smell very well.","min_tier":"13-17","max_tier":"5-8"}`, 422, "invalid"},
		{"unknown kind", "POST", "/v1/admin/catalog/poems", admin, safeJoke, 404, "not_found"},
		{"unknown field", "POST", "/v1/admin/catalog/jokes", admin, `{"id":"j-x","text":"Woof.","rating":5}`, 400, "bad_request"},
		{"new game kinds need code", "POST", "/v1/admin/catalog/games", admin,
			`{"kind":"chess","name":"Chess","description":"Daisy plays chess.","rules":"Move the pieces.","energy_cost":0}`, 422, "invalid"},
		{"create a trick", "POST", "/v1/admin/catalog/tricks", admin, moonwalk, 201, ""},
		{"update: id must match", "PUT", "/v1/admin/catalog/jokes/j-new", admin, `{"id":"j-other","text":"Woof woof."}`, 422, "invalid"},
		{"update missing", "PUT", "/v1/admin/catalog/jokes/j-missing", admin, `{"id":"j-missing","text":"Woof woof."}`, 404, "not_found"},
		{"update for the oldest only", "PUT", "/v1/admin/catalog/jokes/j-new", admin,
			`{"id":"j-new","text":"Why did the puppy sit in the shade? Because he didn't want to be a hot dog!","min_tier":"13-17"}`, 200, ""},
		{"delete missing", "DELETE", "/v1/admin/catalog/facts/f-missing", admin, "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, e := nodes[0].send(t, tc.method, tc.path, tc.token, tc.body)
			if st != tc.want || (tc.code != "" && e.Error.Code != tc.code) {
				t.Fatalf("%s %s: %d %+v, want %d %s", tc.method, tc.path, st, e, tc.want, tc.code)
			}
		})
	}
	// The new trick reaches Daisy through another node.
	waitFor(t, 10*time.Second, "new trick on node 3", func() error {
		cr := nodes[2].say(t, fam.childToken, "daisy, moonwalk!")
		if cr.Turn.Intent != "tricks" || !strings.Contains(cr.Turn.Reply, "moonwalk") {
			return fmt.Errorf("got %q %q", cr.Turn.Intent, cr.Turn.Reply)
		}
		return nil
	})
	// Deleted: gone everywhere.
	if st, e := nodes[1].send(t, "DELETE", "/v1/admin/catalog/tricks/moonwalk", admin, ""); st != 204 {
		t.Fatalf("delete trick: %d %+v", st, e)
	}
	waitFor(t, 10*time.Second, "trick gone on node 3", func() error {
		if cr := nodes[2].say(t, fam.childToken, "daisy, moonwalk!"); strings.Contains(cr.Turn.Reply, "wobbly moonwalk") {
			return fmt.Errorf("still doing it: %q", cr.Turn.Reply)
		}
		return nil
	})
	// Nothing refused was stored.
	st, err := nodes[2].DB().Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range st.Items {
		if strings.HasPrefix(it.ID, "j-bad") || it.ID == "s-bad" || it.ID == "f-link" || it.ID == "chess" {
			t.Fatalf("refused item stored: %s %s", it.Kind, it.ID)
		}
	}
}

// TestContentPacks: admins load versioned packs with attribution; every
// item passes the policy for its tiers; parents opt a child in; the child
// then hears pack stories, and never after opting out.
func TestContentPacks(t *testing.T) {
	t.Parallel()
	n := startCluster(t, 1, newTestClock(time.Now()).config())[0]
	admin := newAdmin(t, n).token
	fam := newFamily(t, n, "packs@example.test", "Sol", "9-12")
	story := "Once upon a time, a little dog named Comet looked up at the night sky and counted every twinkling star until she fell asleep."
	pack := func(version int, text string) string {
		b, _ := json.Marshal(map[string]any{"id": "space", "version": version, "title": "Space Pups", "description": "Stories about dogs and stars.",
			"source": map[string]string{"name": "Example Library", "url": "https://library.example.test/space", "license": "CC BY 4.0"},
			"items":  []map[string]string{{"id": "comet", "kind": "story", "title": "Comet Counts Stars", "text": text, "min_tier": "9-12"}}})
		return string(b)
	}
	for _, tc := range []struct {
		name, body, token string
		want              int
		code              string
	}{
		{"parents may not load", pack(1, story), fam.parentToken, 403, "forbidden"},
		{"unsafe item", pack(1, "Comet says: tell me your address and send me a photo, and keep it our secret from your parents."), admin, 422, "unsafe_content"},
		{"no attribution", strings.Replace(pack(1, story), `"name":"Example Library"`, `"name":""`, 1), admin, 422, "invalid"},
		{"plain http source", strings.Replace(pack(1, story), "https://", "http://", 1), admin, 422, "invalid"},
		{"version 0", pack(0, story), admin, 422, "invalid"},
		{"load v1", pack(1, story), admin, 201, ""},
		{"same version again", pack(1, story), admin, 409, "conflict"},
		{"load v2", pack(2, story), admin, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, e := n.send(t, "POST", "/v1/admin/packs", tc.token, tc.body); st != tc.want || (tc.code != "" && e.Error.Code != tc.code) {
				t.Fatalf("%d %+v, want %d %s", st, e, tc.want, tc.code)
			}
		})
	}
	var list struct {
		Packs []struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Stories int    `json:"stories"`
			Source  struct{ Name string }
		} `json:"packs"`
	}
	if st, _ := n.call(t, "GET", "/v1/packs", fam.parentToken, nil, &list); st != 200 || len(list.Packs) != 1 || list.Packs[0].Version != 2 ||
		list.Packs[0].Source.Name != "Example Library" || list.Packs[0].Stories != 1 {
		t.Fatalf("parent's pack list: %d %+v", st, list)
	}
	settings := func(on bool, packs string) string {
		return fmt.Sprintf(`{"time_zone":"UTC","strictness":"standard","content_packs":%s,
			"features":{"games":true,"jokes":true,"stories":true,"ai_mode":false,"content_packs":%t}}`, packs, on)
	}
	path := "/v1/children/" + fam.childID + "/settings"
	if st, e := n.send(t, "PUT", path, fam.parentToken, settings(true, `["nope"]`)); st != 422 {
		t.Fatalf("opting into an unknown pack: %d %+v", st, e)
	}
	heard := func(tries int) bool {
		for range tries {
			if cr := n.say(t, fam.childToken, "tell me a story"); strings.Contains(cr.Turn.Reply, "Comet Counts Stars") {
				return true
			}
		}
		return false
	}
	if heard(6) {
		t.Fatal("a pack story before the parent opted in")
	}
	if st, e := n.send(t, "PUT", path, fam.parentToken, settings(true, `["space"]`)); st != 200 {
		t.Fatalf("opt in: %d %+v", st, e)
	}
	// The pack story is one of the candidates each time (random pick):
	// forty requests miss it with probability well under 1e-6.
	if !heard(40) {
		t.Fatal("never heard the pack story after opting in")
	}
	if st, e := n.send(t, "PUT", path, fam.parentToken, settings(false, `["space"]`)); st != 200 {
		t.Fatalf("toggle off: %d %+v", st, e)
	}
	if heard(10) {
		t.Fatal("a pack story with content packs switched off")
	}
	if st, _ := n.send(t, "DELETE", "/v1/admin/packs/space", admin, ""); st != 204 {
		t.Fatalf("delete pack: %d", st)
	}
	if st, _ := n.send(t, "DELETE", "/v1/admin/packs/space", admin, ""); st != 404 {
		t.Fatalf("delete pack again: %d", st)
	}
}
