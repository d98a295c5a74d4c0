package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Rotating the cluster key (Rekey). Everything the cluster key protects is
// moved under a new one, offline, in a copy of the database that a restore
// is about to start a new cluster from (node.RestoreWith, NewClusterKey):
//
//   - every family gets a fresh data key, wrapped by the new key, and every
//     sealed field of the family (parents' e-mails, children's nicknames,
//     turns, Daisy's state) is opened with the old data key and sealed
//     again with the new one — so a copy of the old key and of an old
//     database opens nothing written after the rotation;
//   - e-mail blind indexes (parents, staff) are recomputed from the opened
//     addresses, and the failed-login counters keyed by them follow;
//   - secrets sealed by the cluster key are resealed (staff e-mails, the
//     consent confirmations waiting in the e-mail outbox) or, where the
//     old key would have exposed them, dropped: the token-signing keys
//     (every parent, staff member and child device signs in again; devices
//     are revoked, parents link them again), staff second factors (each
//     staff member enrols a new one at the next login, with new recovery
//     codes);
//   - keyed hashes that cannot be recomputed (refresh tokens, link codes,
//     e-mail tokens, staff invitations, recovery codes, rate counters) are
//     dropped with what they belong to (parent and staff sessions, e-mails
//     carrying those tokens);
//   - the audit log gains one entry; its older entries keep the blind-index
//     prefixes they were written with (it is append-only and chained).
//
// It runs in one transaction (nothing changes if any value fails to open
// with the old key), then VACUUMs the file so no page of it still holds a
// value sealed under the old keys.

// RekeyInfo counts what Rekey re-encrypted, carried over and dropped.
type RekeyInfo struct {
	Families, Parents, Children, Turns, Companions, Staff, Mail int // re-encrypted or resealed
	LoginFailures                                               int // counters carried to the new blind index
	DevicesRevoked, StaffMFAReset                               int
	// Dropped counts deleted rows by table.
	Dropped map[string]int
}

// rekeyPage is how many rows Rekey reads at a time from a large table.
const rekeyPage = 500

// rekeyDropped are the tables whose rows only the old key can use, in the
// order they are emptied (children before what they reference).
var rekeyDropped = []string{"refresh_tokens", "sessions", "link_codes", "email_tokens", "rate_hits",
	"staff_sessions", "staff_invites", "staff_recovery_codes", "signing_keys"}

