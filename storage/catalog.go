package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Catalogue and content-pack command kinds (shared content admins manage).
const (
	KindSeedCatalog       = "seed_catalog"
	KindPutCatalogItem    = "put_catalog_item"
	KindDeleteCatalogItem = "delete_catalog_item"
	KindPutContentPack    = "put_content_pack"
	KindDeleteContentPack = "delete_content_pack"
)

// CatalogItem is one catalogue entry: its kind ("joke", "trick", "story",
// "fact", "game"), ID within the kind, and its JSON document (validated
// and checked by the safety policy before it was replicated; storage does
// not interpret it).
type CatalogItem struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Doc       []byte `json:"doc"`
	UpdatedAt int64  `json:"at"`
}

// SeedCatalog stores the default catalogue once, on a cluster's first
// start. It does nothing if the catalogue was ever seeded or edited, so
// replaying it (or a second leader racing the first) is harmless.
type SeedCatalog struct {
	Items []CatalogItem `json:"items"`
	At    int64         `json:"at"`
}

func (SeedCatalog) Kind() string { return KindSeedCatalog }
func (SeedCatalog) Version() int { return 1 }

// SeedResult says whether SeedCatalog stored anything.
type SeedResult struct {
	Seeded bool
}

// PutCatalogItem creates (Create: ErrConflict if it exists) or replaces
// (ErrNotFound if it does not exist) one catalogue item.
type PutCatalogItem struct {
	Item   CatalogItem `json:"item"`
	Create bool        `json:"create,omitempty"`
	Actor  string      `json:"actor"` // "admin:<id>", for the audit log
}

func (PutCatalogItem) Kind() string { return KindPutCatalogItem }
func (PutCatalogItem) Version() int { return 1 }

// DeleteCatalogItem removes one catalogue item (ErrNotFound if absent).
type DeleteCatalogItem struct {
	ItemKind string `json:"kind"`
	ID       string `json:"id"`
	Actor    string `json:"actor"`
	At       int64  `json:"at"`
}

func (DeleteCatalogItem) Kind() string { return KindDeleteCatalogItem }
func (DeleteCatalogItem) Version() int { return 1 }

// ContentPack is one version of an optional content pack (JSON document
// validated and safety-checked by the node).
type ContentPack struct {
	ID        string `json:"id"`
	Version   int    `json:"version"`
	Doc       []byte `json:"doc"`
	UpdatedAt int64  `json:"at"`
}

// PutContentPack loads a pack or a newer version of it: a version not
// above the stored one is ErrConflict (versions only move forward).
type PutContentPack struct {
	Pack  ContentPack `json:"pack"`
	Actor string      `json:"actor"`
}

func (PutContentPack) Kind() string { return KindPutContentPack }
func (PutContentPack) Version() int { return 1 }

// DeleteContentPack unloads a pack (ErrNotFound if absent). Children opted
// into it simply stop seeing it.
type DeleteContentPack struct {
	ID    string `json:"id"`
	Actor string `json:"actor"`
	At    int64  `json:"at"`
}

func (DeleteContentPack) Kind() string { return KindDeleteContentPack }
func (DeleteContentPack) Version() int { return 1 }

// decodeCatalogKind returns an empty command of a catalogue kind, or nil.
func decodeCatalogKind(kind string) Command {
	switch kind {
	case KindSeedCatalog:
		return &SeedCatalog{}
	case KindPutCatalogItem:
		return &PutCatalogItem{}
	case KindDeleteCatalogItem:
		return &DeleteCatalogItem{}
	case KindPutContentPack:
		return &PutContentPack{}
	case KindDeleteContentPack:
		return &DeleteContentPack{}
	}
	return nil
}

