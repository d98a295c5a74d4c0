package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"daisydog/node/api"
)

// testRetention is the shared test node's configuration (harness_test.go).
var testRetention = api.Retention{TurnsDays: 90, SafetyDays: 400, SessionsDays: 14}

type noticeDoc struct {
	Version     string `json:"version"`
	DataClasses []struct {
		Class         string `json:"class"`
		Collected     string `json:"collected"`
		Purpose       string `json:"purpose"`
		RetentionDays int    `json:"retention_days"`
		Retention     string `json:"retention"`
	} `json:"data_classes"`
	AuditLog struct {
		Class     string `json:"class"`
		Retention string `json:"retention"`
	} `json:"audit_log"`
	Rights []struct {
		Right    string `json:"right"`
		Endpoint string `json:"endpoint"`
	} `json:"parent_rights"`
}

func (d noticeDoc) class(t *testing.T, name string) (days int, text string) {
	t.Helper()
	for _, c := range d.DataClasses {
		if c.Class == name {
			if c.Collected == "" || c.Purpose == "" || c.Retention == "" {
				t.Fatalf("class %s is incomplete: %+v", name, c)
			}
			return c.RetentionDays, c.Retention
		}
	}
	t.Fatalf("no class %q in the notice", name)
	return 0, ""
}

// TestPrivacyNotice: GET /v1/privacy needs no token and publishes the
// retention the node runs with, the audit log's exception and the parent's
// rights with their endpoints.
func TestPrivacyNotice(t *testing.T) {
	n := testNode(t)
	var doc noticeDoc
	res := n.must(t, http.StatusOK, "GET", "/v1/privacy", "", nil, &doc)
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "public") {
		t.Fatalf("Cache-Control %q", cc)
	}
	if doc.Version != api.PrivacyNoticeVersion {
		t.Fatalf("version %q", doc.Version)
	}
	for _, c := range []struct {
		class string
		days  int
		text  string
	}{
		{"chat_turns", testRetention.TurnsDays, "deleted 90 days after the turn"},
		{"safety_events", testRetention.SafetyDays, "deleted 400 days after the event"},
		{"parent_sessions", testRetention.SessionsDays, "deleted 14 days after"},
		{"email_tokens", 7, "deleted 7 days after the token expired"},
		{"parent_account", 0, "until the parent deletes the family"},
		{"child_profile", 0, "until the parent deletes it"},
		{"devices", testRetention.SessionsDays, "deleted 14 days after the device was unlinked"},
		{"pending_emails", 0, "deleted once sent"},
		{"consents", 0, "until the parent deletes it"},
		{"rate_limit_counters", 0, "deleted once"},
		{"login_failures", 0, "cleared"},
	} {
		days, text := doc.class(t, c.class)
		if days != c.days || !strings.Contains(text, c.text) {
			t.Errorf("%s: %d days %q, want %d days and %q", c.class, days, text, c.days, c.text)
		}
	}
	if doc.AuditLog.Class != "audit_log" || !strings.Contains(doc.AuditLog.Retention, "not deleted") ||
		!strings.Contains(doc.AuditLog.Retention, "hash chain") {
		t.Fatalf("audit log exception: %+v", doc.AuditLog)
	}
	rights := map[string]string{}
	for _, r := range doc.Rights {
		rights[r.Right] = r.Endpoint
	}
	for right, endpoint := range map[string]string{
		"export": "GET /v1/family/export", "delete_child": "DELETE /v1/children/:id", "delete_family": "DELETE /v1/family",
		"review": "GET /v1/children/:id/turns", "review_consent": "GET /v1/children/:id/consent",
		"withdraw_consent": "DELETE /v1/children/:id/consent",
	} {
		if rights[right] != endpoint {
			t.Errorf("right %s: %q, want %q", right, rights[right], endpoint)
		}
	}
	// Every route the notice names exists.
	routes := map[string]bool{}
	for _, r := range n.Routes() {
		routes[r.Method+" "+r.Path] = true
	}
	for _, r := range doc.Rights {
		if !routes[r.Endpoint] {
			t.Errorf("right %s points to %q, which is not a route", r.Right, r.Endpoint)
		}
	}
}

