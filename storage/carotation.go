package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CA rotation: replacing the cluster CA while the cluster runs (the
// node package's carotation.go does the work on each node; this file holds
// the replicated record and decides, on every node alike, which step may
// follow which). A rotation has three steps, each one command:
//
//	stage   a new CA (its key sealed under the cluster key) is recorded;
//	        every node trusts it beside the current one
//	switch  every node issues itself a certificate from the new CA and
//	        presents it; both CAs are still trusted; a new join token
//	finish  the old CA is trusted no more
//
// Only one rotation is in progress at a time; a stage may be abandoned
// (step "abort") until the switch. The record keeps what every node needs
// to reach the state from its files alone at any time: the certificates,
// the sealed keys, the join token's hash.

// KindRotateCA is newer than the upgrade baseline (upgrade.go).
const KindRotateCA = "rotate_ca"

// CA rotation steps.
const (
	CAStage  = "stage"
	CASwitch = "switch"
	CAFinish = "finish"
	CAAbort  = "abort"
)

// RotateCA is one step of a CA rotation. Stage carries everything; the
// other steps name the rotation by the new CA's fingerprint. Operator is
// the node whose operator tool proposed the step (audit).
type RotateCA struct {
	Step        string `json:"step"`
	Fingerprint string `json:"fingerprint"`
	// Stage only:
	CertPEM          string `json:"cert,omitempty"`
	KeySealed        []byte `json:"key,omitempty"`  // the CA key, Keyring.SealSecret("ca-key:"+Fingerprint)
	PrevFingerprint  string `json:"prev,omitempty"` // the CA it replaces
	PrevCertPEM      string `json:"prev_cert,omitempty"`
	JoinSecretSealed []byte `json:"join,omitempty"` // the new join secret, SealSecret("join-secret:"+Fingerprint)
	JoinHash         string `json:"join_hash,omitempty"`
	Operator         string `json:"operator"`
	Now              int64  `json:"at"`
}

func (RotateCA) Kind() string { return KindRotateCA }
func (RotateCA) Version() int { return 1 }

// CARotation is the latest rotation as recorded (Step: the last step
// applied: "stage", "switch", "finish" or "abort").
type CARotation struct {
	Fingerprint      string
	PrevFingerprint  string
	CertPEM          string
	PrevCertPEM      string
	KeySealed        []byte
	JoinSecretSealed []byte
	JoinHash         string
	Step             string
	StagedAt         int64
	SwitchedAt       int64
	FinishedAt       int64
}

// InProgress reports whether the rotation is staged or switched.
func (r CARotation) InProgress() bool { return r.Step == CAStage || r.Step == CASwitch }

// ErrCARotation is a step that does not follow the recorded one.
var ErrCARotation = errors.New("storage: CA rotation step out of order")

const (
	qLatestCARotation = `SELECT fingerprint, prev_fingerprint, cert_pem, prev_cert_pem, key_sealed, join_secret_sealed, join_hash,
		step, staged_at, COALESCE(switched_at, 0), COALESCE(finished_at, 0) FROM ca_rotations ORDER BY seq DESC LIMIT 1`
	qAllCARotations = `SELECT fingerprint, prev_fingerprint, cert_pem, prev_cert_pem, key_sealed, join_secret_sealed, join_hash,
		step, staged_at, COALESCE(switched_at, 0), COALESCE(finished_at, 0) FROM ca_rotations ORDER BY seq`
	qInsertCARotation = `INSERT INTO ca_rotations (fingerprint, prev_fingerprint, cert_pem, prev_cert_pem, key_sealed, join_secret_sealed,
		join_hash, step, staged_at, staged_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'stage', ?, ?)`
	qSwitchCARotation = `UPDATE ca_rotations SET step='switch', switched_at=? WHERE fingerprint=?`
	qFinishCARotation = `UPDATE ca_rotations SET step='finish', finished_at=? WHERE fingerprint=?`
	qAbortCARotation  = `UPDATE ca_rotations SET step='abort', finished_at=? WHERE fingerprint=?`
)

// caRotationStatements are checked against full scans (explain_test.go).
var caRotationStatements = [...]string{qLatestCARotation, qSwitchCARotation, qFinishCARotation, qAbortCARotation}

func scanCARotation(sc interface{ Scan(...any) error }) (CARotation, bool, error) {
	var r CARotation
	err := sc.Scan(&r.Fingerprint, &r.PrevFingerprint, &r.CertPEM, &r.PrevCertPEM, &r.KeySealed, &r.JoinSecretSealed, &r.JoinHash,
		&r.Step, &r.StagedAt, &r.SwitchedAt, &r.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return CARotation{}, false, nil
	}
	return r, err == nil, err
}

func applyRotateCA(a *txApplier, c *RotateCA) (CARotation, error) {
	if c.Fingerprint == "" {
		return CARotation{}, outcome(fmt.Errorf("%w: no CA fingerprint", ErrCARotation))
	}
	cur, found, err := scanCARotation(a.row(qLatestCARotation))
	if err != nil {
		return CARotation{}, err
	}
	refuse := func(why string) (CARotation, error) {
		return CARotation{}, outcome(fmt.Errorf("%w: %s", ErrCARotation, why))
	}
	if c.Step == CAStage {
		if found && cur.InProgress() {
			return refuse(fmt.Sprintf("the rotation to %s is at step %q: finish or abort it first", short(cur.Fingerprint), cur.Step))
		}
		if c.CertPEM == "" || len(c.KeySealed) == 0 || c.PrevFingerprint == "" || c.PrevCertPEM == "" || len(c.JoinSecretSealed) == 0 || c.JoinHash == "" {
			return refuse("a stage carries the new CA, its sealed key, the CA it replaces and a join secret")
		}
		if found && cur.Fingerprint == c.Fingerprint {
			return refuse("this CA was staged before")
		}
		if found && cur.Step == CAFinish && c.PrevFingerprint != cur.Fingerprint {
			return refuse(fmt.Sprintf("the current CA is %s, not %s", short(cur.Fingerprint), short(c.PrevFingerprint)))
		}
		if _, err := a.exec(qInsertCARotation, c.Fingerprint, c.PrevFingerprint, c.CertPEM, c.PrevCertPEM, c.KeySealed, c.JoinSecretSealed,
			c.JoinHash, c.Now, c.Operator); err != nil {
			return CARotation{}, err
		}
		r, _, err := scanCARotation(a.row(qLatestCARotation))
		return r, err
	}
	if !found || cur.Fingerprint != c.Fingerprint {
		return refuse(fmt.Sprintf("no rotation to %s was staged", short(c.Fingerprint)))
	}
	var q string
	switch {
	case c.Step == CASwitch && cur.Step == CAStage:
		q, cur.SwitchedAt = qSwitchCARotation, c.Now
	case c.Step == CAFinish && cur.Step == CASwitch:
		q, cur.FinishedAt = qFinishCARotation, c.Now
	case c.Step == CAAbort && cur.Step == CAStage:
		q, cur.FinishedAt = qAbortCARotation, c.Now
	case c.Step == CASwitch, c.Step == CAFinish, c.Step == CAAbort:
		return refuse(fmt.Sprintf("the rotation to %s is at step %q; %q cannot follow it", short(c.Fingerprint), cur.Step, c.Step))
	default:
		return refuse(fmt.Sprintf("unknown step %q", c.Step))
	}
	if _, err := a.exec(q, c.Now, c.Fingerprint); err != nil {
		return CARotation{}, err
	}
	cur.Step = c.Step
	return cur, nil
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

func auditOfCARotation(c Command, result any) (AuditEvent, bool) {
	rc, ok := c.(*RotateCA)
	if !ok {
		return AuditEvent{}, false
	}
	if _, done := result.(CARotation); !done {
		return AuditEvent{}, false
	}
	return AuditEvent{At: rc.Now, Actor: "operator:" + rc.Operator, Action: "ca_rotation:" + rc.Step, Target: "ca:" + short(rc.Fingerprint)}, true
}

// LatestCARotation returns the latest CA rotation (found false: the
// cluster still has the CA it was made with).
func (db *DB) LatestCARotation(ctx context.Context) (CARotation, bool, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	r, found, err := scanCARotation(db.queryRow(ctx, qLatestCARotation))
	if err != nil {
		return CARotation{}, false, fmt.Errorf("storage: CA rotation: %w", err)
	}
	return r, found, nil
}

// CARotations returns every CA rotation, oldest first (a handful in a
// cluster's life).
func (db *DB) CARotations(ctx context.Context) ([]CARotation, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, qAllCARotations)
	if err != nil {
		return nil, fmt.Errorf("storage: CA rotations: %w", err)
	}
	defer rows.Close()
	var out []CARotation
	for rows.Next() {
		r, _, err := scanCARotation(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: CA rotations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
