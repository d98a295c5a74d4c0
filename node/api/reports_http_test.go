package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"daisydog/storage"
)

// TestUsageReport: an administrator exports the cluster's daily use as
// JSON and CSV (the day's own turns counted, small counts withheld), every
// export audit-logged; moderators and parents are refused, and so are
// ranges that are not dates, reversed or too long.
func TestUsageReport(t *testing.T) {
	const minCount = 5
	type day struct {
		Day            string          `json:"day"`
		Withheld       bool            `json:"withheld"`
		Turns          *int            `json:"turns"`
		ActiveChildren *int            `json:"active_children"`
		TurnsByIntent  map[string]*int `json:"turns_by_intent"`
	}
	type usageReport struct {
		From     string `json:"from"`
		To       string `json:"to"`
		MinCount int    `json:"min_count"`
		Days     []day  `json:"days"`
	}
	n := testNode(t)
	admin := n.admin(t)
	mod := n.newStaff(t, "moderator")
	fams := make([]family, minCount)
	for i := range fams {
		fams[i] = n.newFamily(t, "9-12")
		n.must(t, http.StatusOK, "POST", "/v1/chat", fams[i].childToken, map[string]string{"message": "tell me a joke"}, nil)
	}
	today := n.clock.now().UTC().Format(time.DateOnly)
	var rep usageReport
	n.must(t, http.StatusOK, "GET", "/v1/admin/reports/usage", admin.token, nil, &rep)
	if rep.To != today || rep.MinCount != minCount || len(rep.Days) != 30 || rep.Days[len(rep.Days)-1].Day != today {
		t.Fatalf("report from %s to %s, %d days, min %d", rep.From, rep.To, len(rep.Days), rep.MinCount)
	}
	last := rep.Days[len(rep.Days)-1]
	if last.Withheld || last.ActiveChildren == nil || *last.ActiveChildren < minCount || last.Turns == nil || *last.Turns < minCount || len(last.TurnsByIntent) == 0 {
		t.Fatalf("today's row %+v: want at least the %d children of this test", last, minCount)
	}
	var two usageReport
	n.must(t, http.StatusOK, "GET", "/v1/admin/reports/usage?from="+n.clock.now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)+"&to="+today, admin.token, nil, &two)
	if len(two.Days) != 2 {
		t.Fatalf("two days: %+v", two)
	}

	res := n.must(t, http.StatusOK, "GET", "/v1/admin/reports/usage.csv?from="+today+"&to="+today, admin.token, nil, nil)
	if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(res.header.Get("Content-Disposition"), "daisydog-usage-"+today) {
		t.Fatalf("CSV headers %v", res.header)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0][:4], ",") != "day,turns,active_children,safety_events" || rows[1][0] != today {
		t.Fatalf("CSV %q: %v", res.body, err)
	}
	tail, err := n.DB().AuditTail(context.Background(), storage.Actor{Role: storage.RoleSystem}, 50)
	if err != nil {
		t.Fatal(err)
	}
	exports := 0
	for _, e := range tail {
		if e.Action == "read_usage_report" && e.Actor == "admin:"+admin.id && strings.HasPrefix(e.Target, "days:") {
			exports++
		}
	}
	if exports < 3 {
		t.Fatalf("%d audited exports by this admin, want 3", exports)
	}

	n.must(t, http.StatusForbidden, "GET", "/v1/admin/reports/usage", mod.token, nil, nil)
	if res := n.do(t, "GET", "/v1/admin/reports/usage", fams[0].token, "", nil); res.status != http.StatusUnauthorized && res.status != http.StatusForbidden {
		t.Fatalf("a parent: %d", res.status)
	}
	for _, q := range []string{"?from=yesterday", "?to=2026-13-01", "?from=2026-11-10&to=2026-11-01", "?from=2020-01-01&to=2026-01-01"} {
		if res := n.do(t, "GET", "/v1/admin/reports/usage"+q, admin.token, "", nil); res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", q, res.status, res.body)
		}
	}
}
