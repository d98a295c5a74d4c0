package storage

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// largeTables grow with use (per turn, per login, per device, per family):
// a full scan of one of them on the hot path gets slower every day.
var largeTables = []string{
	"turns", "devices", "sessions", "refresh_tokens", "audit_log", "children", "parents",
	"families", "link_codes", "safety_events", "companions", "login_failures", "consents",
}

// allowedScans are full scans that read a bounded number of rows, with why.
var allowedScans = map[string]string{
	// ORDER BY the INTEGER PRIMARY KEY DESC LIMIT 1: SQLite reads the last
	// rowid only (the plan says SCAN but stops after one row).
	"SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1": "last row of the rowid b-tree",
	// The partial index safety_events_open holds the unreviewed events
	// only: its scan is the moderation queue, not the table.
	"SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM safety_events WHERE reviewed_at IS NULL":                                      "partial index of open events",
	"SELECT kind, categories, created_at, COALESCE(assigned_to, '') FROM safety_events WHERE reviewed_at IS NULL ORDER BY created_at": "partial index of open events",
	// The staff dashboard's totals count whole tables on purpose, at most
	// once a minute per node (the API caches them): not on a hot path.
	"SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL":     "staff dashboard count, cached",
	"SELECT COUNT(*) FROM families":                             "staff dashboard count, cached",
	"SELECT age_tier, COUNT(*) FROM children GROUP BY age_tier": "staff dashboard count, cached",
}

var scanRe = regexp.MustCompile(`^SCAN (\w+)`)

// hotStatements runs every read query against a populated database (so the
// DB learns their text) and returns those plus every FSM statement.
func hotStatements(t *testing.T, f *fixture) []string {
	t.Helper()
	ctx := context.Background()
	for _, a := range scopeActors {
		_, _ = f.db.Child(ctx, a, "ch-a")
		_, _ = f.db.Children(ctx, a)
		_, _ = f.db.Turns(ctx, a, "ch-a", 0, 10)
		_, _ = f.db.Companion(ctx, a, "ch-a")
		_, _ = f.db.Devices(ctx, a, "ch-a")
		_, _ = f.db.Consents(ctx, a, "ch-a")
	}
	sys := Actor{Role: RoleSystem}
	_, _ = f.db.Child(ctx, sys, "ch-a")
	_, _ = f.db.Turns(ctx, sys, "ch-a", 0, 10)
	_, _ = f.db.ParentByEmailIndex(ctx, sys, []byte("x"))
	_, _ = f.db.DeviceActive(ctx, "dev-a", "ch-a")
	_, _ = f.db.SigningKeys(ctx)
	_, _ = f.db.SafetyEventCount(ctx, "escalation")
	_, _ = f.db.SessionActive(ctx, "par-a", "s")
	_, _ = f.db.LockedUntilMillis(ctx, []byte("x"))
	v := NewVault(f.keys, f.db)
	_, _ = v.FamilyKey(ctx, "fam-a")

	f.db.names.mu.RLock()
	out := make([]string, 0, len(f.db.names.m)+len(applyStatements))
	for q := range f.db.names.m {
		out = append(out, q)
	}
	f.db.names.mu.RUnlock()
	out = append(out, applyStatements[:]...)
	out = append(out, retentionStatements[:]...)
	out = append(out, consentStatements[:]...)
	out = append(out, alertStatements[:]...)
	out = append(out, mailStatements[:]...)
	out = append(out, moderationStatements[:]...)
	out = append(out, holdStatements[:]...)
	out = append(out, caRotationStatements[:]...)
	out = append(out, usageStatements[:]...)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestHotStatementsUseIndexes runs EXPLAIN QUERY PLAN on every statement the
// FSM and the read path run and fails on a full scan of a large table.
func TestHotStatementsUseIndexes(t *testing.T) {
	f := scopeWorld(t)
	stmts := hotStatements(t, f)
	if len(stmts) < len(applyStatements)+10 {
		t.Fatalf("only %d statements collected; the read path was not exercised", len(stmts))
	}
	ctx := context.Background()
	for _, q := range stmts {
		verb := strings.ToUpper(strings.Fields(q)[0])
		if verb == "SAVEPOINT" || verb == "ROLLBACK" || verb == "RELEASE" {
			continue
		}
		args := make([]any, strings.Count(q, "?"))
		rows, err := f.db.wr().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Errorf("explain %q: %v", oneLine(q), err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			m := scanRe.FindStringSubmatch(step)
			if m == nil || !slices.Contains(largeTables, m[1]) {
				continue
			}
			if strings.Contains(step, "USING INDEX") || strings.Contains(step, "USING COVERING INDEX") ||
				strings.Contains(step, "USING INTEGER PRIMARY KEY") || strings.Contains(step, "USING PRIMARY KEY") {
				// An index scan: only acceptable if bounded, which the plan
				// cannot tell; flag it unless allowed.
				if _, ok := allowedScans[oneLine(q)]; !ok {
					t.Errorf("full index scan of %s in %q: %v", m[1], oneLine(q), plan)
				}
				continue
			}
			if _, ok := allowedScans[oneLine(q)]; !ok {
				t.Errorf("full scan of %s in %q: %v", m[1], oneLine(q), plan)
			}
		}
	}
}

// TestScanDetectorFails proves the check can fail: a query on an unindexed
// column of a large table is reported.
func TestScanDetectorFails(t *testing.T) {
	f := newFixture(t)
	rows, err := f.db.wr().QueryContext(context.Background(), "EXPLAIN QUERY PLAN SELECT id FROM turns WHERE intent=?", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		if m := scanRe.FindStringSubmatch(detail); m != nil && m[1] == "turns" && !strings.Contains(detail, "USING") {
			found = true
		}
	}
	if !found {
		t.Fatal("an unindexed filter on turns was not reported as a full scan")
	}
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
