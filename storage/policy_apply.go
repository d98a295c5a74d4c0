package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// applyPolicy applies the policy lifecycle commands; ok is false for any
// other command.
func applyPolicy(a *txApplier, c Command) (val any, ok bool, err error) {
	switch c := c.(type) {
	case *AddPolicyKey:
		if !validPolicyKey(c.PublicKey, c.KeyID) {
			return nil, true, outcome(fmt.Errorf("storage: policy key %q: bad key or key id", c.KeyID))
		}
		_, err := a.exec("INSERT INTO policy_keys(key_id, public_key, added_at, added_by) VALUES (?, ?, ?, ?)", c.KeyID, c.PublicKey, c.At, c.By)
		if err != nil && strings.Contains(err.Error(), "constraint failed") {
			return nil, true, outcome(fmt.Errorf("%w: policy key %s is already trusted", ErrConflict, c.KeyID))
		}
		return nil, true, err
	case *RevokePolicyKey:
		res, err := a.exec("DELETE FROM policy_keys WHERE key_id=?", c.KeyID)
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, outcome(fmt.Errorf("%w: policy key %q is not trusted", ErrNotFound, c.KeyID))
		}
		active, err := activePolicy(a)
		if err != nil {
			return nil, true, err
		}
		out := KeyRevoked{}
		if active != "" {
			kid, err := bundleKey(a, active)
			if err != nil {
				return nil, true, err
			}
			if kid == c.KeyID {
				out.ActiveSignedByKey = active
			}
		}
		return out, true, nil
	case *StagePolicy:
		var n int
		if err := a.row("SELECT count(*) FROM policy_keys WHERE key_id=?", c.KeyID).Scan(&n); err != nil {
			return nil, true, err
		}
		if n == 0 || c.ID == "" || len(c.Bundle) == 0 {
			return nil, true, outcome(fmt.Errorf("%w: policy signing key %q is not trusted", ErrNotFound, c.KeyID))
		}
		_, err := a.exec("INSERT INTO policy_bundles(id, bundle, sha256, key_id, staged_at, staged_by) VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, c.Bundle, c.SHA256, c.KeyID, c.At, c.By)
		if err != nil && strings.Contains(err.Error(), "constraint failed") {
			return nil, true, outcome(fmt.Errorf("%w: policy %s is already staged", ErrConflict, c.ID))
		}
		return nil, true, err
	case *ActivatePolicy:
		if err := requireStaged(a, c.ID); err != nil {
			return nil, true, err
		}
		if err := requireTrustedSigner(a, c.ID); err != nil {
			return nil, true, err
		}
		active, err := activePolicy(a)
		if err != nil {
			return nil, true, err
		}
		if active == c.ID {
			return nil, true, outcome(fmt.Errorf("%w: %s is already active", ErrConflict, c.ID))
		}
		if _, err := a.exec("INSERT INTO policy_activations(bundle_id, at, by) VALUES (?, ?, ?)", c.ID, c.At, c.By); err != nil {
			return nil, true, err
		}
		if _, err = a.exec("DELETE FROM policy_shadow WHERE bundle_id=?", c.ID); err != nil {
			return nil, true, err
		}
		_, err = a.exec("DELETE FROM policy_shadow_counts WHERE bundle_id=?", c.ID)
		return PolicyActivation{Active: c.ID}, true, err
	case *ShadowPolicy:
		// A new (or no) shadow run starts counting from zero.
		if _, err := a.exec("DELETE FROM policy_shadow_counts"); err != nil {
			return nil, true, err
		}
		if c.ID == "" {
			_, err := a.exec("DELETE FROM policy_shadow")
			return nil, true, err
		}
		if err := requireStaged(a, c.ID); err != nil {
			return nil, true, err
		}
		if err := requireTrustedSigner(a, c.ID); err != nil {
			return nil, true, err
		}
		_, err := a.exec("INSERT INTO policy_shadow(id, bundle_id, at, by) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET bundle_id=excluded.bundle_id, at=excluded.at, by=excluded.by", c.ID, c.At, c.By)
		return nil, true, err
	case *RollbackPolicy:
		res, err := a.exec("DELETE FROM policy_activations WHERE seq=(SELECT max(seq) FROM policy_activations)")
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, outcome(fmt.Errorf("%w: nothing to roll back (the embedded default is active)", ErrNotFound))
		}
		active, err := activePolicy(a)
		if err != nil {
			return nil, true, err
		}
		if active != "" {
			if err := requireTrustedSigner(a, active); err != nil {
				return nil, true, outcome(fmt.Errorf("%w; activate a version signed by a trusted key instead", err))
			}
		}
		return PolicyActivation{Active: active}, true, nil
	case *RefusePolicy:
		return nil, true, nil
	case *ReportShadow:
		var n int
		if err := a.row("SELECT count(*) FROM policy_shadow WHERE bundle_id=?", c.ID).Scan(&n); err != nil {
			return nil, true, err
		}
		if n == 0 {
			return nil, true, nil // the run ended while the report was in flight
		}
		_, err := a.exec(`INSERT INTO policy_shadow_counts(node_id, bundle_id, against, evaluated, disagreed, errors, skipped, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(node_id, bundle_id, against) DO UPDATE SET evaluated=evaluated+excluded.evaluated,
			disagreed=disagreed+excluded.disagreed, errors=errors+excluded.errors, skipped=skipped+excluded.skipped, at=excluded.at`,
			c.Node, c.ID, c.Against, int64(c.Evaluated), int64(c.Disagreed), int64(c.Errors), int64(c.Skipped), c.At)
		return nil, true, err
	case *UnstagePolicy:
		if err := requireStaged(a, c.ID); err != nil {
			return nil, true, err
		}
		var inUse int
		if err := a.row("SELECT (SELECT count(*) FROM policy_activations WHERE bundle_id=?) + (SELECT count(*) FROM policy_shadow WHERE bundle_id=?)", c.ID, c.ID).Scan(&inUse); err != nil {
			return nil, true, err
		}
		if inUse > 0 {
			return nil, true, outcome(fmt.Errorf("%w: %s is active, a rollback target or in shadow", ErrConflict, c.ID))
		}
		if _, err := a.exec("DELETE FROM policy_reports WHERE bundle_id=?", c.ID); err != nil {
			return nil, true, err
		}
		_, err := a.exec("DELETE FROM policy_bundles WHERE id=?", c.ID)
		return nil, true, err
	case *ReportPolicy:
		if err := requireStaged(a, c.ID); err != nil {
			return nil, true, err
		}
		_, err := a.exec("INSERT INTO policy_reports(node_id, bundle_id, ok, error, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(node_id, bundle_id) DO UPDATE SET ok=excluded.ok, error=excluded.error, at=excluded.at",
			c.Node, c.ID, c.OK, c.Error, c.At)
		return nil, true, err
	}
	return nil, false, nil
}