// Rekey moves the database file at path (not open elsewhere: a copy being
// restored, already checked by PrepareRestore) from the cluster key behind from to the one behind to. now
// (Unix milliseconds) stamps the revocations and the audit entry.
func Rekey(ctx context.Context, path string, from, to *Keyring, now int64) (RekeyInfo, error) {
	if from == nil || to == nil {
		return RekeyInfo{}, errors.New("storage: rekey: both keyrings are required")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=secure_delete(1)")
	if err != nil {
		return RekeyInfo{}, fmt.Errorf("storage: rekey: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return RekeyInfo{}, fmt.Errorf("storage: rekey: %w", err)
	}
	defer tx.Rollback()
	r := &rekeyer{ctx: ctx, tx: tx, from: from, to: to, now: now, deks: map[string]dekPair{},
		bidx: map[string][]byte{}, info: RekeyInfo{Dropped: map[string]int{}}}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"family keys", r.families},
		{"parents", r.parents},
		{"children", r.children},
		{"turns", r.turns},
		{"Daisy's state", r.companions},
		{"staff", r.staff},
		{"e-mail outbox", r.mail},
		{"failed logins", r.loginFailures},
		{"what only the old key can use", r.drop},
		{"audit log", r.audit},
	} {
		if err := step.run(); err != nil {
			return RekeyInfo{}, fmt.Errorf("storage: rekey: %s: %w", step.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return RekeyInfo{}, fmt.Errorf("storage: rekey: commit: %w", err)
	}
	// Rebuild the file: freed pages would otherwise keep old sealed values.
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return RekeyInfo{}, fmt.Errorf("storage: rekey: vacuum: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return RekeyInfo{}, fmt.Errorf("storage: rekey: checkpoint: %w", err)
	}
	return r.info, nil
}

type dekPair struct{ old, new []byte }

type rekeyer struct {
	ctx      context.Context
	tx       *sql.Tx
	from, to *Keyring
	now      int64
	deks     map[string]dekPair // family ID → its old and new data keys
	bidx     map[string][]byte  // old e-mail blind index → new
	info     RekeyInfo
}

func (r *rekeyer) hasTable(name string) (bool, error) {
	var n int
	err := r.tx.QueryRowContext(r.ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", name).Scan(&n)
	return n > 0, err
}

// reseal opens a family's sealed value with its old data key and seals it
// with the new one, under the same associated data.
func (r *rekeyer) reseal(familyID string, sealed, aad []byte) ([]byte, error) {
	k, ok := r.deks[familyID]
	if !ok {
		return nil, fmt.Errorf("no data key for family %s", familyID)
	}
	plain, err := Unseal(k.old, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("%s does not open with its family's key: %w", aad, err)
	}
	return Seal(k.new, plain, aad)
}

// pages calls each for every row of query, rekeyPage rows at a time. The
// query takes the last key seen as its one parameter, returns the key
// first and orders by it; each returns nothing until the page is read, so
// updates never run under an open cursor.
func (r *rekeyer) pages(query string, scan func(*sql.Rows) (key string, row any, err error), each func(row any) error) error {
	last := ""
	for {
		rows, err := r.tx.QueryContext(r.ctx, query, last, rekeyPage)
		if err != nil {
			return err
		}
		var page []any
		for rows.Next() {
			key, row, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			last = key
			page = append(page, row)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, row := range page {
			if err := each(row); err != nil {
				return err
			}
		}
		if len(page) < rekeyPage {
			return nil
		}
	}
}

func (r *rekeyer) families() error {
	type fam struct {
		id      string
		wrapped []byte
	}
	return r.pages("SELECT id, wrapped_key FROM families WHERE id > ? ORDER BY id LIMIT ?",
		func(rows *sql.Rows) (string, any, error) {
			var f fam
			err := rows.Scan(&f.id, &f.wrapped)
			return f.id, f, err
		},
		func(row any) error {
			f := row.(fam)
			old, err := r.from.UnwrapDataKey(f.id, f.wrapped)
			if err != nil {
				return fmt.Errorf("family %s: its data key does not open with the old cluster key: %w", f.id, err)
			}
			dek, err := NewDataKey()
			if err != nil {
				return err
			}
			wrapped, err := r.to.WrapDataKey(f.id, dek)
			if err != nil {
				return err
			}
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE families SET wrapped_key=? WHERE id=?", wrapped, f.id); err != nil {
				return err
			}
			r.deks[f.id] = dekPair{old: old, new: dek}
			r.info.Families++
			return nil
		})
}

func (r *rekeyer) parents() error {
	type parent struct {
		id, family  string
		bidx, email []byte
	}
	return r.pages("SELECT id, family_id, email_bidx, email_sealed FROM parents WHERE id > ? ORDER BY id LIMIT ?",
		func(rows *sql.Rows) (string, any, error) {
			var p parent
			err := rows.Scan(&p.id, &p.family, &p.bidx, &p.email)
			return p.id, p, err
		},
		func(row any) error {
			p := row.(parent)
			k, ok := r.deks[p.family]
			if !ok {
				return fmt.Errorf("parent %s: no data key for family %s", p.id, p.family)
			}
			aad := FieldAAD(FieldEmail, p.id)
			email, err := Unseal(k.old, p.email, aad)
			if err != nil {
				return fmt.Errorf("parent %s: the e-mail does not open with its family's key: %w", p.id, err)
			}
			sealed, err := Seal(k.new, email, aad)
			if err != nil {
				return err
			}
			bidx := r.to.EmailIndex(string(email))
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE parents SET email_bidx=?, email_sealed=? WHERE id=?", bidx, sealed, p.id); err != nil {
				return err
			}
			r.bidx[string(p.bidx)] = bidx
			r.info.Parents++
			return nil
		})
}

func (r *rekeyer) children() error {
	type child struct {
		id, family string
		nick       []byte
	}
	return r.pages("SELECT id, family_id, nickname_sealed FROM children WHERE id > ? ORDER BY id LIMIT ?",
		func(rows *sql.Rows) (string, any, error) {
			var c child
			err := rows.Scan(&c.id, &c.family, &c.nick)
			return c.id, c, err
		},
		func(row any) error {
			c := row.(child)
			sealed, err := r.reseal(c.family, c.nick, FieldAAD(FieldNickname, c.id))
			if err != nil {
				return err
			}
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE children SET nickname_sealed=? WHERE id=?", sealed, c.id); err != nil {
				return err
			}
			r.info.Children++
			return nil
		})
}

func (r *rekeyer) turns() error {
	type turn struct {
		id, family string
		msg, reply []byte
	}
	return r.pages(`SELECT t.id, c.family_id, t.message_sealed, t.reply_sealed FROM turns t
		JOIN children c ON c.id = t.child_id WHERE t.id > ? ORDER BY t.id LIMIT ?`,
		func(rows *sql.Rows) (string, any, error) {
			var t turn
			err := rows.Scan(&t.id, &t.family, &t.msg, &t.reply)
			return t.id, t, err
		},
		func(row any) error {
			t := row.(turn)
			msg, err := r.reseal(t.family, t.msg, FieldAAD(FieldMessage, t.id))
			if err != nil {
				return err
			}
			reply, err := r.reseal(t.family, t.reply, FieldAAD(FieldReply, t.id))
			if err != nil {
				return err
			}
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE turns SET message_sealed=?, reply_sealed=? WHERE id=?", msg, reply, t.id); err != nil {
				return err
			}
			r.info.Turns++
			return nil
		})
}

