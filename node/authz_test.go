package node

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"daisydog/node/api"
	"daisydog/node/auth"
	"daisydog/storage"
)

// TestAuthorizationMatrix is generated from the API's own route table:
// every authenticated endpoint × every kind of caller × (for endpoints
// that name a family's object) {own object, another family's, a
// non-existent ID}. A caller without the route's role is refused (401
// without a valid token, 403 with another role's token); on an object
// route only the owner gets data and everyone else gets exactly the answer
// for a missing object (404), so IDs reveal nothing. A new endpoint is
// covered the moment it is registered; one that needs a request body to
// succeed must add a sample below.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, clock.config())[0]
	admin := newAdmin(t, n)
	mod := newModerator(t, n, admin, clock)
	a := newFamily(t, n, "matrix-a@example.test", "Alpha", "9-12")
	b := newFamily(t, n, "matrix-b@example.test", "Bravo", "5-8")
	for _, f := range []family{a, b} {
		if st, _ := n.chat(t, f.childToken, "hello daisy"); st != 200 {
			t.Fatal(st)
		}
	}
	samples := map[string]any{
		"POST /v1/children": map[string]string{"nickname": "Cleo", "age_tier": "9-12"},
		"PUT /v1/children/:id/settings": map[string]any{"daily_limit_minutes": 90, "time_zone": "UTC", "strictness": "standard",
			"features": map[string]bool{"games": true, "jokes": true, "stories": true}},
		"POST /v1/chat":                           map[string]string{"message": "hello"},
		"POST /v1/games":                          map[string]string{"kind": "number_guess"},
		"POST /v1/games/current/moves":            map[string]string{"move": "5"},
		"POST /v1/admin/invites":                  map[string]string{"role": "moderator"},
		"GET /v1/moderation/flagged":              "?reason=matrix+test",
		"POST /v1/moderation/events/:id/review":   map[string]string{"outcome": "no_action"},
		"POST /v1/moderation/events/:id/assign":   map[string]string{"assignee": "me"},
		"PUT /v1/moderation/children/:id/hold":    map[string]string{"reason": "under_review"},
		"DELETE /v1/moderation/children/:id/hold": nil,
		"POST /v1/auth/logout":                    nil,
		"POST /v1/auth/logout-all":                nil,
		"POST /v1/admin/logout":                   nil,
		"POST /v1/children/:id/link-codes":        nil,
		"POST /v1/children/:id/consent":           map[string]string{"notice_version": api.PrivacyNoticeVersion},
		"DELETE /v1/children/:id/consent":         nil,
		"PUT /v1/admin/retention":                 map[string]int{"turns_days": 180, "safety_days": 365, "sessions_days": 30},
		"DELETE /v1/children/:id/devices/:device": nil,
		"DELETE /v1/children/:id":                 nil,
		"DELETE /v1/family":                       map[string]string{"password": "not checked by the matrix"},
	}
	// Routes whose allowed callers would destroy the fixtures; their role
	// gating is still checked here, their effect in their own tests.
	destructive := map[string]bool{"DELETE /v1/family": true}
	parentLogin := func(email string) func() string {
		return func() string {
			var login struct {
				AccessToken string `json:"access_token"`
			}
			if st, _ := n.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "correct horse battery staple"}, &login); st != 200 {
				t.Fatalf("login %s: %d", email, st)
			}
			return login.AccessToken
		}
	}
	staffLogin := func(s *staffAccount) func() string {
		return func() string {
			clock.add(auth.TOTPPeriod) // a fresh TOTP step for every login
			n.staffLogin(t, s)
			return s.token
		}
	}
	loginA, loginB := parentLogin("matrix-a@example.test"), parentLogin("matrix-b@example.test")
	forged := a.parentToken[:len(a.parentToken)-4] + "AAAA"
	type caller struct {
		name  string
		role  storage.Role // "" = no valid token
		token func() string
	}
	callers := []caller{
		{"anonymous", "", func() string { return "" }},
		{"forged", "", func() string { return forged }},
		{"parent A", storage.RoleParent, loginA},
		{"parent B", storage.RoleParent, loginB},
		{"child A", storage.RoleChild, func() string { return a.childToken }},
		{"child B", storage.RoleChild, func() string { return b.childToken }},
		{"admin", storage.RoleAdmin, staffLogin(admin)},
		{"moderator", storage.RoleModerator, staffLogin(mod)},
	}
	missingChild := "ch_" + strings.Repeat("0", 32)
	missingDevice := "dv_" + strings.Repeat("0", 32)
	// objects returns, for a route path, the objects to try and who owns each.
	type object struct {
		name, owner string // owner: "parent A", "parent B" or "" (nobody)
		path        func() string
	}
	objects := func(method, path string) []object {
		sub := func(child, device string) string {
			return strings.NewReplacer(":id", child, ":device", device).Replace(path)
		}
		switch {
		case strings.HasPrefix(path, "/v1/moderation/children/"):
			// A safety hold stops the child's devices: a fresh spare child
			// per call, so the callers' own child tokens keep working.
			return []object{
				{"A's child", "parent A", func() string { return sub(spareChild(t, n, loginA()), "") }},
				{"B's child", "parent B", func() string { return sub(spareChild(t, n, loginB()), "") }},
				{"missing child", "", func() string { return sub(missingChild, "") }},
			}
		case strings.Contains(path, ":device"):
			// A fresh spare device per call: revoking it must not disturb the callers' own devices.
			return []object{
				{"A's device", "parent A", func() string { return sub(a.childID, spareDevice(t, n, a, loginA())) }},
				{"B's device", "parent B", func() string { return sub(b.childID, spareDevice(t, n, b, loginB())) }},
				{"missing device", "", func() string { return sub(a.childID, missingDevice) }},
			}
		case strings.Contains(path, ":id") && method == "DELETE":
			// Deleting: a fresh spare child per call, so the callers' own children stay.
			return []object{
				{"A's child", "parent A", func() string { return sub(spareChild(t, n, loginA()), "") }},
				{"B's child", "parent B", func() string { return sub(spareChild(t, n, loginB()), "") }},
				{"missing child", "", func() string { return sub(missingChild, "") }},
			}
		case strings.Contains(path, ":id"):
			return []object{
				{"A's child", "parent A", func() string { return sub(a.childID, "") }},
				{"B's child", "parent B", func() string { return sub(b.childID, "") }},
				{"missing child", "", func() string { return sub(missingChild, "") }},
			}
		}
		return []object{{"", "", func() string { return path }}}
	}

	routes := n.Routes()
	covered := 0
	for _, rt := range routes {
		if rt.Roles == nil {
			continue // public: sign-up, login, link redemption, health, JWKS (tested on their own)
		}
		key := rt.Method + " " + rt.Path
		sample, hasSample := samples[key]
		for _, c := range callers {
			if c.role == storage.RoleParent && destructive[key] {
				continue // would delete the matrix's own families: see TestFamilyExportAndDeletion
			}
			for _, obj := range objects(rt.Method, rt.Path) {
				name := fmt.Sprintf("%s as %s on %s", key, c.name, obj.name)
				t.Run(name, func(t *testing.T) {
					path := obj.path()
					var body any
					switch s := sample.(type) {
					case string:
						path += s
					default:
						body = s
					}
					if body == nil && (rt.Method == "POST" || rt.Method == "PUT") && !hasSample {
						body = map[string]string{}
					}
					st, _, resp := n.raw(t, rt.Method, path, c.token(), "application/json", marshal(t, body))
					allowed := slices.Contains(rt.Roles, c.role)
					switch {
					case c.role == "":
						expectStatus(t, st, 401, resp)
					case !allowed:
						expectStatus(t, st, 403, resp)
					case obj.name != "" && obj.owner != c.name && !(staffActsOnAny(rt.Path) && obj.owner != ""):
						expectStatus(t, st, 404, resp)
					case obj.name != "":
						if !hasSample && rt.Method != "GET" {
							t.Fatalf("add a sample request body for %s so its owner case can succeed", key)
						}
						if st < 200 || st > 299 {
							t.Fatalf("owner got %d: %s", st, resp)
						}
					default:
						if st == 401 || st == 403 || st == 404 || st >= 500 {
							t.Fatalf("allowed caller got %d: %s", st, resp)
						}
					}
					if st >= 400 {
						// Refusals never carry another family's data.
						for _, leak := range []string{"Alpha", "Bravo", "hello daisy"} {
							if strings.Contains(string(resp), leak) {
								t.Fatalf("refusal leaks %q: %s", leak, resp)
							}
						}
					}
				})
			}
		}
		covered++
	}
	if covered < 20 {
		t.Fatalf("only %d authenticated routes in the matrix: is the route table empty?", covered)
	}
	t.Logf("authorisation matrix: %d authenticated routes × %d callers", covered, len(callers))

	// Listing shows only the caller's own children.
	var list struct{ Children []struct{ ID string } }
	if st, _ := n.call(t, "GET", "/v1/children", parentLogin("matrix-a@example.test")(), nil, &list); st != 200 || !slices.ContainsFunc(list.Children, func(c struct{ ID string }) bool { return c.ID == a.childID }) {
		t.Fatalf("parent A's list: %d %+v", st, list)
	}
	for _, c := range list.Children {
		if c.ID == b.childID {
			t.Fatal("parent A's list holds B's child")
		}
	}
}