func requireStaged(a *txApplier, id string) error {
	var n int
	if err := a.row("SELECT count(*) FROM policy_bundles WHERE id=?", id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return outcome(fmt.Errorf("%w: policy %q is not staged", ErrNotFound, id))
	}
	return nil
}

// bundleKey returns the key that signed a staged bundle.
func bundleKey(a *txApplier, id string) (string, error) {
	var kid string
	if err := a.row("SELECT key_id FROM policy_bundles WHERE id=?", id).Scan(&kid); err != nil {
		return "", fmt.Errorf("storage: signing key of %s: %w", id, err)
	}
	return kid, nil
}

// requireTrustedSigner refuses a bundle whose signing key was revoked.
func requireTrustedSigner(a *txApplier, id string) error {
	kid, err := bundleKey(a, id)
	if err != nil {
		return err
	}
	var n int
	if err := a.row("SELECT count(*) FROM policy_keys WHERE key_id=?", kid).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return outcome(fmt.Errorf("%w: policy %s was signed by key %s, which is no longer trusted", ErrConflict, id, kid))
	}
	return nil
}

func activePolicy(a *txApplier) (string, error) {
	var id string
	err := a.row("SELECT bundle_id FROM policy_activations ORDER BY seq DESC LIMIT 1").Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// auditPolicy maps the policy commands to audit events.
func auditPolicy(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *AddPolicyKey:
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_key_added", Target: "policy_key:" + c.KeyID}, true
	case *RevokePolicyKey:
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_key_revoked", Target: "policy_key:" + c.KeyID}, true
	case *StagePolicy:
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_staged", Target: "policy:" + c.ID}, true
	case *ActivatePolicy:
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_activated", Target: "policy:" + c.ID}, true
	case *ShadowPolicy:
		if c.ID == "" {
			return AuditEvent{At: c.At, Actor: c.By, Action: "policy_shadow_ended", Target: "policy:"}, true
		}
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_shadow_started", Target: "policy:" + c.ID}, true
	case *RollbackPolicy:
		target := "policy:default"
		if r, ok := result.(PolicyActivation); ok && r.Active != "" {
			target = "policy:" + r.Active
		}
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_rolled_back", Target: target}, true
	case *UnstagePolicy:
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_unstaged", Target: "policy:" + c.ID}, true
	case *ReportPolicy:
		if !c.OK {
			return AuditEvent{At: c.At, Actor: "node:" + c.Node, Action: "policy_failed_on_node", Target: "policy:" + c.ID}, true
		}
	case *RefusePolicy:
		reason := c.Reason
		if len(reason) > 200 {
			reason = reason[:200]
		}
		return AuditEvent{At: c.At, Actor: c.By, Action: "policy_refused", Target: "policy:" + c.ID + " (" + reason + ")"}, true
	}
	return AuditEvent{}, false
}