func (r *rekeyer) companions() error {
	type companion struct {
		child, family string
		state         []byte
	}
	return r.pages(`SELECT m.child_id, c.family_id, m.state_sealed FROM companions m
		JOIN children c ON c.id = m.child_id WHERE m.child_id > ? AND length(m.state_sealed) > 0 ORDER BY m.child_id LIMIT ?`,
		func(rows *sql.Rows) (string, any, error) {
			var m companion
			err := rows.Scan(&m.child, &m.family, &m.state)
			return m.child, m, err
		},
		func(row any) error {
			m := row.(companion)
			sealed, err := r.reseal(m.family, m.state, FieldAAD(FieldCompanion, m.child))
			if err != nil {
				return err
			}
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE companions SET state_sealed=? WHERE child_id=?", sealed, m.child); err != nil {
				return err
			}
			r.info.Companions++
			return nil
		})
}

// staff reseals staff e-mails, recomputes their blind indexes and resets
// their second factor (its secret was sealed under the old key).
func (r *rekeyer) staff() error {
	if ok, err := r.hasTable("staff"); err != nil || !ok {
		return err
	}
	type member struct {
		id          string
		bidx, email []byte
		mfa         bool
	}
	err := r.pages(`SELECT id, email_bidx, email_sealed, totp_sealed IS NOT NULL OR totp_enabled FROM staff
		WHERE id > ? ORDER BY id LIMIT ?`,
		func(rows *sql.Rows) (string, any, error) {
			var m member
			err := rows.Scan(&m.id, &m.bidx, &m.email, &m.mfa)
			return m.id, m, err
		},
		func(row any) error {
			m := row.(member)
			label := "staff-email:" + m.id
			email, err := r.from.OpenSecret(label, m.email)
			if err != nil {
				return fmt.Errorf("staff %s: the e-mail does not open with the old cluster key: %w", m.id, err)
			}
			sealed, err := r.to.SealSecret(label, email)
			if err != nil {
				return err
			}
			bidx := r.to.EmailIndex(string(email))
			if _, err := r.tx.ExecContext(r.ctx, `UPDATE staff SET email_bidx=?, email_sealed=?,
				totp_sealed=NULL, totp_enabled=0, totp_last_step=0 WHERE id=?`, bidx, sealed, m.id); err != nil {
				return err
			}
			r.bidx[string(m.bidx)] = bidx
			r.info.Staff++
			if m.mfa {
				r.info.StaffMFAReset++
			}
			return nil
		})
	return err
}

