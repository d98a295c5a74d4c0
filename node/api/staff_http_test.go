package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/node/auth"
	"daisydog/policies/bundle"
	"daisydog/storage"
)

func TestStaffBootstrapLoginAndInvites(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")

	// The bootstrap works once, and only with the cluster's token.
	creds := map[string]string{"email": uniqueEmail("second-admin"), "password": goodPassword}
	if res := n.do(t, "POST", "/v1/admin/bootstrap", "", "", creds, "Authorization", "Bootstrap "+strings.Repeat("0", 64)); res.status != 401 {
		t.Fatalf("bootstrap with a wrong token: %d %s", res.status, res.body)
	}
	if res := n.do(t, "POST", "/v1/admin/bootstrap", "", "", creds, "Authorization", "Bootstrap "+n.BootstrapToken()); res.status != 409 || res.code() != "already_bootstrapped" {
		t.Fatalf("second bootstrap: %d %s", res.status, res.body)
	}

	n.runErrCases(t, []errCase{
		{"login without password", "POST", "/v1/admin/login", "", "", map[string]string{"email": admin.email}, 401, "invalid_credentials"},
		{"login with a wrong password", "POST", "/v1/admin/login", "", "", map[string]string{"email": admin.email, "password": "wrong horse battery staple"}, 401, "invalid_credentials"},
		{"login unknown", "POST", "/v1/admin/login", "", "", map[string]string{"email": uniqueEmail("ghost"), "password": goodPassword}, 401, "invalid_credentials"},
		{"a parent is no staff", "POST", "/v1/admin/login", "", "", map[string]string{"email": f.email, "password": goodPassword}, 401, "invalid_credentials"},
		{"mfa with both", "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": "x", "code": "123456", "recovery_code": "abc"}, 422, "invalid"},
		{"mfa with neither", "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": "x"}, 422, "invalid"},
		{"mfa with a garbage token", "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": "x", "code": "123456"}, 401, "unauthorized"},
		{"mfa with a parent token", "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": f.token, "code": "123456"}, 401, "unauthorized"},
		{"invite as parent", "POST", "/v1/admin/invites", f.token, "", map[string]string{"role": "moderator"}, 403, "forbidden"},
		{"invite a parent", "POST", "/v1/admin/invites", admin.token, "", map[string]string{"role": "parent"}, 422, "invalid"},
		{"accept with a bad role", "POST", "/v1/admin/invites/accept", "", "", map[string]string{"invite_token": "inv_x", "role": "root", "email": "a@b.test", "password": goodPassword}, 422, "invalid"},
		{"accept a malformed invite", "POST", "/v1/admin/invites/accept", "", "", map[string]string{"invite_token": "inv_x", "role": "moderator", "email": "a@b.test", "password": goodPassword}, 401, "invalid_invite"},
		{"accept an unknown invite", "POST", "/v1/admin/invites/accept", "", "", map[string]string{"invite_token": "inv_" + strings.Repeat("A", 43), "role": "moderator", "email": uniqueEmail("m"), "password": goodPassword}, 401, "invalid_invite"},
		{"list staff as parent", "GET", "/v1/admin/staff", f.token, "", nil, 403, "forbidden"},
		{"list staff anonymously", "GET", "/v1/admin/staff", "", "", nil, 401, "unauthorized"},
	})

	// A wrong TOTP code counts as a failure; a recovery code works once.
	var m struct {
		MFA      string `json:"mfa"`
		MFAToken string `json:"mfa_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/login", "", map[string]string{"email": admin.email, "password": goodPassword}, &m)
	if m.MFA != "verify" {
		t.Fatalf("enrolled admin asked to %q", m.MFA)
	}
	if res := n.do(t, "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": m.MFAToken, "code": "000000"}); res.status != 401 || res.code() != "invalid_mfa_code" {
		t.Fatalf("wrong TOTP code: %d %s", res.status, res.body)
	}
	if len(admin.recovery) == 0 {
		t.Fatal("no recovery codes left")
	}
	rc := admin.recovery[len(admin.recovery)-1]
	var tok struct {
		AccessToken string `json:"access_token"`
		Role        string `json:"role"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/mfa", "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": rc}, &tok)
	if tok.Role != "admin" || tok.AccessToken == "" {
		t.Fatalf("recovery login %+v", tok)
	}
	admin.recovery = admin.recovery[:len(admin.recovery)-1]
	if res := n.do(t, "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": m.MFAToken, "recovery_code": rc}); res.status != 401 || res.code() != "invalid_mfa_code" {
		t.Fatalf("recovery code reused: %d %s", res.status, res.body)
	}

	// An invitation is for one role.
	var inv struct {
		InviteToken string `json:"invite_token"`
		Role        string `json:"role"`
		ExpiresAt   string `json:"expires_at"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/invites", admin.token, map[string]string{"role": "moderator"}, &inv)
	if inv.Role != "moderator" || len(inv.InviteToken) != 47 {
		t.Fatalf("invite %+v", inv)
	}
	if res := n.do(t, "POST", "/v1/admin/invites/accept", "", "", map[string]string{"invite_token": inv.InviteToken, "role": "admin",
		"email": uniqueEmail("escalate"), "password": goodPassword}); res.status != 401 || res.code() != "invalid_invite" {
		t.Fatalf("moderator invite accepted as admin: %d %s", res.status, res.body)
	}
	if res := n.do(t, "POST", "/v1/admin/invites/accept", "", "", map[string]string{"invite_token": inv.InviteToken, "role": "moderator",
		"email": admin.email, "password": goodPassword}); res.status != 409 || res.code() != "conflict" {
		t.Fatalf("invite accepted with a taken address: %d %s", res.status, res.body)
	}

	mod := n.newStaff(t, "moderator")
	if len(mod.recovery) != 10 {
		t.Fatalf("%d recovery codes at enrolment, want 10", len(mod.recovery))
	}
	var list struct {
		Staff []struct {
			ID        string `json:"id"`
			Role      string `json:"role"`
			CreatedAt string `json:"created_at"`
		} `json:"staff"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/staff", admin.token, nil, &list)
	roles := map[string]string{}
	for _, s := range list.Staff {
		roles[s.ID] = s.Role
		if s.CreatedAt == "" {
			t.Errorf("staff %s without created_at", s.ID)
		}
	}
	if roles[admin.id] != "admin" || roles[mod.id] != "moderator" {
		t.Fatalf("staff list %+v", list.Staff)
	}
	if res := n.do(t, "GET", "/v1/admin/staff", mod.token, "", nil); res.status != 403 {
		t.Fatalf("moderator lists staff: %d, want 403", res.status)
	}
	if res := n.do(t, "POST", "/v1/admin/invites", mod.token, "", map[string]string{"role": "admin"}); res.status != 403 {
		t.Fatalf("moderator invites: %d, want 403", res.status)
	}

	// Staff logout ends the session at once.
	if res := n.do(t, "POST", "/v1/admin/logout", mod.token, "", `{"x":1}`); res.status != 400 {
		t.Fatalf("logout with a body field: %d", res.status)
	}
	n.must(t, http.StatusNoContent, "POST", "/v1/admin/logout", mod.token, nil, nil)
	if res := n.do(t, "GET", "/v1/moderation/flagged?reason=weekly+review", mod.token, "", nil); res.status != 401 {
		t.Fatalf("moderator after logout: %d, want 401", res.status)
	}
	// A staff token expires after 15 minutes.
	n.clock.add(auth.StaffTokenTTL + time.Minute)
	if res := n.do(t, "GET", "/v1/admin/staff", tok.AccessToken, "", nil); res.status != 401 {
		t.Fatalf("expired staff token: %d, want 401", res.status)
	}
}

