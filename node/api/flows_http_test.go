package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"daisydog/node/auth"
	"daisydog/node/companion"
	"daisydog/storage"
)

// Every handler that reads a JSON body refuses a malformed one with 400
// bad_request (nothing is decoded, nothing is written), whoever asks.
func TestMalformedBodiesAreRefused(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	admin := n.admin(t)
	bad := `{"x":`
	cases := []struct{ name, method, path, token string }{
		{"device link", "POST", "/v1/devices/link", ""},
		{"verify e-mail", "POST", "/v1/auth/verify-email", ""},
		{"password reset", "POST", "/v1/auth/password-reset", ""},
		{"staff login", "POST", "/v1/admin/login", ""},
		{"staff MFA", "POST", "/v1/admin/mfa", ""},
		{"accept invite", "POST", "/v1/admin/invites/accept", ""},
		{"create invite", "POST", "/v1/admin/invites", admin.token},
		{"trust policy key", "POST", "/v1/admin/policy-keys", admin.token},
		{"start game", "POST", "/v1/games", f.childToken},
		{"game move", "POST", "/v1/games/current/moves", f.childToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := n.do(t, c.method, c.path, c.token, "", bad)
			var e struct {
				Error struct{ Code, Message string }
			}
			res.decode(t, &e)
			if res.status != http.StatusBadRequest || e.Error.Code != "bad_request" || !strings.HasPrefix(e.Error.Message, "malformed JSON") {
				t.Fatalf("%s %s: %d %s, want 400 bad_request about malformed JSON", c.method, c.path, res.status, res.body)
			}
		})
	}
	// The console login checks the origin first, then the body.
	res := n.do(t, "POST", "/v1/ui/login", "", "", bad, "Origin", n.base)
	if res.status != http.StatusBadRequest || res.code() != "bad_request" {
		t.Fatalf("console login with a malformed body: %d %s", res.status, res.body)
	}
	// Nothing was started by the refused game requests.
	var daisy struct {
		Game any `json:"game"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", f.childToken, nil, &daisy)
	if daisy.Game != nil {
		t.Fatalf("a refused request started a game: %+v", daisy.Game)
	}
}

// The policy's verdict on the child's message decides the turn: a
// redacted message is stored without the personal detail and the reply
// carries the reminder; a disclosure gets the fixed support reply; a
// blocked message gets a kind refusal, and none of those is stored as sent.
func TestChatTurnFollowsTheInputVerdict(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	eng := companion.New()
	blocked := map[string]bool{}
	for i := 0; i < 50; i++ {
		blocked[eng.Blocked("9-12", func(n int) int { return i % n }).Text] = true
	}
	cases := []struct {
		name, msg, action string
		category          string
		escalated         bool
		check             func(t *testing.T, tr turnResp)
	}{
		{"phone number redacted", "my phone number is 555 010 4477", "redact", "pii_disclosure", false, func(t *testing.T, tr turnResp) {
			if strings.Contains(tr.Turn.Message, "4477") || !strings.HasPrefix(tr.Turn.Message, "my phone number is ") {
				t.Errorf("stored message %q still carries the number", tr.Turn.Message)
			}
			if !strings.HasSuffix(tr.Turn.Reply, " "+eng.RedactReminder("9-12")) {
				t.Errorf("reply %q lacks the redaction reminder", tr.Turn.Reply)
			}
		}},
		{"self-harm gets support", "i think i want to die tonight", "support", "self_harm", true, func(t *testing.T, tr turnResp) {
			if want := eng.Support("9-12", "en").Text; tr.Turn.Reply != want {
				t.Errorf("reply %q, want the support reply %q", tr.Turn.Reply, want)
			}
		}},
		{"profanity blocked", "this game is fucking boring", "block", "profanity", false, func(t *testing.T, tr turnResp) {
			if !blocked[tr.Turn.Reply] {
				t.Errorf("reply %q is not one of the blocked replies", tr.Turn.Reply)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr turnResp
			n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": c.msg}, &tr)
			s := tr.Turn.Safety
			if s == nil || s.Action != c.action || s.Escalated != c.escalated || s.FailClosed || !contains(s.Categories, c.category) {
				t.Fatalf("turn %+v safety %+v, want %s (%s) escalated=%v", tr.Turn, s, c.action, c.category, c.escalated)
			}
			c.check(t, tr)
			// The parent's history holds the same verdict and stored text.
			var h historyResp
			n.must(t, http.StatusOK, "GET", "/v1/children/"+f.childID+"/turns?limit=1", f.token, nil, &h)
			if len(h.Turns) != 1 || h.Turns[0].Seq != tr.Turn.Seq || h.Turns[0].Safety == nil || h.Turns[0].Safety.Action != c.action ||
				h.Turns[0].Message != tr.Turn.Message || h.Turns[0].Reply != tr.Turn.Reply {
				t.Fatalf("parent's view %+v, want turn %d with %s", h.Turns, tr.Turn.Seq, c.action)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A provider reply the client-side filter lets through but the output
// policy refuses (profanity) is not shown; the call still counts. While a
// game is in play the provider is not asked at all.
func TestAIReplyGoesThroughTheOutputPolicy(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token, map[string]any{"time_zone": "UTC", "strictness": "standard",
		"ai_third_party_consent": true, "features": map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": true}}, nil)
	rude := "Woof! This fucking squirrel keeps stealing my bone."
	n.ai.set(http.StatusOK, rude)
	before := len(n.ai.calls())
	var tr turnResp
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello daisy"}, &tr)
	if sent := n.ai.calls()[before:]; len(sent) != 1 || sent[0] != "hello daisy" {
		t.Fatalf("provider calls %v, want one with the message", sent)
	}
	if tr.Turn.Reply == rude || tr.Turn.Reply == "" || tr.Turn.Safety.Action != "allow" {
		t.Fatalf("turn %+v: the refused provider reply was shown", tr.Turn)
	}

	n.ai.set(http.StatusOK, "Woof woof! Hello again, friend.")
	n.must(t, http.StatusOK, "POST", "/v1/games", f.childToken, map[string]string{"kind": "guess_number"}, &tr)
	if tr.Game == nil || !tr.Game.Active {
		t.Fatalf("game did not start: %+v", tr.Game)
	}
	before = len(n.ai.calls())
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "hello daisy"}, &tr)
	if sent := n.ai.calls()[before:]; len(sent) != 0 {
		t.Fatalf("the provider was asked during a game: %v", sent)
	}
}

// The family export shows a revoked device with its revocation time, and
// a lesson pack answers fact requests once the parent opted in.
func TestExportShowsRevokedDevices(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	n.linkDevice(t, f.token, f.childID)
	n.must(t, http.StatusNoContent, "DELETE", "/v1/children/"+f.childID+"/devices/"+f.deviceID, f.token, nil, nil)
	var ex struct {
		Children []struct {
			ID      string `json:"id"`
			Devices []struct {
				ID        string `json:"id"`
				RevokedAt string `json:"revoked_at"`
			} `json:"devices"`
		} `json:"children"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/family/export", f.token, nil, &ex)
	if len(ex.Children) != 1 || len(ex.Children[0].Devices) != 2 {
		t.Fatalf("export %+v, want one child with two devices", ex)
	}
	for _, d := range ex.Children[0].Devices {
		if revoked := d.RevokedAt != ""; revoked != (d.ID == f.deviceID) {
			t.Errorf("device %s: revoked_at %q (revoked device %s)", d.ID, d.RevokedAt, f.deviceID)
		}
	}
}