// mail reseals the e-mails waiting in the outbox, except those carrying a
// token (address verification, password reset): their tokens' hashes are
// dropped, so the links would not work; the parent asks again.
func (r *rekeyer) mail() error {
	if ok, err := r.hasTable("mail_outbox"); err != nil || !ok {
		return err
	}
	res, err := r.tx.ExecContext(r.ctx, "DELETE FROM mail_outbox WHERE kind IN ('verify_email', 'password_reset')")
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		r.info.Dropped["mail_outbox"] = int(n)
	}
	type mail struct {
		id     string
		sealed []byte
	}
	return r.pages("SELECT id, sealed FROM mail_outbox WHERE id > ? ORDER BY id LIMIT ?",
		func(rows *sql.Rows) (string, any, error) {
			var m mail
			err := rows.Scan(&m.id, &m.sealed)
			return m.id, m, err
		},
		func(row any) error {
			m := row.(mail)
			plain, err := r.from.OpenSecret(MailLabel(m.id), m.sealed)
			if err != nil {
				return fmt.Errorf("e-mail %s does not open with the old cluster key: %w", m.id, err)
			}
			sealed, err := r.to.SealSecret(MailLabel(m.id), plain)
			if err != nil {
				return err
			}
			if _, err := r.tx.ExecContext(r.ctx, "UPDATE mail_outbox SET sealed=? WHERE id=?", sealed, m.id); err != nil {
				return err
			}
			r.info.Mail++
			return nil
		})
}

// loginFailures moves each account's counter to its new blind index and
// drops counters of addresses that have no account.
func (r *rekeyer) loginFailures() error {
	type counter struct {
		bidx            []byte
		failures, until int64
	}
	rows, err := r.tx.QueryContext(r.ctx, "SELECT email_bidx, failures, locked_until FROM login_failures")
	if err != nil {
		return err
	}
	var all []counter
	for rows.Next() {
		var c counter
		if err := rows.Scan(&c.bidx, &c.failures, &c.until); err != nil {
			rows.Close()
			return err
		}
		all = append(all, c)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := r.tx.ExecContext(r.ctx, "DELETE FROM login_failures"); err != nil {
		return err
	}
	for _, c := range all {
		bidx, ok := r.bidx[string(c.bidx)]
		if !ok {
			r.info.Dropped["login_failures"]++
			continue
		}
		if _, err := r.tx.ExecContext(r.ctx, "INSERT INTO login_failures(email_bidx, failures, locked_until) VALUES (?,?,?)",
			bidx, c.failures, c.until); err != nil {
			return err
		}
		r.info.LoginFailures++
	}
	return nil
}

// drop empties the tables only the old key can use and revokes every child
// device (their tokens were signed by dropped keys).
func (r *rekeyer) drop() error {
	for _, table := range rekeyDropped {
		ok, err := r.hasTable(table)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		res, err := r.tx.ExecContext(r.ctx, "DELETE FROM "+table) // #nosec G202 -- fixed table names
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			r.info.Dropped[table] = int(n)
		}
	}
	res, err := r.tx.ExecContext(r.ctx, "UPDATE devices SET revoked_at=? WHERE revoked_at IS NULL", r.now)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	r.info.DevicesRevoked = int(n)
	return nil
}

// ActionClusterKeyRotated is the audit action of a rotation.
const ActionClusterKeyRotated = "cluster_key_rotated"

func (r *rekeyer) audit() error {
	var seq int64
	prev := make([]byte, 32)
	err := r.tx.QueryRowContext(r.ctx, qLastAudit).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	seq++
	e := AuditEvent{At: r.now, Actor: "system", Action: ActionClusterKeyRotated,
		Target: fmt.Sprintf("families=%d turns=%d", r.info.Families, r.info.Turns)}
	_, err = r.tx.ExecContext(r.ctx, qInsertAudit, seq, e.At, e.Actor, e.Action, e.Target, prev, auditHash(prev, seq, e))
	return err
}