func TestModerationFlaggedExcerpts(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	mod := n.newStaff(t, "moderator")
	f := n.newFamily(t, "9-12")
	for _, msg := range []string{"hello Daisy", "a man in a car asked me to come with him, my number is 07700 900123", "tell me a joke"} {
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, nil)
	}
	n.runErrCases(t, []errCase{
		{"no reason", "GET", "/v1/moderation/flagged", mod.token, "", nil, 422, "invalid"},
		{"short reason", "GET", "/v1/moderation/flagged?reason=ab", mod.token, "", nil, 422, "invalid"},
		{"long reason", "GET", "/v1/moderation/flagged?reason=" + strings.Repeat("r", 201), mod.token, "", nil, 422, "invalid"},
		{"bad limit", "GET", "/v1/moderation/flagged?reason=review&limit=51", mod.token, "", nil, 422, "invalid"},
		{"bad before", "GET", "/v1/moderation/flagged?reason=review&before=-5", mod.token, "", nil, 422, "invalid"},
		{"parent", "GET", "/v1/moderation/flagged?reason=review", f.token, "", nil, 403, "forbidden"},
		{"child", "GET", "/v1/moderation/flagged?reason=review", f.childToken, "", nil, 403, "forbidden"},
	})
	var out struct {
		Events []struct {
			ChildID    string   `json:"child_id"`
			TurnID     string   `json:"turn_id"`
			Kind       string   `json:"kind"`
			Categories []string `json:"categories"`
			Excerpt    string   `json:"excerpt"`
		} `json:"events"`
		NextBefore string `json:"next_before"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/moderation/flagged?reason=weekly+safety+review&limit=50", mod.token, nil, &out)
	var mine int
	for _, e := range out.Events {
		if e.ChildID != f.childID {
			continue
		}
		mine++
		if strings.Contains(e.Excerpt, "07700") || strings.Contains(e.Excerpt, "900123") || e.TurnID == "" || len(e.Categories) == 0 {
			t.Errorf("flagged event %+v leaks the number or lacks detail", e)
		}
	}
	if mine != 1 {
		t.Fatalf("%d flagged events of the child, want exactly the one flagged turn", mine)
	}
	// Paging: one per page, the cursor moves back in time.
	var page struct {
		Events []struct {
			EventID string `json:"event_id"`
		} `json:"events"`
		NextBefore string `json:"next_before"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/moderation/flagged?reason=paging+check&limit=1", admin.token, nil, &page)
	if len(page.Events) != 1 || page.NextBefore == "" {
		t.Fatalf("first page %+v", page)
	}
	first := page.Events[0].EventID
	n.must(t, http.StatusOK, "GET", "/v1/moderation/flagged?reason=paging+check&limit=1&before="+page.NextBefore, admin.token, nil, &page)
	if len(page.Events) == 1 && page.Events[0].EventID == first {
		t.Fatal("the next page repeats the first")
	}
}

