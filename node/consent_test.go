package node

import (
	"fmt"
	"testing"
	"time"
)

// Consent is cluster state: given through one node it admits the child's
// device on every node once that node has applied it; withdrawn through
// another it refuses the device there at once and on the others as soon
// as they apply it, through each node's cached read of the child.
func TestConsentAcrossNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster test")
	}
	nodes := startCluster(t, 3, nil)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	const email = "consent@example.test"
	creds := map[string]string{"email": email, "password": "correct horse battery staple"}
	if st, _ := n1.call(t, "POST", "/v1/parents/signup", "", creds, nil); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := n1.call(t, "POST", "/v1/auth/login", "", creds, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	parent := login.AccessToken
	var child struct{ ID string }
	if st, _ := n1.call(t, "POST", "/v1/children", parent, map[string]string{"nickname": "Fern", "age_tier": "5-8"}, &child); st != 201 {
		t.Fatalf("create child: %d", st)
	}
	var code struct{ Code string }
	if st, _ := n2.call(t, "POST", "/v1/children/"+child.ID+"/link-codes", parent, nil, &code); st != 201 {
		t.Fatalf("link code: %d", st)
	}
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	if st, _ := n2.call(t, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, &dev); st != 201 {
		t.Fatalf("link device: %d", st)
	}
	// daisy is a cheap child read that goes through the same gate as chat.
	daisy := func(n *testNode) (int, string) {
		var e errResp
		st, _ := n.call(t, "GET", "/v1/chat/daisy", dev.AccessToken, nil, &e)
		return st, e.Error.Code
	}
	for _, n := range nodes {
		if st, code := daisy(n); st != 403 || code != "consent_required" {
			t.Fatalf("%s before consent: %d %q", n.nf.NodeID, st, code)
		}
	}
	if st, _ := n3.chat(t, dev.AccessToken, "hello daisy"); st != 403 {
		t.Fatalf("chat before consent: %d", st)
	}

	n1.consent(t, parent, email, child.ID) // verifies the address, consents through n1
	for _, n := range nodes {
		waitFor(t, 10*time.Second, n.nf.NodeID+" admitting the device", func() error {
			if st, code := daisy(n); st != 200 {
				return fmt.Errorf("%d %q", st, code)
			}
			return nil
		})
	}
	if st, _ := n3.chat(t, dev.AccessToken, "hello daisy"); st != 200 {
		t.Fatalf("chat after consent via n3: %d", st)
	}

	if st, _ := n2.call(t, "DELETE", "/v1/children/"+child.ID+"/consent", parent, nil, nil); st != 200 {
		t.Fatalf("withdraw: %d", st)
	}
	if st, code := daisy(n2); st != 403 || code != "consent_required" {
		t.Fatalf("n2 right after the withdrawal: %d %q", st, code)
	}
	for _, n := range nodes {
		waitFor(t, 10*time.Second, n.nf.NodeID+" refusing the device", func() error {
			if st, code := daisy(n); st != 403 || code != "consent_required" {
				return fmt.Errorf("%d %q", st, code)
			}
			return nil
		})
	}
	if st, _ := n1.chat(t, dev.AccessToken, "are you there"); st != 403 {
		t.Fatalf("chat after the withdrawal via n1: %d", st)
	}
}
