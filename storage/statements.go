package storage

// Statements the FSM runs, prepared once on the writer connection when the
// database opens (parsing SQL is a large share of a small command's cost).
const (
	qAppliedIndex      = "SELECT COALESCE((SELECT v FROM meta WHERE k='applied_index'),0)"
	qSavepoint         = "SAVEPOINT cmd"
	qRollbackSavepoint = "ROLLBACK TO cmd"
	qReleaseSavepoint  = "RELEASE cmd"
	qSetAppliedIndex   = "INSERT INTO meta(k,v) VALUES('applied_index',?) ON CONFLICT(k) DO UPDATE SET v=excluded.v"
	qInsertSigningKey  = "INSERT OR IGNORE INTO signing_keys(kid, public_key, private_sealed, created_at) VALUES (?,?,?,?)"
	qCountParentEmail  = "SELECT COUNT(*) FROM parents WHERE email_bidx=?"
	qInsertFamily      = "INSERT INTO families(id, wrapped_key, created_at) VALUES (?,?,?)"
	qInsertParent      = `INSERT INTO parents(id, family_id, email_bidx, email_sealed, password_hash, created_at)
		VALUES (?,?,?,?,?,?)`
	qParentFamily  = "SELECT family_id FROM parents WHERE id=?"
	qInsertChild   = "INSERT INTO children(id, family_id, nickname_sealed, age_tier, created_at) VALUES (?,?,?,?,?)"
	qChildOfParent = `SELECT COUNT(*) FROM children c JOIN parents p ON p.family_id = c.family_id
		WHERE c.id=? AND p.id=?`
	qVoidLinkCodes  = "DELETE FROM link_codes WHERE child_id=? AND used_at IS NULL"
	qInsertLinkCode = "INSERT INTO link_codes(code_hash, child_id, created_at, expires_at) VALUES (?,?,?,?)"
	qLiveLinkCode   = "SELECT " + childCols + ` FROM link_codes l JOIN children c ON c.id = l.child_id
		WHERE l.code_hash=? AND l.used_at IS NULL AND l.expires_at > ?`
	qUseLinkCode  = "UPDATE link_codes SET used_at=? WHERE code_hash=?"
	qInsertDevice = "INSERT INTO devices(id, child_id, created_at) VALUES (?,?,?)"
	// qTurnChecks is everything a chat turn checks before it writes, in one
	// statement: the next seq (no row: no such child), Daisy's state version
	// (0 before the first write) and whether the device is active.
	// The next seq is above every stored turn and above turn_seq_floor (the
	// highest seq retention deleted), so a number is never used twice.
	qTurnChecks = `SELECT MAX(COALESCE((SELECT MAX(seq) FROM turns WHERE child_id=?),0), turn_seq_floor)+1,
		COALESCE((SELECT state_version FROM companions WHERE child_id=?),0),
		EXISTS(SELECT 1 FROM devices WHERE id=? AND child_id=? AND revoked_at IS NULL)
		FROM children WHERE id=?`
	qInsertTurn = `INSERT INTO turns(id, child_id, seq, created_at, message_sealed, reply_sealed, intent,
		in_action, in_categories, out_action, out_categories, escalate, fail_closed, policy_version)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	qInsertSafetyEvent = `INSERT INTO safety_events(id, child_id, turn_id, kind, categories, policy_version, created_at)
			VALUES (?,?,?,?,?,?,?)`
	qInsertSession      = "INSERT INTO sessions(id, parent_id, created_at) VALUES (?,?,?)"
	qInsertRefresh      = "INSERT INTO refresh_tokens(hash, session_id, created_at, expires_at) VALUES (?,?,?,?)"
	qClearLoginFailures = "DELETE FROM login_failures WHERE email_bidx=?"
	qRefreshToken       = `SELECT r.session_id, r.expires_at, r.used_at IS NOT NULL, s.revoked_at IS NOT NULL, s.parent_id, p.family_id
		FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN parents p ON p.id = s.parent_id WHERE r.hash=?`
	qUseRefresh        = "UPDATE refresh_tokens SET used_at=? WHERE hash=?"
	qRevokeSession     = "UPDATE sessions SET revoked_at=? WHERE id=? AND parent_id=? AND revoked_at IS NULL"
	qRevokeAllSessions = "UPDATE sessions SET revoked_at=? WHERE parent_id=? AND revoked_at IS NULL"
	qBumpLoginFailures = `INSERT INTO login_failures(email_bidx, failures, locked_until) VALUES (?,1,0)
		ON CONFLICT(email_bidx) DO UPDATE SET failures = failures + 1 RETURNING failures`
	qLockAccount       = "UPDATE login_failures SET locked_until=? WHERE email_bidx=?"
	qLastAudit         = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
	qInsertAudit       = "INSERT INTO audit_log(seq, at, actor, action, target, prev, hash) VALUES (?,?,?,?,?,?,?)"
	qPutCompanionState = `INSERT INTO companions(child_id, state_sealed, state_at, state_version) VALUES (?,?,?,1)
		ON CONFLICT(child_id) DO UPDATE SET state_sealed=excluded.state_sealed, state_at=excluded.state_at,
		state_version=companions.state_version+1`
	qPutSettings = `INSERT INTO companions(child_id, settings, settings_at) VALUES (?,?,?)
		ON CONFLICT(child_id) DO UPDATE SET settings=excluded.settings, settings_at=excluded.settings_at`
	qRetireKeys = `DELETE FROM signing_keys WHERE created_at < ?
		AND kid <> (SELECT kid FROM signing_keys ORDER BY created_at DESC, kid LIMIT 1)`
	qRevokeDevice = `UPDATE devices SET revoked_at=? WHERE id=? AND child_id=? AND revoked_at IS NULL
		AND child_id IN (SELECT c.id FROM children c JOIN parents p ON p.family_id = c.family_id WHERE p.id=?)`
)

// applyStatements lists every statement prepared at open.
var applyStatements = [...]string{
	qRevokeDevice,
	qPutCompanionState,
	qPutSettings,
	qRetireKeys,
	qLastAudit,
	qInsertAudit,
	qInsertSession,
	qInsertRefresh,
	qClearLoginFailures,
	qRefreshToken,
	qUseRefresh,
	qRevokeSession,
	qRevokeAllSessions,
	qBumpLoginFailures,
	qLockAccount,
	qAppliedIndex,
	qSavepoint,
	qRollbackSavepoint,
	qReleaseSavepoint,
	qSetAppliedIndex,
	qInsertSigningKey,
	qCountParentEmail,
	qInsertFamily,
	qInsertParent,
	qParentFamily,
	qInsertChild,
	qChildOfParent,
	qVoidLinkCodes,
	qInsertLinkCode,
	qLiveLinkCode,
	qUseLinkCode,
	qInsertDevice,
	qTurnChecks,
	qInsertTurn,
	qInsertSafetyEvent,
}