func TestCatalogueAdmin(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")
	var cat struct {
		Jokes  []json.RawMessage `json:"jokes"`
		Facts  []json.RawMessage `json:"facts"`
		Tricks []json.RawMessage `json:"tricks"`
		Games  []json.RawMessage `json:"games"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/catalog", admin.token, nil, &cat)
	if len(cat.Jokes) == 0 || len(cat.Facts) == 0 || len(cat.Tricks) == 0 || len(cat.Games) == 0 {
		t.Fatalf("catalogue: %d jokes %d facts %d tricks %d games", len(cat.Jokes), len(cat.Facts), len(cat.Tricks), len(cat.Games))
	}
	for path, kind := range map[string]string{"jokes": "joke", "facts": "fact", "stories": "story", "tricks": "trick", "games": "game"} {
		var list struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		n.must(t, http.StatusOK, "GET", "/v1/admin/catalog/"+path, admin.token, nil, &list)
		if list.Kind != kind || len(list.Items) == 0 {
			t.Errorf("%s: kind %q, %d items", path, list.Kind, len(list.Items))
		}
	}

	joke := func(id, text string) map[string]string { return map[string]string{"id": id, "text": text} }
	safe := "Why did the puppy sit in the shade? Because he didn't want to be a hot dog!"
	id := "api-test-joke"
	n.runErrCases(t, []errCase{
		{"parent", "POST", "/v1/admin/catalog/jokes", f.token, "", joke(id, safe), 403, "forbidden"},
		{"malformed id", "POST", "/v1/admin/catalog/jokes", admin.token, "", joke("Bad ID", safe), 422, "invalid"},
		{"empty text", "POST", "/v1/admin/catalog/jokes", admin.token, "", joke(id, ""), 422, "invalid"},
		{"unknown field", "POST", "/v1/admin/catalog/jokes", admin.token, "", `{"id":"x","text":"y","punchline":"z"}`, 400, "bad_request"},
		{"unsafe joke", "POST", "/v1/admin/catalog/jokes", admin.token, "",
			joke("api-bad-joke", "Let's meet up at the park after school, just you and me, and don't tell your parents. It's our secret!"), 422, "unsafe_content"},
		{"update unknown", "PUT", "/v1/admin/catalog/jokes/no-such-joke", admin.token, "", joke("no-such-joke", safe), 404, "not_found"},
		{"delete unknown", "DELETE", "/v1/admin/catalog/facts/no-such-fact", admin.token, "", nil, 404, "not_found"},
		{"unknown game kind", "POST", "/v1/admin/catalog/games", admin.token, "",
			`{"kind":"chess","name":"Chess","description":"Daisy plays chess.","rules":"Move the pieces.","energy_cost":0}`, 422, "invalid"},
	})
	var created map[string]string
	n.must(t, http.StatusCreated, "POST", "/v1/admin/catalog/jokes", admin.token, joke(id, safe), &created)
	if created["id"] != id || created["text"] != safe {
		t.Fatalf("created %v", created)
	}
	if res := n.do(t, "POST", "/v1/admin/catalog/jokes", admin.token, "", joke(id, safe)); res.status != 409 || res.code() != "conflict" {
		t.Fatalf("create twice: %d %s", res.status, res.body)
	}
	if res := n.do(t, "PUT", "/v1/admin/catalog/jokes/"+id, admin.token, "", joke("other-id", safe)); res.status != 422 {
		t.Fatalf("update with another id: %d %s", res.status, res.body)
	}
	changed := "What do you call a dog magician? A labracadabrador!"
	n.must(t, http.StatusOK, "PUT", "/v1/admin/catalog/jokes/"+id, admin.token, joke(id, changed), nil)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/catalog/jokes", admin.token, nil, &list)
	found := false
	for _, it := range list.Items {
		if it["id"] == id {
			found = it["text"] == changed
		}
	}
	if !found {
		t.Fatal("the updated joke is not in the list")
	}
	n.must(t, http.StatusNoContent, "DELETE", "/v1/admin/catalog/jokes/"+id, admin.token, nil, nil)
	if res := n.do(t, "DELETE", "/v1/admin/catalog/jokes/"+id, admin.token, "", nil); res.status != 404 {
		t.Fatalf("delete twice: %d", res.status)
	}
	// Every kind decodes its own shape; unknown fields of one kind are refused.
	for _, c := range []struct {
		path, id, body string
	}{
		{"facts", "api-fact", `{"id":"api-fact","text":"A dog's nose print is unique, like a fingerprint.","min_tier":"5-8"}`},
		{"stories", "api-story", `{"id":"api-story","title":"The Sleepy Pup","text":"Once upon a time a sleepy pup curled up in a sunny spot and dreamed of bones."}`},
		{"tricks", "api-trick", `{"id":"api-trick","name":"Moonwalk","words":["moonwalk"],"description":"Daisy slides backwards like a dancer.","difficulty":2,"energy_cost":1,
			"lines":["Daisy slides backwards across the floor in a wobbly moonwalk!"]}`},
	} {
		var got map[string]any
		n.must(t, http.StatusCreated, "POST", "/v1/admin/catalog/"+c.path, admin.token, c.body, &got)
		if got["id"] != c.id {
			t.Errorf("%s: created %v", c.path, got)
		}
		if res := n.do(t, "POST", "/v1/admin/catalog/"+c.path, admin.token, "", `{"id":"x","rating":5}`); res.status != 400 || res.code() != "bad_request" {
			t.Errorf("%s with an unknown field: %d %s", c.path, res.status, res.body)
		}
		n.must(t, http.StatusNoContent, "DELETE", "/v1/admin/catalog/"+c.path+"/"+c.id, admin.token, nil, nil)
	}
	var games struct {
		Items []map[string]any `json:"items"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/catalog/games", admin.token, nil, &games)
	g := games.Items[0]
	g["description"] = "An updated description of the game."
	var updated map[string]any
	n.must(t, http.StatusOK, "PUT", "/v1/admin/catalog/games/"+g["kind"].(string), admin.token, g, &updated)
	if updated["description"] != "An updated description of the game." {
		t.Errorf("game update answered %v", updated)
	}

	// A tier must keep at least one trick: deleting them all stops at the last.
	// The deleted tricks are put back afterwards (other tests use them).
	var tricks struct {
		Items []json.RawMessage `json:"items"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/catalog/tricks", admin.token, nil, &tricks)
	refused := false
	var deleted []json.RawMessage
	t.Cleanup(func() {
		for _, tr := range deleted {
			if res := n.do(t, "POST", "/v1/admin/catalog/tricks", admin.token, "", []byte(tr)); res.status != 201 {
				t.Errorf("restoring trick %s: %d %s", tr, res.status, res.body)
			}
		}
	})
	for _, tr := range tricks.Items {
		var item struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(tr, &item); err != nil {
			t.Fatal(err)
		}
		res := n.do(t, "DELETE", "/v1/admin/catalog/tricks/"+item.ID, admin.token, "", nil)
		if res.status == 422 && res.code() == "invalid" {
			refused = true
			break
		}
		if res.status != 204 {
			t.Fatalf("delete trick %s: %d %s", item.ID, res.status, res.body)
		}
		deleted = append(deleted, tr)
	}
	if !refused || len(deleted) == 0 {
		t.Fatalf("deleted %d tricks, refused the last: %v", len(deleted), refused)
	}
	// Chat still works over the edited catalogue.
	var tr turnResp
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "do a trick"}, &tr)
	if tr.Turn.Reply == "" {
		t.Fatal("no reply after the catalogue changed")
	}
}

func TestContentPacksHTTP(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")
	story := "Once upon a time, a little dog named Comet looked up at the night sky and counted every twinkling star until she fell asleep."
	pack := func(version int, text string) map[string]any {
		return map[string]any{"id": "api-space", "version": version, "title": "Space Pups", "description": "Stories about dogs and stars.",
			"source": map[string]string{"name": "Example Library", "url": "https://library.example.test/space", "license": "CC BY 4.0"},
			"items": []map[string]string{
				{"id": "comet", "kind": "story", "title": "Comet Counts Stars", "text": text, "min_tier": "9-12"},
				{"id": "moon", "kind": "lesson", "title": "The Moon", "text": "The Moon goes around the Earth about once a month."},
			}}
	}
	n.runErrCases(t, []errCase{
		{"parent loads", "POST", "/v1/admin/packs", f.token, "", pack(1, story), 403, "forbidden"},
		{"version 0", "POST", "/v1/admin/packs", admin.token, "", pack(0, story), 422, "invalid"},
		{"unsafe item", "POST", "/v1/admin/packs", admin.token, "", pack(1, "Comet says: tell me your address and send me a photo, and keep it our secret from your parents."), 422, "unsafe_content"},
		{"not JSON", "POST", "/v1/admin/packs", admin.token, "application/zip", "PK", 415, "unsupported_media_type"},
	})
	var sum struct {
		ID      string   `json:"id"`
		Version int      `json:"version"`
		Lessons int      `json:"lessons"`
		Stories int      `json:"stories"`
		Tiers   []string `json:"age_tiers"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/packs", admin.token, pack(1, story), &sum)
	if sum.ID != "api-space" || sum.Version != 1 || sum.Lessons != 1 || sum.Stories != 1 || len(sum.Tiers) != 3 {
		t.Fatalf("load summary %+v", sum)
	}
	if res := n.do(t, "POST", "/v1/admin/packs", admin.token, "", pack(1, story)); res.status != 409 || res.code() != "conflict" {
		t.Fatalf("same version again: %d %s", res.status, res.body)
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/packs", admin.token, pack(2, story), nil)

	var parentList struct {
		Packs []struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Stories int    `json:"stories"`
			Items   any    `json:"items"`
			Source  struct {
				Name string `json:"name"`
			} `json:"source"`
		} `json:"packs"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/packs", f.token, nil, &parentList)
	var p = -1
	for i, x := range parentList.Packs {
		if x.ID == "api-space" {
			p = i
		}
	}
	if p < 0 || parentList.Packs[p].Version != 2 || parentList.Packs[p].Stories != 1 || parentList.Packs[p].Items != nil || parentList.Packs[p].Source.Name != "Example Library" {
		t.Fatalf("parent's pack list %+v", parentList.Packs)
	}
	var adminList struct {
		Packs []struct {
			ID    string `json:"id"`
			Items []struct {
				Text string `json:"text"`
			} `json:"items"`
		} `json:"packs"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/packs", admin.token, nil, &adminList)
	full := false
	for _, x := range adminList.Packs {
		full = full || (x.ID == "api-space" && len(x.Items) == 2 && x.Items[0].Text == story)
	}
	if !full {
		t.Fatalf("admin's pack list lacks the items: %+v", adminList.Packs)
	}
	if res := n.do(t, "GET", "/v1/admin/packs", f.token, "", nil); res.status != 403 {
		t.Fatalf("parent reads the admin list: %d", res.status)
	}

	// Opted in, a story request may be answered from the pack.
	settings := map[string]any{"time_zone": "UTC", "strictness": "standard", "content_packs": []string{"api-space"},
		"features": map[string]bool{"games": true, "jokes": true, "stories": true, "content_packs": true}}
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token, settings, nil)
	heard := false
	for i := 0; i < 40 && !heard; i++ {
		var tr turnResp
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "tell me a story"}, &tr)
		heard = strings.Contains(tr.Turn.Reply, "Comet Counts Stars")
	}
	if !heard {
		t.Fatal("never heard the pack story in 40 story requests after opting in")
	}

	n.must(t, http.StatusNoContent, "DELETE", "/v1/admin/packs/api-space", admin.token, nil, nil)
	if res := n.do(t, "DELETE", "/v1/admin/packs/api-space", admin.token, "", nil); res.status != 404 {
		t.Fatalf("delete twice: %d", res.status)
	}
}