func expectStatus(t *testing.T, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("got %d, want %d: %s", got, want, body)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spareDevice links one more device to a family's child and returns its ID.
func spareDevice(t *testing.T, n *testNode, f family, parentToken string) string {
	t.Helper()
	list := func() map[string]bool {
		var devs struct {
			Devices []struct {
				ID string `json:"id"`
			} `json:"devices"`
		}
		if st, _ := n.call(t, "GET", "/v1/children/"+f.childID+"/devices", parentToken, nil, &devs); st != 200 {
			t.Fatalf("devices: %d", st)
		}
		ids := map[string]bool{}
		for _, d := range devs.Devices {
			ids[d.ID] = true
		}
		return ids
	}
	before := list()
	var code struct{ Code string }
	if st, _ := n.call(t, "POST", "/v1/children/"+f.childID+"/link-codes", parentToken, nil, &code); st != 201 {
		t.Fatalf("link code: %d", st)
	}
	if st, _ := n.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, nil); st != 201 {
		t.Fatalf("link: %d", st)
	}
	for id := range list() {
		if !before[id] {
			return id
		}
	}
	t.Fatal("the new device is not listed")
	return ""
}

// newModerator has the administrator invite a moderator, who then logs in with TOTP.
func newModerator(t *testing.T, n *testNode, admin *staffAccount, clock *testClock) *staffAccount {
	t.Helper()
	var inv struct {
		InviteToken string `json:"invite_token"`
	}
	if st, _ := n.call(t, "POST", "/v1/admin/invites", admin.token, map[string]string{"role": "moderator"}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	m := &staffAccount{email: "moderator@example.org", password: "a long moderator passphrase"}
	if st, _ := n.call(t, "POST", "/v1/admin/invites/accept", "", map[string]string{"invite_token": inv.InviteToken, "role": "moderator",
		"email": m.email, "password": m.password}, nil); st != 201 {
		t.Fatalf("accept: %d", st)
	}
	clock.add(auth.TOTPPeriod)
	n.staffLogin(t, m)
	return m
}

// spareChild creates one more child in the parent's family and returns its ID.
func spareChild(t *testing.T, n *testNode, parentToken string) string {
	t.Helper()
	var c struct{ ID string }
	if st, _ := n.call(t, "POST", "/v1/children", parentToken, map[string]string{"nickname": "Spare", "age_tier": "5-8"}, &c); st != 201 {
		t.Fatalf("spare child: %d", st)
	}
	return c.ID
}

// staffActsOnAny reports whether a route acts on any family's object for
// the staff roles it allows (moderation of a child's account): for them
// every existing child is theirs to act on, a missing one still 404.
func staffActsOnAny(path string) bool { return strings.HasPrefix(path, "/v1/moderation/children/") }
