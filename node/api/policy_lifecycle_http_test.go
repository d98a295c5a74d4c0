package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"daisydog/policies/bundle"
	"daisydog/policies/bundle/bundletest"
)

// lifecycleRuns numbers the runs of TestPolicyLifecycleHTTP in this process.
var lifecycleRuns atomic.Int64

// TestPolicyLifecycleHTTP drives the successful policy routes with real
// signed bundles: trust a key, push (activated and staged), shadow, end the
// shadow, activate, unstage, roll back twice to the embedded default,
// revoke the key that signed the policy in force. Each step is checked on
// the status route and on what a child's chat turn is judged by. The node
// is shared, so it ends as it started: the default policy active, the key
// revoked, nothing to roll back.
func TestPolicyLifecycleHTTP(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	f := n.newFamily(t, "9-12")
	pub, priv := bundletest.Key(t)
	pubPEM, err := bundle.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	kid := bundle.KeyID(pub)
	// Staged versions stay stored: a fresh name per run (-count=2).
	name := fmt.Sprintf("cov%d", lifecycleRuns.Add(1))
	id := func(v string) string { return name + "@" + v }
	t.Cleanup(func() {
		// Leave the shared node as found even if a step failed.
		for range 4 {
			if n.do(t, "POST", "/v1/admin/policy-rollback", admin.token, "", nil).status != http.StatusOK {
				break
			}
		}
		n.do(t, "DELETE", "/v1/admin/policy-keys/"+kid, admin.token, "", nil)
	})

	var trusted struct {
		KeyID string `json:"key_id"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/admin/policy-keys", admin.token, map[string]string{"public_key_pem": string(pubPEM)}, &trusted)
	if trusted.KeyID != kid {
		t.Fatalf("trusted key id %q, want %q", trusted.KeyID, kid)
	}

	type pushed struct {
		ID        string `json:"id"`
		Activated bool   `json:"activated"`
	}
	push := func(raw []byte, query string) pushed {
		t.Helper()
		res := n.do(t, "POST", "/v1/admin/policies"+query, admin.token, "application/octet-stream", raw)
		if res.status != http.StatusCreated {
			t.Fatalf("push: %d %s", res.status, res.body)
		}
		var p pushed
		res.decode(t, &p)
		return p
	}
	type status struct {
		Active string `json:"active"`
		Shadow struct {
			Policy string `json:"policy"`
		} `json:"shadow"`
	}
	policyStatus := func() status {
		t.Helper()
		var st status
		n.must(t, http.StatusOK, "GET", "/v1/admin/policies", admin.token, nil, &st)
		return st
	}
	judgedBy := func() (action, version string) {
		t.Helper()
		var tr turnResp
		n.must(t, http.StatusOK, "POST", "/v1/chat", f.childToken, map[string]string{"message": "I like my dog"}, &tr)
		if tr.Turn.Safety == nil {
			t.Fatal("turn without a safety verdict")
		}
		return tr.Turn.Safety.Action, tr.Turn.Safety.PolicyVersion
	}
	_, defaultVersion := judgedBy()

	// Pushed and activated at once.
	if p := push(bundletest.Const(t, priv, name, "1", "redirect", "grooming"), ""); p.ID != id("1") || !p.Activated {
		t.Fatalf("push cov@1 = %+v", p)
	}
	if st := policyStatus(); st.Active != id("1") {
		t.Fatalf("active %q after pushing cov@1", st.Active)
	}
	if action, _ := judgedBy(); action != "redirect" {
		t.Fatalf("turn judged %q; cov@1 redirects everything", action)
	}
	// Nicknames pass the same policy: under cov@1 none is accepted.
	if res := n.do(t, "POST", "/v1/children", f.token, "", map[string]string{"nickname": "Pip", "age_tier": "9-12"}); res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "choose a different nickname") {
		t.Fatalf("child created under a policy that refuses every nickname: %d %s", res.status, res.body)
	}

	// Staged only, then shadowed: cov@1 still decides.
	if p := push(bundletest.Const(t, priv, name, "2", "allow"), "?activate=false"); p.ID != id("2") || p.Activated {
		t.Fatalf("stage cov@2 = %+v", p)
	}
	var idx struct {
		Active string `json:"active"`
		Shadow string `json:"shadow"`
		Index  uint64 `json:"index"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/policies/"+id("2")+"/shadow", admin.token, nil, &idx)
	if idx.Shadow != id("2") || idx.Index == 0 {
		t.Fatalf("shadow answer %+v", idx)
	}
	if st := policyStatus(); st.Active != id("1") || st.Shadow.Policy != id("2") {
		t.Fatalf("status while shadowing %+v", st)
	}
	if action, _ := judgedBy(); action != "redirect" {
		t.Fatalf("the shadow decided the turn: %q", action)
	}
	n.must(t, http.StatusOK, "DELETE", "/v1/admin/policy-shadow", admin.token, nil, &idx)
	if st := policyStatus(); st.Shadow.Policy != "" {
		t.Fatalf("shadow %q after ending it", st.Shadow.Policy)
	}

	// Activated by id.
	idx = struct {
		Active string `json:"active"`
		Shadow string `json:"shadow"`
		Index  uint64 `json:"index"`
	}{}
	n.must(t, http.StatusOK, "POST", "/v1/admin/policies/"+id("2")+"/activate", admin.token, nil, &idx)
	if idx.Active != id("2") || idx.Index == 0 {
		t.Fatalf("activate answer %+v", idx)
	}
	if action, _ := judgedBy(); action != "allow" {
		t.Fatalf("turn judged %q under cov@2 (allow)", action)
	}

	// An unused staged version can be unstaged, once.
	push(bundletest.Const(t, priv, name, "3", "block", "violence"), "?activate=false")
	n.must(t, http.StatusNoContent, "DELETE", "/v1/admin/policies/"+id("3"), admin.token, nil, nil)
	if res := n.do(t, "DELETE", "/v1/admin/policies/"+id("3"), admin.token, "", nil); res.status != http.StatusNotFound {
		t.Fatalf("unstage twice: %d %s", res.status, res.body)
	}

	// Roll back: cov@2 → cov@1.
	var rb struct {
		Active string `json:"active"`
	}
	n.must(t, http.StatusOK, "POST", "/v1/admin/policy-rollback", admin.token, nil, &rb)
	if rb.Active != id("1") {
		t.Fatalf("first rollback to %q, want cov@1", rb.Active)
	}
	if action, _ := judgedBy(); action != "redirect" {
		t.Fatalf("turn judged %q after rolling back to cov@1", action)
	}

	// Revoking the key that signed the policy in force warns that it stays.
	var rev struct {
		Revoked string `json:"revoked"`
		Active  string `json:"active_signed_by_key"`
		Warning string `json:"warning"`
	}
	n.must(t, http.StatusOK, "DELETE", "/v1/admin/policy-keys/"+kid, admin.token, nil, &rev)
	if rev.Revoked != kid || rev.Active != id("1") || rev.Warning == "" {
		t.Fatalf("revoke answer %+v", rev)
	}

	// Roll back to the embedded default; then nothing is left to roll back.
	rb.Active = ""
	n.must(t, http.StatusOK, "POST", "/v1/admin/policy-rollback", admin.token, nil, &rb)
	if rb.Active != "default" {
		t.Fatalf("second rollback to %q, want default", rb.Active)
	}
	if _, v := judgedBy(); v != defaultVersion {
		t.Fatalf("turn judged by %q after rolling back, want the default %q", v, defaultVersion)
	}
	if res := n.do(t, "POST", "/v1/admin/policy-rollback", admin.token, "", nil); res.status != http.StatusConflict || res.code() != "nothing_to_roll_back" {
		t.Fatalf("third rollback: %d %s", res.status, res.body)
	}
}