// Statements of the catalogue commands (run unprepared: admin edits are rare).
const (
	qCatalogMeta      = "SELECT COALESCE((SELECT v FROM meta WHERE k=?),0)"
	qSetMeta          = "INSERT INTO meta(k,v) VALUES(?,?) ON CONFLICT(k) DO UPDATE SET v=excluded.v"
	qBumpCatalogRev   = "INSERT INTO meta(k,v) VALUES('catalog_rev',1) ON CONFLICT(k) DO UPDATE SET v=v+1"
	qCatalogItemCount = "SELECT COUNT(*) FROM catalog_items WHERE kind=? AND id=?"
	qInsertCatalog    = "INSERT INTO catalog_items(kind, id, doc, updated_at) VALUES (?,?,?,?)"
	qUpdateCatalog    = "UPDATE catalog_items SET doc=?, updated_at=? WHERE kind=? AND id=?"
	qDeleteCatalog    = "DELETE FROM catalog_items WHERE kind=? AND id=?"
	qPackVersion      = "SELECT version FROM content_packs WHERE id=?"
	qPutPack          = `INSERT INTO content_packs(id, version, doc, updated_at) VALUES (?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET version=excluded.version, doc=excluded.doc, updated_at=excluded.updated_at`
	qDeletePack = "DELETE FROM content_packs WHERE id=?"
)

// applyCatalog applies a catalogue command; ok is false for other kinds.
// Every change bumps the catalogue revision, which nodes watch to rebuild
// Daisy's engine.
func applyCatalog(a *txApplier, c Command) (val any, ok bool, err error) {
	switch c := c.(type) {
	case *SeedCatalog:
		val, err = applySeedCatalog(a, c)
	case *PutCatalogItem:
		err = applyPutCatalogItem(a, c)
	case *DeleteCatalogItem:
		err = deleteOne(a, qDeleteCatalog, c.ItemKind, c.ID)
	case *PutContentPack:
		err = applyPutPack(a, c)
	case *DeleteContentPack:
		err = deleteOne(a, qDeletePack, c.ID)
	default:
		return nil, false, nil
	}
	if err == nil {
		if s, seeded := val.(SeedResult); !seeded || s.Seeded {
			_, err = a.exec(qBumpCatalogRev)
		}
	}
	return val, true, err
}

func applySeedCatalog(a *txApplier, c *SeedCatalog) (SeedResult, error) {
	var seeded int64
	if err := a.row(qCatalogMeta, "catalog_seeded").Scan(&seeded); err != nil {
		return SeedResult{}, err
	}
	if seeded != 0 {
		return SeedResult{}, nil
	}
	for _, it := range c.Items {
		if _, err := a.exec(qInsertCatalog, it.Kind, it.ID, it.Doc, c.At); err != nil {
			return SeedResult{}, err
		}
	}
	if _, err := a.exec(qSetMeta, "catalog_seeded", c.At); err != nil {
		return SeedResult{}, err
	}
	return SeedResult{Seeded: true}, nil
}

func applyPutCatalogItem(a *txApplier, c *PutCatalogItem) error {
	var n int
	if err := a.row(qCatalogItemCount, c.Item.Kind, c.Item.ID).Scan(&n); err != nil {
		return err
	}
	switch {
	case c.Create && n > 0:
		return outcome(ErrConflict)
	case !c.Create && n == 0:
		return outcome(ErrNotFound)
	case c.Create:
		_, err := a.exec(qInsertCatalog, c.Item.Kind, c.Item.ID, c.Item.Doc, c.Item.UpdatedAt)
		return err
	}
	_, err := a.exec(qUpdateCatalog, c.Item.Doc, c.Item.UpdatedAt, c.Item.Kind, c.Item.ID)
	return err
}

func applyPutPack(a *txApplier, c *PutContentPack) error {
	var v int
	err := a.row(qPackVersion, c.Pack.ID).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && c.Pack.Version <= v {
		return outcome(ErrConflict)
	}
	_, err = a.exec(qPutPack, c.Pack.ID, c.Pack.Version, c.Pack.Doc, c.Pack.UpdatedAt)
	return err
}

func deleteOne(a *txApplier, q string, args ...any) error {
	res, err := a.exec(q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return outcome(ErrNotFound)
	}
	return nil
}

