package node

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
)

// TestPolicyAdminHTTP drives the lifecycle through the admin API with a
// real MFA-authenticated administrator: trust a key, push (refused and
// accepted), status, shadow, rollback; other roles are refused.
func TestPolicyAdminHTTP(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, func(c *Config) { clock.config()(c); constFallback(c) })[0]
	admin := newAdmin(t, n)
	fam := newFamily(t, n, "policy-http@example.test", "Pip", "9-12")
	pub, priv := bundletest.Key(t)
	pubPEM, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	push := func(token string, raw []byte, query string) (int, []byte) {
		st, _, body := n.raw(t, "POST", "/v1/admin/policies"+query, token, "application/octet-stream", raw)
		return st, body
	}
	good := bundletest.Const(t, priv, "http", "1", "redirect", "grooming")

	// Untrusted key first: refused with the reason, nothing changes.
	if st, body := push(admin.token, good, ""); st != 422 || !strings.Contains(string(body), "not in the cluster's trusted keys") {
		t.Fatalf("push before trusting the key: %d %s", st, body)
	}
	// Only an administrator may trust keys or push.
	if st, _ := n.call(t, "POST", "/v1/admin/policy-keys", fam.parentToken, map[string]string{"public_key_pem": string(pubPEM)}, nil); st != 403 {
		t.Fatalf("parent trusting a key: %d", st)
	}
	if st, _ := push(fam.childToken, good, ""); st != 403 {
		t.Fatalf("child pushing: %d", st)
	}
	var kid struct {
		KeyID string `json:"key_id"`
	}
	if st, _ := n.call(t, "POST", "/v1/admin/policy-keys", admin.token, map[string]string{"public_key_pem": string(pubPEM)}, &kid); st != 201 || kid.KeyID != bundle.KeyID(pub) {
		t.Fatalf("trust: %d %+v", st, kid)
	}
	for name, c := range map[string]struct {
		raw    []byte
		status int
		msg    string
	}{
		"too large":   {make([]byte, bundle.MaxCompressed+1), 413, "at most"},
		"not bundle":  {[]byte("hello"), 422, "malformed"},
		"bad vectors": {badVectors(t, priv), 422, "vectors failed"},
	} {
		if st, body := push(admin.token, c.raw, ""); st != c.status || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s", name, st, body)
		}
	}
	if st, _, body := n.raw(t, "POST", "/v1/admin/policies", admin.token, "application/json", []byte(`{}`)); st != 415 {
		t.Fatalf("JSON body: %d %s", st, body)
	}

	// Push and activate.
	st, body := push(admin.token, good, "")
	var res struct {
		ID          string `json:"id"`
		Activated   bool   `json:"activated"`
		ActiveIndex uint64 `json:"active_index"`
	}
	if err := json.Unmarshal(body, &res); err != nil || st != 201 || !res.Activated || res.ID != "http@1" {
		t.Fatalf("push: %d %s", st, body)
	}
	if _, tr := n.chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "redirect" {
		t.Fatalf("the pushed policy is not enforced: %+v", tr.Turn.Safety)
	}
	if st, body := push(admin.token, good, ""); st != 409 {
		t.Fatalf("pushing the same version again: %d %s", st, body)
	}

	// Stage v2, shadow it, read the status.
	if st, body := push(admin.token, bundletest.Const(t, priv, "http", "2", "allow"), "?activate=false"); st != 201 {
		t.Fatalf("stage v2: %d %s", st, body)
	}
	if st, _ := n.call(t, "POST", "/v1/admin/policies/http@2/shadow", admin.token, nil, nil); st != 200 {
		t.Fatalf("shadow: %d", st)
	}
	if st, _ := n.call(t, "POST", "/v1/admin/policies/nope/shadow", admin.token, nil, nil); st != 422 {
		t.Fatalf("shadow of a bad id: %d", st)
	}
	if st, _ := n.call(t, "POST", "/v1/admin/policies/http@9/activate", admin.token, nil, nil); st != 404 {
		t.Fatalf("activate unknown: %d", st)
	}
	if _, tr := n.chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "redirect" {
		t.Fatalf("shadow enforced: %+v", tr.Turn.Safety)
	}
	var status struct {
		Active string `json:"active"`
		Shadow struct {
			Policy    string `json:"policy"`
			Disagreed int    `json:"disagreed"`
		} `json:"shadow"`
		Staged []struct {
			ID    string            `json:"id"`
			Nodes map[string]string `json:"nodes"`
		} `json:"staged"`
	}
	waitFor(t, 10*time.Second, "shadow disagreement in status", func() error {
		if st, _ := n.call(t, "GET", "/v1/admin/policies", admin.token, nil, &status); st != 200 {
			t.Fatalf("status: %d", st)
		}
		if status.Active != "http@1" || status.Shadow.Policy != "http@2" || status.Shadow.Disagreed == 0 {
			return fmt.Errorf("status %+v", status)
		}
		return nil
	})
	if len(status.Staged) != 2 || status.Staged[0].Nodes["n1"] != "ok" {
		t.Fatalf("staged %+v", status.Staged)
	}

	// A staged version in use cannot be unstaged; an unused one can.
	if st, _ := n.call(t, "DELETE", "/v1/admin/policies/http@2", admin.token, nil, nil); st != 409 {
		t.Fatalf("unstage the shadow: %d", st)
	}
	if st, _ := n.call(t, "DELETE", "/v1/admin/policy-shadow", admin.token, nil, nil); st != 200 {
		t.Fatalf("end shadow: %d", st)
	}
	if st, _ := n.call(t, "DELETE", "/v1/admin/policies/http@2", admin.token, nil, nil); st != 204 {
		t.Fatalf("unstage: %d", st)
	}
	if st, _ := n.call(t, "DELETE", "/v1/admin/policies/http@2", admin.token, nil, nil); st != 404 {
		t.Fatalf("unstage twice: %d", st)
	}

	// Revoking the key that signed the policy in force: it stays in force,
	// and the answer says so.
	keyPath := "/v1/admin/policy-keys/" + kid.KeyID
	if st, _ := n.call(t, "DELETE", keyPath, fam.parentToken, nil, nil); st != 403 {
		t.Fatalf("parent revoking a key: %d", st)
	}
	if st, _ := n.call(t, "DELETE", "/v1/admin/policy-keys/NOT-A-KID", admin.token, nil, nil); st != 422 {
		t.Fatalf("revoking a malformed key id: %d", st)
	}
	var rev struct {
		Revoked string `json:"revoked"`
		Active  string `json:"active_signed_by_key"`
		Warning string `json:"warning"`
	}
	if st, _ := n.call(t, "DELETE", keyPath, admin.token, nil, &rev); st != 200 || rev.Revoked != kid.KeyID || rev.Active != "http@1" || rev.Warning == "" {
		t.Fatalf("revoke: %d %+v", st, rev)
	}
	if st, _ := n.call(t, "DELETE", keyPath, admin.token, nil, nil); st != 404 {
		t.Fatalf("revoking twice: %d", st)
	}
	if _, tr := n.chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "redirect" {
		t.Fatalf("the policy in force changed when its key was revoked: %+v", tr.Turn.Safety)
	}

	// Roll back to the default; then there is nothing left to roll back.
	var rb struct{ Active string }
	if st, _ := n.call(t, "POST", "/v1/admin/policy-rollback", admin.token, nil, &rb); st != 200 || rb.Active != "default" {
		t.Fatalf("rollback: %d %+v", st, rb)
	}
	if st, _ := n.call(t, "POST", "/v1/admin/policy-rollback", admin.token, nil, nil); st != 409 {
		t.Fatalf("second rollback: %d", st)
	}
	if _, tr := n.chat(t, fam.childToken, "I like my dog"); tr.Turn.Safety.Action != "allow" {
		t.Fatalf("after rollback: %+v", tr.Turn.Safety)
	}
	// A bundle signed by the revoked key cannot come back.
	if st, _, body := n.raw(t, "POST", "/v1/admin/policies/http@1/activate", admin.token, "application/json", []byte(`{}`)); st != 409 || !strings.Contains(string(body), "no longer trusted") {
		t.Fatalf("activating a bundle signed by a revoked key: %d %s", st, body)
	}
	// ... nor run in shadow.
	if st, _, body := n.raw(t, "POST", "/v1/admin/policies/http@1/shadow", admin.token, "application/json", []byte(`{}`)); st != 409 || !strings.Contains(string(body), "no longer trusted") {
		t.Fatalf("shadowing a bundle signed by a revoked key: %d %s", st, body)
	}
	status.Shadow.Policy = ""
	if st, _ := n.call(t, "GET", "/v1/admin/policies", admin.token, nil, &status); st != 200 || status.Shadow.Policy != "" {
		t.Fatalf("status after a refused shadow: %d %+v", st, status.Shadow)
	}
}