func TestLessonPackAnswersFactRequests(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")
	lesson := "Puppies are born with their eyes closed and open them after about two weeks."
	pack := map[string]any{"id": "api-lessons", "version": 1, "title": "Puppy Facts", "description": "Short lessons about puppies.",
		"source": map[string]string{"name": "Example Library", "url": "https://library.example.test/puppies", "license": "CC BY 4.0"},
		"items":  []map[string]string{{"id": "eyes", "kind": "lesson", "title": "Puppy Eyes", "text": lesson}}}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/packs", admin.token, pack, nil)
	other := map[string]any{"id": "api-lessons-other", "version": 1, "title": "Other Facts", "description": "Lessons nobody opted into.",
		"source": map[string]string{"name": "Example Library", "url": "https://library.example.test/other", "license": "CC BY 4.0"},
		"items":  []map[string]string{{"id": "tails", "kind": "lesson", "title": "Wagging Tails", "text": "Dogs wag their tails to the right when they are happy."}}}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/packs", admin.token, other, nil)
	t.Cleanup(func() {
		n.do(t, "DELETE", "/v1/admin/packs/api-lessons", n.admin(t).token, "", nil)
		n.do(t, "DELETE", "/v1/admin/packs/api-lessons-other", n.admin(t).token, "", nil)
	})
	ask := func() string {
		var tr turnResp
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "tell me a fact"}, &tr)
		if tr.Turn.Intent != companion.IntentFacts {
			t.Fatalf("intent %q for a fact request", tr.Turn.Intent)
		}
		return tr.Turn.Reply
	}
	// Not opted in: never the pack.
	for i := 0; i < 10; i++ {
		if r := ask(); strings.Contains(r, "Puppy Eyes") {
			t.Fatalf("pack lesson %q without opting in", r)
		}
	}
	settings := map[string]any{"time_zone": "UTC", "strictness": "standard", "content_packs": []string{"api-lessons"},
		"features": map[string]bool{"games": true, "jokes": true, "stories": true, "content_packs": true}}
	n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token, settings, nil)
	heard := false
	for i := 0; i < 40 && !heard; i++ {
		r := ask()
		heard = r == "Here's something from Puppy Facts: Puppy Eyes. "+lesson
		if strings.Contains(r, "Other Facts") {
			t.Fatalf("a pack the parent did not opt into answered: %q", r)
		}
	}
	if !heard {
		t.Fatal("never heard the pack lesson in 40 fact requests after opting in")
	}
	// A story request has no story in this pack: the built-in story answers.
	var tr turnResp
	n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "tell me a story"}, &tr)
	if strings.Contains(tr.Turn.Reply, "Puppy Facts") || tr.Turn.Reply == "" {
		t.Fatalf("story reply %q", tr.Turn.Reply)
	}
}

