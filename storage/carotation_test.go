package storage

import (
	"errors"
	"testing"
)

// The CA rotation record: the steps follow stage → switch → finish (or
// stage → abort) on every node alike; a step out of order, a stage while
// another rotation is in progress, an incomplete stage or a second stage of
// the same CA are refused and change nothing; every step taken is in the
// audit log; the latest rotation is what LatestCARotation returns.
func TestCARotationSteps(t *testing.T) {
	f := newFixture(t)
	stage := func(fp, prev string) *RotateCA {
		return &RotateCA{Step: CAStage, Fingerprint: fp, CertPEM: "cert " + fp, KeySealed: []byte("sealed key"), PrevFingerprint: prev,
			PrevCertPEM: "cert " + prev, JoinSecretSealed: []byte("sealed join"), JoinHash: "hash " + fp, Operator: "n1", Now: baseTime}
	}
	step := func(s, fp string) *RotateCA {
		return &RotateCA{Step: s, Fingerprint: fp, Operator: "n2", Now: baseTime + 10}
	}
	latest := func() (CARotation, bool) {
		t.Helper()
		r, found, err := f.db.LatestCARotation(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r, found
	}
	audit := func() int { return f.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'ca_rotation:%'") }
	if _, found := latest(); found {
		t.Fatal("a rotation before any was staged")
	}
	refused := func(name string, c *RotateCA) {
		t.Helper()
		before, _ := latest()
		n := audit()
		r := f.apply(c)[0]
		if !errors.Is(r.Err, ErrCARotation) {
			t.Errorf("%s: %v, want ErrCARotation", name, r.Err)
		}
		if after, _ := latest(); after.Step != before.Step || after.Fingerprint != before.Fingerprint || audit() != n {
			t.Errorf("%s changed the record: %+v → %+v", name, before, after)
		}
	}
	refused("switch before any stage", step(CASwitch, "bbbb"))
	incomplete := stage("bbbb", "aaaa")
	incomplete.KeySealed = nil
	refused("stage without the CA key", incomplete)
	refused("no fingerprint", &RotateCA{Step: CAStage})

	if r := f.apply(stage("bbbb", "aaaa"))[0]; r.Err != nil || r.Value.(CARotation).Step != CAStage {
		t.Fatalf("stage: %+v", r)
	}
	got, found := latest()
	if !found || got.Step != CAStage || got.Fingerprint != "bbbb" || got.PrevFingerprint != "aaaa" || got.CertPEM != "cert bbbb" ||
		got.PrevCertPEM != "cert aaaa" || string(got.KeySealed) != "sealed key" || string(got.JoinSecretSealed) != "sealed join" ||
		got.JoinHash != "hash bbbb" || got.StagedAt != baseTime || !got.InProgress() {
		t.Fatalf("after the stage: %+v", got)
	}
	refused("a second stage while one is in progress", stage("cccc", "aaaa"))
	refused("finish before switch", step(CAFinish, "bbbb"))
	refused("switch of another CA", step(CASwitch, "cccc"))
	refused("unknown step", step("rewind", "bbbb"))

	if r := f.apply(step(CASwitch, "bbbb"))[0]; r.Err != nil {
		t.Fatalf("switch: %v", r.Err)
	}
	if got, _ := latest(); got.Step != CASwitch || got.SwitchedAt != baseTime+10 || !got.InProgress() {
		t.Fatalf("after the switch: %+v", got)
	}
	refused("abort after the switch", step(CAAbort, "bbbb"))
	refused("switch twice", step(CASwitch, "bbbb"))
	if r := f.apply(step(CAFinish, "bbbb"))[0]; r.Err != nil {
		t.Fatalf("finish: %v", r.Err)
	}
	if got, _ := latest(); got.Step != CAFinish || got.FinishedAt != baseTime+10 || got.InProgress() {
		t.Fatalf("after the finish: %+v", got)
	}

	refused("the same CA staged again", stage("bbbb", "bbbb"))
	refused("a stage that replaces a CA that is not the current one", stage("cccc", "aaaa"))
	if r := f.apply(stage("cccc", "bbbb"))[0]; r.Err != nil {
		t.Fatalf("second rotation: %v", r.Err)
	}
	if r := f.apply(step(CAAbort, "cccc"))[0]; r.Err != nil {
		t.Fatalf("abort: %v", r.Err)
	}
	if got, _ := latest(); got.Step != CAAbort || got.InProgress() {
		t.Fatalf("after the abort: %+v", got)
	}
	// After an abort the CA in force is still bbbb's rotation's: a new
	// stage may follow the aborted one.
	if r := f.apply(stage("dddd", "bbbb"))[0]; r.Err != nil {
		t.Fatalf("stage after an abort: %v", r.Err)
	}

	all, err := f.db.CARotations(f.ctx)
	if err != nil || len(all) != 3 || all[0].Fingerprint != "bbbb" || all[0].Step != CAFinish || all[1].Fingerprint != "cccc" ||
		all[1].Step != CAAbort || all[2].Fingerprint != "dddd" || all[2].Step != CAStage {
		t.Fatalf("CARotations = %+v, %v", all, err)
	}

	want := []string{"ca_rotation:stage", "ca_rotation:switch", "ca_rotation:finish", "ca_rotation:stage", "ca_rotation:abort", "ca_rotation:stage"}
	rows, err := f.db.wr().QueryContext(f.ctx, "SELECT action, actor FROM audit_log WHERE action LIKE 'ca_rotation:%' ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var gotActions []string
	for rows.Next() {
		var action, actor string
		if err := rows.Scan(&action, &actor); err != nil {
			t.Fatal(err)
		}
		if actor != "operator:n1" && actor != "operator:n2" {
			t.Errorf("audit actor %q", actor)
		}
		gotActions = append(gotActions, action)
	}
	if len(gotActions) != len(want) {
		t.Fatalf("audit %v, want %v", gotActions, want)
	}
	for i := range want {
		if gotActions[i] != want[i] {
			t.Fatalf("audit %v, want %v", gotActions, want)
		}
	}
}
