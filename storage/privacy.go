package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Deletion: a parent can delete one child or the whole family. Rows go
// with ON DELETE CASCADE (children → link codes, devices, turns, safety
// events, Daisy's state; families → parents → sessions → refresh tokens).
// Deleting a family also deletes its wrapped data key, so every sealed
// field of that family still held in the Raft log, older snapshots or
// backups can no longer be opened by anyone (crypto-shredding). The audit
// log keeps its pseudonymous entries (IDs, never content).

// Privacy command kinds.
const (
	KindDeleteChild  = "delete_child"
	KindDeleteFamily = "delete_family"
)

// DeleteChild deletes a child profile and everything about it. Only a
// parent of the child's family may do it: anything else is ErrNotFound.
type DeleteChild struct {
	ParentID string `json:"parent"`
	ChildID  string `json:"child"`
	Now      int64  `json:"at"`
}

func (DeleteChild) Kind() string { return KindDeleteChild }
func (DeleteChild) Version() int { return 1 }

// DeleteFamily deletes the parent's whole family: parents, children, all
// their data and the family's data key.
type DeleteFamily struct {
	ParentID string `json:"parent"`
	FamilyID string `json:"family"`
	Now      int64  `json:"at"`
}

func (DeleteFamily) Kind() string { return KindDeleteFamily }
func (DeleteFamily) Version() int { return 1 }

// FamilyDeleted is DeleteFamily's result: nodes drop the cached data key.
type FamilyDeleted struct {
	FamilyID string
}

func newPrivacyCommand(kind string) Command {
	switch kind {
	case KindDeleteChild:
		return &DeleteChild{}
	case KindDeleteFamily:
		return &DeleteFamily{}
	}
	return nil
}

func applyPrivacy(a *txApplier, c Command) (any, bool, error) {
	switch c := c.(type) {
	case *DeleteChild:
		res, err := a.exec(`DELETE FROM children WHERE id=? AND family_id=(SELECT family_id FROM parents WHERE id=?)`, c.ChildID, c.ParentID)
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, outcome(ErrNotFound)
		}
		return nil, true, nil
	case *DeleteFamily:
		res, err := a.exec(`DELETE FROM families WHERE id=? AND id=(SELECT family_id FROM parents WHERE id=?)`, c.FamilyID, c.ParentID)
		if err != nil {
			return nil, true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, true, outcome(ErrNotFound)
		}
		return FamilyDeleted{FamilyID: c.FamilyID}, true, nil
	}
	return nil, false, nil
}

func auditOfPrivacy(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *DeleteChild:
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "delete_child", Target: "child:" + c.ChildID}, true
	case *DeleteFamily:
		return AuditEvent{At: c.Now, Actor: "parent:" + c.ParentID, Action: "delete_family", Target: "family:" + c.FamilyID}, true
	}
	return auditOfConsent(c, result)
}

// FamilyExport is everything stored about a family, still sealed; the API
// opens it with the family key for the parent's export.
type FamilyExport struct {
	Parents  []ExportParent
	Children []ChildRow
	Settings map[string][]byte // child ID → settings document
	Devices  map[string][]DeviceRow
	Turns    map[string][]TurnRow
	Consents map[string][]ConsentRow // child ID → every consent recorded
}

// ExportParent is a parent row without the password hash.
type ExportParent struct {
	ID          string
	EmailSealed []byte
	CreatedAt   int64
}

// ExportFamily collects the parent actor's family data (parents only).
func (db *DB) ExportFamily(ctx context.Context, actor Actor) (FamilyExport, error) {
	if actor.Role != RoleParent {
		return FamilyExport{}, ErrForbidden
	}
	out := FamilyExport{Settings: map[string][]byte{}, Devices: map[string][]DeviceRow{}, Turns: map[string][]TurnRow{}, Consents: map[string][]ConsentRow{}}
	err := func() error {
		db.swap.RLock()
		defer db.swap.RUnlock()
		rows, err := db.query(ctx, `SELECT p2.id, p2.email_sealed, p2.created_at FROM parents p2
			JOIN parents p ON p.family_id = p2.family_id WHERE p.id=? ORDER BY p2.created_at, p2.id`, actor.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p ExportParent
			if err := rows.Scan(&p.ID, &p.EmailSealed, &p.CreatedAt); err != nil {
				return err
			}
			out.Parents = append(out.Parents, p)
		}
		return rows.Err()
	}()
	if err != nil {
		return out, fmt.Errorf("storage: export parents: %w", err)
	}
	if out.Children, err = db.Children(ctx, actor); err != nil {
		return out, err
	}
	for _, c := range out.Children {
		if out.Devices[c.ID], err = db.Devices(ctx, actor, c.ID); err != nil {
			return out, err
		}
		if out.Consents[c.ID], err = db.Consents(ctx, actor, c.ID); err != nil {
			return out, err
		}
		var all []TurnRow
		before := int64(1) << 62
		for {
			page, err := db.Turns(ctx, actor, c.ID, before, 500)
			if err != nil {
				return out, err
			}
			all = append(all, page...)
			if len(page) < 500 {
				break
			}
			before = page[len(page)-1].Seq
		}
		out.Turns[c.ID] = all
		comp, err := db.Companion(ctx, actor, c.ID)
		if err != nil {
			return out, err
		}
		if comp.Settings != nil {
			out.Settings[c.ID] = comp.Settings
		}
	}
	return out, nil
}

// ParentPasswordHash returns the parent actor's own password hash and the
// blind index of their e-mail (to re-check the password before an action
// that cannot be undone, counting a wrong one toward the account's lockout).
func (db *DB) ParentPasswordHash(ctx context.Context, actor Actor) (string, []byte, error) {
	if actor.Role != RoleParent {
		return "", nil, ErrForbidden
	}
	db.swap.RLock()
	defer db.swap.RUnlock()
	var h string
	var bidx []byte
	err := db.queryRow(ctx, "SELECT password_hash, email_bidx FROM parents WHERE id=? AND family_id=?", actor.ID, actor.FamilyID).Scan(&h, &bidx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("storage: parent password: %w", err)
	}
	return h, bidx, nil
}
