package api_test

import (
	"net/http"
	"strings"
	"testing"

	"daisydog/node/api"
)

type consentStatus struct {
	Required bool `json:"required"`
	Active   *struct {
		ID            string `json:"id"`
		Method        string `json:"method"`
		NoticeVersion string `json:"notice_version"`
		GrantedBy     string `json:"granted_by"`
	} `json:"active"`
	History []struct {
		ID        string `json:"id"`
		RevokedAt string `json:"revoked_at"`
	} `json:"history"`
	NoticeVersion string `json:"notice_version"`
}

// A profile under 13 cannot use any child endpoint until a parent with a
// verified address consents to the current notice; the parent gets the
// confirmation e-mail; a withdrawal stops the device at the next request,
// a new consent lets it in again; another family can neither see nor
// change it; a teen profile needs none; the export holds the history.
func TestConsentGatesTheChild(t *testing.T) {
	n := testNode(t)
	p := n.newParent(t)
	childID := n.newChild(t, p.token, "Wren", "5-8")
	var code struct{ Code string }
	n.must(t, http.StatusCreated, "POST", "/v1/children/"+childID+"/link-codes", p.token, nil, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	n.must(t, http.StatusCreated, "POST", "/v1/devices/link", "", map[string]string{"code": code.Code}, &dev)
	device := dev.AccessToken

	childEndpoints := []struct{ method, path string }{
		{"POST", "/v1/chat"}, {"GET", "/v1/chat"}, {"GET", "/v1/chat/daisy"}, {"POST", "/v1/games"},
	}
	gated := func(want int) {
		t.Helper()
		for _, e := range childEndpoints {
			var body any
			if e.method == "POST" {
				body = map[string]string{"message": "hello daisy", "game": "guess_number"}
			}
			res := n.do(t, e.method, e.path, device, "", body)
			if want == http.StatusForbidden && (res.status != want || res.code() != "consent_required") {
				t.Fatalf("%s %s without consent: %d %s", e.method, e.path, res.status, res.body)
			}
			if want != http.StatusForbidden && res.code() == "consent_required" {
				t.Fatalf("%s %s with consent: %d %s", e.method, e.path, res.status, res.body)
			}
		}
	}
	gated(http.StatusForbidden)
	var child struct {
		ConsentRequired bool `json:"consent_required"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/children/"+childID, p.token, nil, &child)
	var st consentStatus
	n.must(t, http.StatusOK, "GET", "/v1/children/"+childID+"/consent", p.token, nil, &st)
	if !child.ConsentRequired || !st.Required || st.Active != nil || len(st.History) != 0 || st.NoticeVersion != api.PrivacyNoticeVersion {
		t.Fatalf("before consent: child %+v, status %+v", child, st)
	}

	path := "/v1/children/" + childID + "/consent"
	good := map[string]string{"notice_version": api.PrivacyNoticeVersion, "method": "email_plus"}
	other := n.newFamily(t, "9-12") // verified, consented: a parent of another family
	n.runErrCases(t, []errCase{
		{"unverified address", "POST", path, p.token, "", good, 403, "email_unverified"},
		{"an older notice", "POST", path, p.token, "", map[string]string{"notice_version": "1"}, 409, "notice_changed"},
		{"no notice version", "POST", path, p.token, "", map[string]string{"method": "email_plus"}, 422, "invalid"},
		{"a method not offered", "POST", path, p.token, "", map[string]string{"notice_version": api.PrivacyNoticeVersion, "method": "checkbox"}, 422, "invalid"},
		{"malformed JSON", "POST", path, p.token, "", []byte(`{"notice_version":`), 400, "bad_request"},
		{"unknown field", "POST", path, p.token, "", map[string]string{"notice_version": api.PrivacyNoticeVersion, "name": "Jo"}, 400, "bad_request"},
		{"the child's own token", "POST", path, device, "", good, 403, "forbidden"},
		{"no token", "POST", path, "", "", good, 401, "unauthorized"},
		{"another family grants", "POST", path, other.token, "", good, 404, "not_found"},
		{"another family reads", "GET", path, other.token, "", nil, 404, "not_found"},
		{"another family withdraws", "DELETE", path, other.token, "", nil, 404, "not_found"},
	})
	n.must(t, http.StatusOK, "DELETE", path, p.token, nil, &st) // nothing in force: changes nothing
	if st.Active != nil || len(st.History) != 0 {
		t.Fatalf("withdrawing what was never given: %+v", st)
	}
	gated(http.StatusForbidden)

	n.verifyEmail(t, p.token)
	n.must(t, http.StatusCreated, "POST", path, p.token, good, &st)
	if st.Active == nil || st.Active.Method != "email_plus" || st.Active.NoticeVersion != api.PrivacyNoticeVersion || len(st.History) != 1 {
		t.Fatalf("after consent: %+v", st)
	}
	confirm := n.mailed(t, p.email, "consent_confirmation", 1).Body
	if !strings.Contains(confirm, "Wren") || !strings.Contains(confirm, "version "+api.PrivacyNoticeVersion) ||
		!strings.Contains(confirm, "DELETE /v1/children/"+childID+"/consent") {
		t.Fatalf("confirmation e-mail %q", confirm)
	}
	gated(http.StatusOK)
	n.must(t, http.StatusOK, "POST", "/v1/chat", device, map[string]string{"message": "hello daisy"}, nil)
	n.must(t, http.StatusOK, "GET", "/v1/children/"+childID, p.token, nil, &child)
	if child.ConsentRequired {
		t.Fatal("the profile still says consent is required")
	}

	n.must(t, http.StatusOK, "DELETE", path, p.token, nil, &st)
	if st.Active != nil || len(st.History) != 1 || st.History[0].RevokedAt == "" {
		t.Fatalf("after withdrawal: %+v", st)
	}
	gated(http.StatusForbidden)
	n.must(t, http.StatusCreated, "POST", path, p.token, good, nil)
	n.must(t, http.StatusCreated, "POST", path, p.token, good, &st) // again: supersedes
	if st.Active == nil || len(st.History) != 3 || st.History[1].RevokedAt == "" || st.History[2].RevokedAt != "" {
		t.Fatalf("after two more grants: %+v", st)
	}
	gated(http.StatusOK)

	var ex struct {
		Children []struct {
			ID       string `json:"id"`
			Consents []struct {
				ID     string `json:"id"`
				Method string `json:"method"`
			} `json:"consents"`
		} `json:"children"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/family/export", p.token, nil, &ex)
	if len(ex.Children) != 1 || len(ex.Children[0].Consents) != 3 || ex.Children[0].Consents[0].Method != "email_plus" {
		t.Fatalf("export %+v", ex)
	}

	teen := n.newParent(t) // unverified, no consent: a 13-17 profile chats
	teenID := n.newChild(t, teen.token, "Ash", "13-17")
	teenDevice := n.linkDevice(t, teen.token, teenID)
	n.must(t, http.StatusOK, "POST", "/v1/chat", teenDevice, map[string]string{"message": "hello daisy"}, nil)
	n.must(t, http.StatusOK, "GET", "/v1/children/"+teenID+"/consent", teen.token, nil, &st)
	if st.Required || st.Active != nil {
		t.Fatalf("teen consent status %+v", st)
	}
}