func TestPolicyAdminValidation(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")
	n.runErrCases(t, []errCase{
		{"parent pushes", "POST", "/v1/admin/policies", f.token, "application/octet-stream", "x", 403, "forbidden"},
		{"JSON instead of a bundle", "POST", "/v1/admin/policies", admin.token, "application/json", `{}`, 415, "unsupported_media_type"},
		{"bad activate", "POST", "/v1/admin/policies?activate=maybe", admin.token, "application/octet-stream", "x", 400, "bad_request"},
		{"empty bundle", "POST", "/v1/admin/policies", admin.token, "application/octet-stream", "", 400, "bad_request"},
		{"garbage bundle", "POST", "/v1/admin/policies?activate=false", admin.token, "application/octet-stream", "not a bundle", 422, "policy_refused"},
		{"oversized bundle", "POST", "/v1/admin/policies", admin.token, "application/octet-stream", strings.Repeat("x", bundle.MaxCompressed+1), 413, "too_large"},
		{"activate a bad id", "POST", "/v1/admin/policies/nonsense/activate", admin.token, "", nil, 422, "invalid"},
		{"activate an unknown id", "POST", "/v1/admin/policies/ghost@1.0.0/activate", admin.token, "", nil, 404, "not_found"},
		{"shadow a bad id", "POST", "/v1/admin/policies/nonsense/shadow", admin.token, "", nil, 422, "invalid"},
		{"shadow an unknown id", "POST", "/v1/admin/policies/ghost@1.0.0/shadow", admin.token, "", nil, 404, "not_found"},
		{"unstage a bad id", "DELETE", "/v1/admin/policies/nonsense", admin.token, "", nil, 422, "invalid"},
		{"unstage an unknown id", "DELETE", "/v1/admin/policies/ghost@1.0.0", admin.token, "", nil, 404, "not_found"},
		{"nothing to roll back", "POST", "/v1/admin/policy-rollback", admin.token, "", nil, 409, "nothing_to_roll_back"},
		{"trust garbage", "POST", "/v1/admin/policy-keys", admin.token, "", map[string]string{"public_key_pem": "not a key"}, 422, "invalid"},
		{"revoke a bad kid", "DELETE", "/v1/admin/policy-keys/XYZ", admin.token, "", nil, 422, "invalid"},
	})
	var st struct {
		Node        string   `json:"node"`
		Active      string   `json:"active"`
		TrustedKeys []string `json:"trusted_keys"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/policies", admin.token, nil, &st)
	if st.Node != "n1" || st.Active == "" {
		t.Fatalf("policy status %+v", st)
	}
	var shadow struct {
		Index uint64 `json:"index"`
	}
	n.must(t, http.StatusOK, "DELETE", "/v1/admin/policy-shadow", admin.token, nil, &shadow)

	// Trusting and revoking a key.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var trusted struct {
		KeyID string `json:"key_id"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/policy-keys", admin.token, map[string]string{"public_key_pem": string(pemKey)}, &trusted)
	if len(trusted.KeyID) != 16 {
		t.Fatalf("key id %q", trusted.KeyID)
	}
	n.must(t, http.StatusOK, "GET", "/v1/admin/policies", admin.token, nil, &st)
	listed := false
	for _, k := range st.TrustedKeys {
		listed = listed || strings.Contains(k, trusted.KeyID)
	}
	if !listed {
		t.Fatalf("trusted keys %v lack %s", st.TrustedKeys, trusted.KeyID)
	}
	var revoked map[string]any
	n.must(t, http.StatusOK, "DELETE", "/v1/admin/policy-keys/"+trusted.KeyID, admin.token, nil, &revoked)
	if revoked["revoked"] != trusted.KeyID || revoked["warning"] != nil {
		t.Fatalf("revoke answer %v", revoked)
	}
}

// The moderation queue has an end: a moderator records an outcome for
// each flagged turn (a fixed list, no free text); open and reviewed lists,
// the summary and the metrics follow; every review is audit-logged; a
// later review replaces the earlier one; wrong input is refused.
func TestModerationReviewQueue(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	mod := n.newStaff(t, "moderator")
	f := n.newFamily(t, "9-12")
	type summary struct {
		Open           int            `json:"open"`
		OpenByKind     map[string]int `json:"open_by_kind"`
		OpenByCategory map[string]int `json:"open_by_category"`
		OldestOpenAt   *string        `json:"oldest_open_at"`
		Reviewed       map[string]int `json:"reviewed_by_outcome"`
		FalsePositives map[string]int `json:"false_positives_by_policy"`
		Outcomes       []string       `json:"outcomes"`
	}
	var before summary
	n.must(t, http.StatusOK, "GET", "/v1/moderation/summary", mod.token, nil, &before)
	for _, msg := range []string{"a man in a car asked me to come with him", "I want to kill myself"} {
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, nil)
	}
	type event struct {
		EventID string `json:"event_id"`
		ChildID string `json:"child_id"`
		Review  *struct {
			Outcome    string `json:"outcome"`
			ReviewedAt string `json:"reviewed_at"`
			ReviewedBy string `json:"reviewed_by"`
		} `json:"review"`
	}
	list := func(status string) []event {
		t.Helper()
		var out struct{ Events []event }
		n.must(t, http.StatusOK, "GET", "/v1/moderation/flagged?reason=queue+check&limit=50&status="+status, mod.token, nil, &out)
		var mine []event
		for _, e := range out.Events {
			if e.ChildID == f.childID {
				mine = append(mine, e)
			}
		}
		return mine
	}
	open := list("open")
	if len(open) != 2 || open[0].Review != nil {
		t.Fatalf("open events of the child: %+v", open)
	}
	var s summary
	n.must(t, http.StatusOK, "GET", "/v1/moderation/summary?days=7", admin.token, nil, &s)
	if s.Open != before.Open+2 || s.OpenByCategory["self_harm"] < 1 || s.OldestOpenAt == nil || len(s.Outcomes) != 4 {
		t.Fatalf("summary with two more open: %+v (before %+v)", s, before)
	}

	reviewPath := "/v1/moderation/events/" + open[0].EventID + "/review"
	n.runErrCases(t, []errCase{
		{"unknown outcome", "POST", reviewPath, mod.token, "", map[string]string{"outcome": "ignore"}, 422, "invalid"},
		{"no outcome", "POST", reviewPath, mod.token, "", map[string]string{}, 422, "invalid"},
		{"a note (free text is not taken)", "POST", reviewPath, mod.token, "", map[string]string{"outcome": "no_action", "note": "called mum"}, 400, "bad_request"},
		{"malformed JSON", "POST", reviewPath, mod.token, "", []byte(`{"outcome":`), 400, "bad_request"},
		{"unknown event", "POST", "/v1/moderation/events/ev_nope/review", mod.token, "", map[string]string{"outcome": "no_action"}, 404, "not_found"},
		{"parent", "POST", reviewPath, f.token, "", map[string]string{"outcome": "no_action"}, 403, "forbidden"},
		{"child", "POST", reviewPath, f.childToken, "", map[string]string{"outcome": "no_action"}, 403, "forbidden"},
		{"no token", "POST", reviewPath, "", "", map[string]string{"outcome": "no_action"}, 401, "unauthorized"},
		{"summary: bad days", "GET", "/v1/moderation/summary?days=0", mod.token, "", nil, 422, "invalid"},
		{"summary: parent", "GET", "/v1/moderation/summary", f.token, "", nil, 403, "forbidden"},
		{"list: unknown status", "GET", "/v1/moderation/flagged?reason=queue+check&status=closed", mod.token, "", nil, 422, "invalid"},
	})
	if got := list("open"); len(got) != 2 {
		t.Fatalf("refused reviews closed events: %+v", got)
	}

	var rv struct {
		EventID string `json:"event_id"`
		Review  struct {
			Outcome    string `json:"outcome"`
			ReviewedBy string `json:"reviewed_by"`
		} `json:"review"`
	}
	n.must(t, http.StatusOK, "POST", reviewPath, admin.token, map[string]string{"outcome": "no_action"}, &rv)
	n.must(t, http.StatusOK, "POST", reviewPath, mod.token, map[string]string{"outcome": "false_positive"}, &rv) // replaces
	if rv.EventID != open[0].EventID || rv.Review.Outcome != "false_positive" || rv.Review.ReviewedBy == "" {
		t.Fatalf("review answer %+v", rv)
	}
	if got := list("open"); len(got) != 1 || got[0].EventID != open[1].EventID {
		t.Fatalf("open after one review: %+v", got)
	}
	if got := list("reviewed"); len(got) != 1 || got[0].Review == nil || got[0].Review.Outcome != "false_positive" || got[0].Review.ReviewedAt == "" {
		t.Fatalf("reviewed list: %+v", got)
	}
	if got := list(""); len(got) != 2 {
		t.Fatalf("the default lists every event: %+v", got)
	}
	n.must(t, http.StatusOK, "GET", "/v1/moderation/summary", mod.token, nil, &s)
	if s.Open != before.Open+1 || s.Reviewed["false_positive"] != before.Reviewed["false_positive"]+1 || len(s.FalsePositives) == 0 {
		t.Fatalf("summary after the review: %+v (before %+v)", s, before)
	}
	var m struct {
		Moderation struct {
			Open int `json:"open_events"`
		} `json:"moderation"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/metrics", "", nil, &m)
	if m.Moderation.Open != s.Open {
		t.Fatalf("moderation metrics %+v, summary open %d", m.Moderation, s.Open)
	}
	tail, err := n.DB().AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 20)
	if err != nil {
		t.Fatal(err)
	}
	var reviews []string
	for _, e := range tail {
		if strings.HasPrefix(e.Action, "review_safety_event:") && e.Target == "event:"+open[0].EventID && strings.HasPrefix(e.Actor, "staff:") {
			reviews = append(reviews, e.Action)
		}
	}
	if want := []string{"review_safety_event:false_positive", "review_safety_event:no_action"}; !slices.Equal(reviews, want) {
		t.Fatalf("review audit entries %v, want %v (newest first)", reviews, want)
	}
}

// Assignment over HTTP: a moderator takes an event and lists their own;
// another moderator is told who holds it and can neither take nor review
// it; an administrator hands it over; every refusal has its status and
// code; a reviewed event cannot be assigned; the summary counts holders.
func TestModerationAssignmentHTTP(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	mod1, mod2 := n.newStaff(t, "moderator"), n.newStaff(t, "moderator")
	f := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "I want to kill myself"}, nil)
	type event struct {
		EventID    string `json:"event_id"`
		ChildID    string `json:"child_id"`
		Assignment *struct {
			AssignedTo string `json:"assigned_to"`
			AssignedAt string `json:"assigned_at"`
		} `json:"assignment"`
	}
	list := func(who *staff, assigned string) []event {
		t.Helper()
		var out struct{ Events []event }
		n.must(t, http.StatusOK, "GET", "/v1/moderation/flagged?reason=queue+check&status=open&limit=50&assigned="+assigned, who.token, nil, &out)
		var mine []event
		for _, e := range out.Events {
			if e.ChildID == f.childID {
				mine = append(mine, e)
			}
		}
		return mine
	}
	open := list(mod1, "none")
	if len(open) != 1 || open[0].Assignment != nil {
		t.Fatalf("unassigned events of the child: %+v", open)
	}
	ev := open[0].EventID
	path := "/v1/moderation/events/" + ev + "/assign"
	var got struct {
		EventID    string `json:"event_id"`
		Assignment *struct {
			AssignedTo string `json:"assigned_to"`
			AssignedAt string `json:"assigned_at"`
		} `json:"assignment"`
	}
	n.must(t, http.StatusOK, "POST", path, mod1.token, map[string]string{"assignee": "me"}, &got)
	if got.EventID != ev || got.Assignment == nil || got.Assignment.AssignedTo != mod1.id || got.Assignment.AssignedAt == "" {
		t.Fatalf("take: %+v", got)
	}
	if mine := list(mod1, "me"); len(mine) != 1 || mine[0].Assignment == nil || mine[0].Assignment.AssignedTo != mod1.id {
		t.Fatalf("mod1's events: %+v", mine)
	}
	if len(list(mod2, "me")) != 0 || len(list(mod2, "none")) != 0 || len(list(mod2, mod1.id)) != 1 {
		t.Fatal("the lists by holder do not match the assignment")
	}
	n.runErrCases(t, []errCase{
		{"taken by another", "POST", path, mod2.token, "", map[string]string{"assignee": "me"}, 409, "event_assigned"},
		{"releasing another's", "POST", path, mod2.token, "", map[string]string{"assignee": ""}, 409, "event_assigned"},
		{"reviewing another's", "POST", "/v1/moderation/events/" + ev + "/review", mod2.token, "", map[string]string{"outcome": "no_action"}, 409, "event_assigned"},
		{"a moderator assigning someone else", "POST", path, mod1.token, "", map[string]string{"assignee": mod2.id}, 403, "forbidden"},
		{"no assignee", "POST", path, mod1.token, "", map[string]string{}, 422, "invalid"},
		{"not a staff ID", "POST", path, admin.token, "", map[string]string{"assignee": "bob"}, 422, "invalid"},
		{"an unknown staff ID", "POST", path, admin.token, "", map[string]string{"assignee": "st_0123456789abcdef"}, 422, "invalid"},
		{"unknown event", "POST", "/v1/moderation/events/ev_nope/assign", mod1.token, "", map[string]string{"assignee": "me"}, 404, "not_found"},
		{"malformed JSON", "POST", path, mod1.token, "", []byte(`{"assignee":`), 400, "bad_request"},
		{"parent", "POST", path, f.token, "", map[string]string{"assignee": "me"}, 403, "forbidden"},
		{"child", "POST", path, f.childToken, "", map[string]string{"assignee": "me"}, 403, "forbidden"},
		{"list: bad holder", "GET", "/v1/moderation/flagged?reason=queue+check&assigned=bob", mod1.token, "", nil, 422, "invalid"},
	})
	res := n.do(t, "POST", path, mod2.token, "", map[string]string{"assignee": "me"})
	if !strings.Contains(string(res.body), mod1.id) {
		t.Fatalf("the conflict does not say who holds the event: %s", res.body)
	}

	n.must(t, http.StatusOK, "POST", path, admin.token, map[string]string{"assignee": mod2.id}, &got)
	if got.Assignment == nil || got.Assignment.AssignedTo != mod2.id {
		t.Fatalf("handed over: %+v", got)
	}
	var s struct {
		OpenUnassigned int            `json:"open_unassigned"`
		OpenByAssignee map[string]int `json:"open_by_assignee"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/moderation/summary", mod1.token, nil, &s)
	if s.OpenByAssignee[mod2.id] != 1 || s.OpenByAssignee[mod1.id] != 0 {
		t.Fatalf("summary by holder: %+v", s)
	}
	n.must(t, http.StatusOK, "POST", "/v1/moderation/events/"+ev+"/review", mod2.token, map[string]string{"outcome": "parent_contacted"}, nil)
	n.runErrCases(t, []errCase{
		{"a reviewed event", "POST", path, admin.token, "", map[string]string{"assignee": "me"}, 409, "event_reviewed"},
	})

	tail, err := n.DB().AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 20)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range tail {
		if e.Target == "event:"+ev && (strings.HasPrefix(e.Action, "assign_") || strings.HasPrefix(e.Action, "review_")) {
			acts = append(acts, e.Actor+" "+e.Action)
		}
	}
	want := []string{"staff:" + mod2.id + " review_safety_event:parent_contacted", "staff:" + admin.id + " assign_safety_event:staff:" + mod2.id,
		"staff:" + mod1.id + " assign_safety_event:staff:" + mod1.id}
	if !slices.Equal(acts, want) {
		t.Fatalf("audit %v, want %v (newest first)", acts, want)
	}
}

// A safety hold over HTTP: a moderator stops a child's chat (every child
// route answers 423 safety_hold, pointing to help), the parent sees the
// hold but cannot lift it, nothing is lost, and lifting it lets the child
// chat again; refusals have their status and code; both changes are
// audit-logged.
func TestSafetyHoldHTTP(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	mod := n.newStaff(t, "moderator")
	f := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello daisy"}, nil)
	path := "/v1/moderation/children/" + f.childID + "/hold"
	type holdAnswer struct {
		ChildID    string `json:"child_id"`
		SafetyHold *struct {
			Reason string `json:"reason"`
			Since  string `json:"since"`
			By     string `json:"by"`
		} `json:"safety_hold"`
	}
	var got holdAnswer
	n.must(t, http.StatusOK, "PUT", path, mod.token, map[string]string{"reason": "under_review"}, &got)
	if got.ChildID != f.childID || got.SafetyHold == nil || got.SafetyHold.Reason != "under_review" || got.SafetyHold.By != mod.id || got.SafetyHold.Since == "" {
		t.Fatalf("place: %+v", got)
	}
	res := n.do(t, "POST", "/v1/chat", f.childToken, "", map[string]string{"message": "are you there?"})
	if res.status != http.StatusLocked || !strings.Contains(string(res.body), `"safety_hold"`) || !strings.Contains(string(res.body), "emergency") {
		t.Fatalf("chat on hold: %d %s", res.status, res.body)
	}
	var kids struct {
		Children []struct {
			ID         string `json:"id"`
			SafetyHold *struct {
				Reason string `json:"reason"`
				By     string `json:"by"`
			} `json:"safety_hold"`
		} `json:"children"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/children", f.token, nil, &kids)
	if len(kids.Children) != 1 || kids.Children[0].SafetyHold == nil || kids.Children[0].SafetyHold.Reason != "under_review" || kids.Children[0].SafetyHold.By != "" {
		t.Fatalf("the parent's view of the hold: %+v", kids)
	}
	n.runErrCases(t, []errCase{
		{"child routes on hold", "GET", "/v1/chat", f.childToken, "", nil, 423, "safety_hold"},
		{"the parent cannot lift it", "DELETE", path, f.token, "", nil, 403, "forbidden"},
		{"the child cannot lift it", "DELETE", path, f.childToken, "", nil, 403, "forbidden"},
		{"unknown reason", "PUT", path, mod.token, "", map[string]string{"reason": "punished"}, 422, "invalid"},
		{"free text is not taken", "PUT", path, mod.token, "", map[string]string{"reason": "under_review", "note": "x"}, 400, "bad_request"},
		{"unknown child", "PUT", "/v1/moderation/children/ch_nope/hold", mod.token, "", map[string]string{"reason": "under_review"}, 404, "not_found"},
		{"no token", "PUT", path, "", "", map[string]string{"reason": "under_review"}, 401, "unauthorized"},
	})
	n.must(t, http.StatusOK, "DELETE", path, admin.token, nil, &got)
	if got.SafetyHold != nil {
		t.Fatalf("lift: %+v", got)
	}
	var hist struct {
		Turns []struct {
			Message string `json:"message"`
		} `json:"turns"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat", f.childToken, nil, &hist)
	if len(hist.Turns) != 1 || hist.Turns[0].Message != "hello daisy" {
		t.Fatalf("history after the hold: %+v", hist)
	}
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "back again"}, nil)

	tail, err := n.DB().AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 30)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range tail {
		if e.Target == "child:"+f.childID && strings.Contains(e.Action, "safety_hold") {
			acts = append(acts, e.Actor+" "+e.Action)
		}
	}
	want := []string{"staff:" + admin.id + " lift_safety_hold:under_review", "staff:" + mod.id + " place_safety_hold:under_review"}
	if !slices.Equal(acts, want) {
		t.Fatalf("audit %v, want %v (newest first)", acts, want)
	}
}