// "stop" ends a game: the move's answer shows it over (once), and after
// that Daisy has no game; a further move is answered without a game.
func TestStopEndsTheGame(t *testing.T) {
	n := testNode(t)
	f := n.newFamily(t, "9-12")
	var tr turnResp
	n.must(t, http.StatusOK, "POST", "/v1/games", f.childToken, map[string]string{"kind": "guess_number"}, &tr)
	if tr.Game == nil || !tr.Game.Active {
		t.Fatalf("game did not start: %+v", tr.Game)
	}
	n.must(t, http.StatusOK, "POST", "/v1/games/current/moves", f.childToken, map[string]string{"move": "stop"}, &tr)
	if tr.Game == nil || tr.Game.Active || tr.Game.Phase != "over" || tr.Game.Kind != "guess_number" {
		t.Fatalf("stop move: game %+v, want guess_number over", tr.Game)
	}
	var daisy struct {
		Game any `json:"game"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/chat/daisy", f.childToken, nil, &daisy)
	if daisy.Game != nil {
		t.Fatalf("a finished game is still shown: %+v", daisy.Game)
	}
	n.must(t, http.StatusOK, "POST", "/v1/games/current/moves", f.childToken, map[string]string{"move": "5"}, &tr)
	if tr.Game != nil && tr.Game.Active {
		t.Fatalf("a move after the end restarted the game: %+v", tr.Game)
	}
}

// Wrong second factors count towards the staff lockout like wrong
// passwords; once locked, even the right code is refused.
func TestMFAFailuresLockTheStaffAccount(t *testing.T) {
	n := testNode(t)
	s := n.newStaff(t, "moderator")
	n.clock.add(30 * time.Second)
	var m struct {
		MFA      string `json:"mfa"`
		MFAToken string `json:"mfa_token"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/login", "", map[string]string{"email": s.email, "password": goodPassword}, &m)
	if m.MFA != "verify" || m.MFAToken == "" {
		t.Fatalf("second login asks for %q", m.MFA)
	}
	right, err := auth.TOTPCode(s.secret, n.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.Atoi(right)
	wrong := fmt.Sprintf("%06d", (v+500000)%1000000)
	for i := range storage.LockoutFreeFailures {
		res := n.do(t, "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": m.MFAToken, "code": wrong})
		if res.status != http.StatusUnauthorized || res.code() != "invalid_mfa_code" {
			t.Fatalf("wrong code %d: %d %s, want 401 invalid_mfa_code", i+1, res.status, res.body)
		}
	}
	res := n.do(t, "POST", "/v1/admin/mfa", "", "", map[string]string{"mfa_token": m.MFAToken, "code": right})
	if res.status != http.StatusTooManyRequests || res.code() != "locked" || res.header.Get("Retry-After") == "" {
		t.Fatalf("right code while locked: %d %s (Retry-After %q), want 429 locked", res.status, res.body, res.header.Get("Retry-After"))
	}
}