// catalogAudit names the audit event of a successful catalogue command.
func catalogAudit(c Command, result any) (AuditEvent, bool) {
	switch c := c.(type) {
	case *SeedCatalog:
		if r, ok := result.(SeedResult); ok && r.Seeded {
			return AuditEvent{At: c.At, Actor: "system", Action: "catalog_seeded", Target: fmt.Sprintf("items:%d", len(c.Items))}, true
		}
	case *PutCatalogItem:
		action := "catalog_item_updated"
		if c.Create {
			action = "catalog_item_created"
		}
		return AuditEvent{At: c.Item.UpdatedAt, Actor: c.Actor, Action: action, Target: c.Item.Kind + ":" + c.Item.ID}, true
	case *DeleteCatalogItem:
		return AuditEvent{At: c.At, Actor: c.Actor, Action: "catalog_item_deleted", Target: c.ItemKind + ":" + c.ID}, true
	case *PutContentPack:
		return AuditEvent{At: c.Pack.UpdatedAt, Actor: c.Actor, Action: "content_pack_loaded", Target: fmt.Sprintf("pack:%s@%d", c.Pack.ID, c.Pack.Version)}, true
	case *DeleteContentPack:
		return AuditEvent{At: c.At, Actor: c.Actor, Action: "content_pack_deleted", Target: "pack:" + c.ID}, true
	}
	return AuditEvent{}, false
}

// CatalogState is the stored catalogue: its revision (bumped by every
// change; 0 = never seeded or edited) and items in kind, ID order.
type CatalogState struct {
	Rev    int64
	Seeded bool
	Items  []CatalogItem
}

// CatalogRevision returns the catalogue revision (cheap: nodes poll it to
// notice admin edits). The catalogue is shared content: any actor may read.
func (db *DB) CatalogRevision(ctx context.Context) (int64, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	// Asked on every chat turn; cached. The catalogue commands are not
	// listed in touches, so each of them flushes the cache.
	v, hit, tok := db.cache.get(keyCatalogRev)
	if hit {
		return v.(int64), nil
	}
	var rev int64
	if err := db.queryRow(ctx, "SELECT COALESCE((SELECT v FROM meta WHERE k='catalog_rev'),0)").Scan(&rev); err != nil {
		return 0, fmt.Errorf("storage: catalog revision: %w", err)
	}
	db.cache.put(keyCatalogRev, tok, rev)
	return rev, nil
}

// Catalog returns the whole stored catalogue with its revision (read in
// one transaction, so the two agree).
func (db *DB) Catalog(ctx context.Context) (CatalogState, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	tx, err := db.cur.Load().r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return CatalogState{}, fmt.Errorf("storage: catalog: %w", err)
	}
	defer tx.Rollback()
	var st CatalogState
	var seeded int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT v FROM meta WHERE k='catalog_rev'),0),
		COALESCE((SELECT v FROM meta WHERE k='catalog_seeded'),0)`).Scan(&st.Rev, &seeded); err != nil {
		return CatalogState{}, fmt.Errorf("storage: catalog: %w", err)
	}
	st.Seeded = seeded != 0
	rows, err := tx.QueryContext(ctx, "SELECT kind, id, doc, updated_at FROM catalog_items ORDER BY kind, id")
	if err != nil {
		return CatalogState{}, fmt.Errorf("storage: catalog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it CatalogItem
		if err := rows.Scan(&it.Kind, &it.ID, &it.Doc, &it.UpdatedAt); err != nil {
			return CatalogState{}, fmt.Errorf("storage: catalog: %w", err)
		}
		st.Items = append(st.Items, it)
	}
	return st, rows.Err()
}

// ContentPacks returns every loaded pack (newest version), by ID.
func (db *DB) ContentPacks(ctx context.Context) ([]ContentPack, error) {
	db.swap.RLock()
	defer db.swap.RUnlock()
	rows, err := db.query(ctx, "SELECT id, version, doc, updated_at FROM content_packs ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("storage: content packs: %w", err)
	}
	defer rows.Close()
	out := []ContentPack{}
	for rows.Next() {
		var p ContentPack
		if err := rows.Scan(&p.ID, &p.Version, &p.Doc, &p.UpdatedAt); err != nil {
			return nil, fmt.Errorf("storage: content packs: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
