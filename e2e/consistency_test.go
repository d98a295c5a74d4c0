package e2e

import (
	"path/filepath"
	"testing"
)

// TestReadYourWritesThroughFollower checks that a client who writes through
// a follower and then reads from the same follower sees its write — the
// flows of the apps: a parent creates a child and opens its page, gives
// consent, a device is linked and chats at once, a child sends a message
// and reloads the chat.
// Writes are forwarded to the leader; the follower must not answer the write
// before it has applied it itself (as sign-up already does).
func TestReadYourWritesThroughFollower(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 3, "--mail-outbox", filepath.Join(t.TempDir(), "mail.jsonl"))
	leader, _ := c.waitLeader(c.nodes, 0)
	fol := c.others(leader)[0]
	f := c.newFamily(leader, "", "")
	c.converge(c.nodes)

	const rounds = 20
	// Plain names: a random string can spell something the safety policy
	// refuses as a nickname (about 1 in 1,000), which this test is not about.
	names := []string{"Amber", "Basil", "Clover", "Dot", "Ember", "Fern", "Ginger", "Hazel", "Iris", "Juniper",
		"Kiwi", "Lark", "Maple", "Nutmeg", "Olive", "Pepper", "Quill", "Robin", "Sage", "Tansy"}
	var childMiss, linkMiss, turnMiss int
	for i := 0; i < rounds; i++ {
		// Create a child, then read it back at once.
		var child struct {
			ID string `json:"id"`
		}
		c.api.must(201, "POST", fol.url("/v1/children"), f.parentToken,
			map[string]string{"nickname": "Kit " + names[i%len(names)], "age_tier": "5-8"}).decode(t, &child)
		r, err := c.api.get(fol.url("/v1/children/"+child.ID), f.parentToken)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			childMiss++
			t.Logf("round %d: GET the child just created via %s: %s", i, fol.id, r)
		}

		// Consent (the parent's address was confirmed by newFamily), then
		// link a device, then chat with it at once.
		c.consent(fol, f.parentToken, f.email, child.ID)
		var code struct {
			Code string `json:"code"`
		}
		c.api.must(201, "POST", fol.url("/v1/children/"+child.ID+"/link-codes"), f.parentToken, nil).decode(t, &code)
		var link struct {
			AccessToken string `json:"access_token"`
		}
		c.api.must(201, "POST", fol.url("/v1/devices/link"), "", map[string]string{"code": code.Code}).decode(t, &link)
		kid := &family{childID: child.ID, childToken: link.AccessToken, parentToken: f.parentToken}
		r, err = c.chat(fol, kid, "Hi Daisy, I just got here!")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			linkMiss++
			t.Logf("round %d: first chat of the device just linked via %s: %s", i, fol.id, r)
			// Let the follower catch up so the next check still runs.
			c.converge(c.nodes)
			if r, err = c.chat(fol, kid, "Hi Daisy, I just got here!"); err != nil || r.Status != 200 {
				t.Fatalf("chat via %s after catching up: %v %s", fol.id, err, r)
			}
		}

		// Chat, then reload the history at once.
		tu := turnOf(t, r)
		r = c.api.must(200, "GET", fol.url("/v1/chat?limit=1"), kid.childToken, nil)
		var h struct {
			Turns []turn `json:"turns"`
		}
		r.decode(t, &h)
		if len(h.Turns) == 0 || h.Turns[0].ID != tu.ID {
			turnMiss++
			t.Logf("round %d: history on %s right after turn %s: %s", i, fol.id, tu.ID, r)
		}
	}
	for _, m := range []struct {
		n    int
		what string
	}{
		{childMiss, "a child just created was not found (404) on the follower that created it"},
		{linkMiss, "a device just linked was refused (401) on the follower that linked it"},
		{turnMiss, "a turn just acknowledged was missing from the history on the follower that took it"},
	} {
		if m.n > 0 {
			t.Errorf("%d of %d rounds: %s", m.n, rounds, m.what)
		}
	}
}
