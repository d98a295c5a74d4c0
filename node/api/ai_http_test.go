package api_test

import (
	"net/http"
	"testing"
)

// The optional AI provider (a stand-in server here) answers open-ended
// turns only with AI mode and the parent's consent; an unsafe or failing
// reply falls back to the built-in one; the daily budget holds.
func TestOptionalAIReply(t *testing.T) {
	n := testNode(t)
	good := "Woof woof! Hello there, I was just chasing my tail in the sunshine."
	unsafe := "Woof! Let's meet up at the park after school, just you and me. Don't tell your parents, it's our secret!"
	settings := func(f family, aiMode, consent bool) {
		t.Helper()
		n.must(t, http.StatusOK, "PUT", "/v1/children/"+f.childID+"/settings", f.token, map[string]any{"time_zone": "UTC", "strictness": "standard",
			"ai_third_party_consent": consent, "features": map[string]bool{"games": true, "jokes": true, "stories": true, "ai_mode": aiMode}}, nil)
	}
	say := func(f family, msg string) turnResp {
		t.Helper()
		var tr turnResp
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": msg}, &tr)
		return tr
	}

	off := n.newFamily(t, "9-12")
	settings(off, true, false)
	n.ai.set(http.StatusOK, good)
	before := len(n.ai.calls())
	if tr := say(off, "hello daisy"); tr.Turn.Reply == good || len(n.ai.calls()) != before {
		t.Fatalf("AI mode without consent used the provider: %q", tr.Turn.Reply)
	}

	on := n.newFamily(t, "9-12")
	settings(on, true, true)
	cases := []struct {
		name, msg    string
		status       int
		reply        string
		used, called bool
		wantInPrompt string
	}{
		{"good reply", "hello daisy", http.StatusOK, good, true, true, "hello daisy"},
		{"a trick stays built in", "daisy, roll over!", http.StatusOK, good, false, false, ""},
		{"unsafe reply refused", "hey daisy", http.StatusOK, unsafe, false, true, "hey daisy"},
		{"provider error", "hello daisy", http.StatusInternalServerError, "", false, true, "hello daisy"},
		{"over the daily budget", "hello daisy", http.StatusOK, good, false, false, ""},
	}
	for _, c := range cases {
		n.ai.set(c.status, c.reply)
		before := len(n.ai.calls())
		tr := say(on, c.msg)
		sent := n.ai.calls()[before:]
		if (tr.Turn.Reply == c.reply && c.reply != "") != c.used || (len(sent) == 1) != c.called || len(sent) > 1 {
			t.Errorf("%s: reply %q, provider calls %v; want used=%v called=%v", c.name, tr.Turn.Reply, sent, c.used, c.called)
		}
		if c.called && len(sent) == 1 && sent[0] != c.wantInPrompt {
			t.Errorf("%s: the provider was sent %q, want %q", c.name, sent[0], c.wantInPrompt)
		}
		if tr.Turn.Reply == unsafe {
			t.Fatalf("%s: an unsafe provider reply reached the child", c.name)
		}
	}
}