// TestPolicyKeyGivenAtInit: a key installed at init becomes trusted
// cluster state once the node leads (audit-logged as system:init).
func TestPolicyKeyGivenAtInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "n1")
	if _, err := Init(Layout{Dir: dir}, nodeAddrs(t, "n1")); err != nil {
		t.Fatal(err)
	}
	pub, _ := bundletest.Key(t)
	pemBytes, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := InstallPolicyKey(Layout{Dir: dir}, []byte("not a key")); err == nil {
		t.Fatal("installed garbage as a policy key")
	}
	if err := InstallPolicyKey(Layout{Dir: dir}, pemBytes); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, dir, constFallback)
	waitFor(t, 30*time.Second, "the init key trusted", func() error {
		keys, err := n.DB().PolicyKeys(context.Background())
		if err != nil {
			return err
		}
		if len(keys) != 1 || keys[0].KeyID != bundle.KeyID(pub) || keys[0].AddedBy != "system:init" {
			return fmt.Errorf("keys %+v", keys)
		}
		return nil
	})
}

// TestRollbackToARevokedSignerSaysWhy: rolling back to a version whose
// signing key was revoked is refused with the reason (it used to answer
// only "already exists: rollback_policy"), and the version in force stays.
func TestRollbackToARevokedSignerSaysWhy(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Now())
	n := startCluster(t, 1, func(c *Config) { clock.config()(c); constFallback(c) })[0]
	admin := newAdmin(t, n)
	pubA, privA := bundletest.Key(t)
	pubB, privB := bundletest.Key(t)
	for _, pub := range []ed25519.PublicKey{pubA, pubB} {
		pemBytes, err := bundle.MarshalPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := n.call(t, "POST", "/v1/admin/policy-keys", admin.token, map[string]string{"public_key_pem": string(pemBytes)}, nil); st != 201 {
			t.Fatalf("trust: %d", st)
		}
	}
	for _, raw := range [][]byte{bundletest.Const(t, privA, "a", "1", "allow"), bundletest.Const(t, privB, "b", "1", "allow")} {
		if st, _, body := n.raw(t, "POST", "/v1/admin/policies", admin.token, "application/octet-stream", raw); st != 201 {
			t.Fatalf("push: %d %s", st, body)
		}
	}
	if st, _ := n.call(t, "DELETE", "/v1/admin/policy-keys/"+bundle.KeyID(pubA), admin.token, nil, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	st, _, body := n.raw(t, "POST", "/v1/admin/policy-rollback", admin.token, "application/json", []byte(`{}`))
	if st != 409 || !strings.Contains(string(body), "a@1 was signed by key "+bundle.KeyID(pubA)+", which is no longer trusted") {
		t.Fatalf("rollback to a@1: %d %s, want 409 naming a@1 and its revoked key", st, body)
	}
	var status struct {
		Active string `json:"active"`
	}
	if st, _ := n.call(t, "GET", "/v1/admin/policies", admin.token, nil, &status); st != 200 || status.Active != "b@1" {
		t.Fatalf("after the refused rollback: %d active %q, want b@1", st, status.Active)
	}
}