// TestPrivacyNoticeWithoutTimeLimits: a node configured to keep everything
// says so instead of publishing 0 days as a deletion.
func TestPrivacyNoticeWithoutTimeLimits(t *testing.T) {
	srv := api.New(api.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/privacy", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var doc noticeDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ class, text string }{
		{"chat_turns", "kept until the parent deletes them"},
		{"safety_events", "kept until the parent deletes the child"},
		{"parent_sessions", "kept until the parent deletes the family"},
	} {
		if days, text := doc.class(t, c.class); days != 0 || text != c.text {
			t.Errorf("%s: %d days %q, want 0 and %q", c.class, days, text, c.text)
		}
	}
}

func TestRetentionValidate(t *testing.T) {
	for _, tc := range []struct {
		r    api.Retention
		want string
	}{
		{api.DefaultRetention, ""},
		{api.Retention{}, ""},
		{api.Retention{TurnsDays: api.MaxRetentionDays, SafetyDays: 1, SessionsDays: 1}, ""},
		{api.Retention{TurnsDays: -1}, "retention of turns: -1 days"},
		{api.Retention{SafetyDays: api.MaxRetentionDays + 1}, "retention of safety: 3651 days"},
		{api.Retention{SessionsDays: -5}, "retention of sessions: -5 days"},
	} {
		err := tc.r.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.r, err, tc.want)
		}
	}
	if !(api.Retention{}).Forever() || api.DefaultRetention.Forever() {
		t.Fatal("Forever")
	}
}

// An administrator sets the cluster's retention: the notice publishes it
// instead of the node's flags; bad input is refused naming the field.
// (The shared node ends with testRetention's days again, as a setting.)
func TestRetentionSettingHTTP(t *testing.T) {
	n := testNode(t)
	admin := n.admin(t)
	type view struct {
		TurnsDays    int    `json:"turns_days"`
		SafetyDays   int    `json:"safety_days"`
		SessionsDays int    `json:"sessions_days"`
		Source       string `json:"source"`
		UpdatedBy    string `json:"updated_by"`
		NodeFlags    struct {
			TurnsDays int `json:"turns_days"`
		} `json:"node_flags"`
	}
	var v view
	n.must(t, http.StatusOK, "GET", "/v1/admin/retention", admin.token, nil, &v)
	if v.NodeFlags.TurnsDays != testRetention.TurnsDays || (v.Source != api.RetentionFromNode && v.Source != api.RetentionFromCluster) {
		t.Fatalf("before: %+v", v)
	}
	p := n.newParent(t)
	n.runErrCases(t, []errCase{
		{"a field missing", "PUT", "/v1/admin/retention", admin.token, "", map[string]int{"turns_days": 30, "safety_days": 30}, 422, "invalid"},
		{"negative days", "PUT", "/v1/admin/retention", admin.token, "", map[string]int{"turns_days": -1, "safety_days": 30, "sessions_days": 7}, 422, "invalid"},
		{"more than ten years", "PUT", "/v1/admin/retention", admin.token, "", map[string]int{"turns_days": 30, "safety_days": 4000, "sessions_days": 7}, 422, "invalid"},
		{"not a number", "PUT", "/v1/admin/retention", admin.token, "", map[string]any{"turns_days": "a month", "safety_days": 30, "sessions_days": 7}, 400, "bad_request"},
		{"a parent", "PUT", "/v1/admin/retention", p.token, "", map[string]int{"turns_days": 30, "safety_days": 30, "sessions_days": 7}, 403, "forbidden"},
	})
	n.must(t, http.StatusOK, "PUT", "/v1/admin/retention", admin.token, map[string]int{"turns_days": 30, "safety_days": 45, "sessions_days": 3}, &v)
	if v.Source != api.RetentionFromCluster || v.TurnsDays != 30 || v.SafetyDays != 45 || v.SessionsDays != 3 || v.UpdatedBy != admin.id {
		t.Fatalf("after the setting: %+v", v)
	}
	var doc noticeDoc
	n.must(t, http.StatusOK, "GET", "/v1/privacy", "", nil, &doc)
	if days, text := doc.class(t, "chat_turns"); days != 30 || !strings.Contains(text, "30 days") {
		t.Fatalf("notice chat_turns: %d %q", days, text)
	}
	n.must(t, http.StatusOK, "PUT", "/v1/admin/retention", admin.token, map[string]int{"turns_days": testRetention.TurnsDays,
		"safety_days": testRetention.SafetyDays, "sessions_days": testRetention.SessionsDays}, nil)
}
