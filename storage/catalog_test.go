package storage

import (
	"errors"
	"testing"
)

// TestCatalogCommands: seeding happens once; create/update/delete keep to
// their preconditions; pack versions only move forward; every change bumps
// the revision and is audited; refused commands change nothing.
func TestCatalogCommands(t *testing.T) {
	f := newFixture(t)
	item := func(kind, id, doc string) CatalogItem {
		return CatalogItem{Kind: kind, ID: id, Doc: []byte(doc), UpdatedAt: baseTime}
	}
	seed := &SeedCatalog{Items: []CatalogItem{item("joke", "j1", `{"id":"j1"}`), item("fact", "f1", `{"id":"f1"}`)}, At: baseTime}
	pack := func(v int) *PutContentPack {
		return &PutContentPack{Pack: ContentPack{ID: "space", Version: v, Doc: []byte(`{"v":` + string(rune('0'+v)) + `}`), UpdatedAt: baseTime}, Actor: "admin:ad1"}
	}
	steps := []struct {
		name    string
		cmd     Command
		wantErr error
		wantRev int64
		items   int
	}{
		{"seed", seed, nil, 1, 2},
		{"seed again does nothing", &SeedCatalog{Items: []CatalogItem{item("joke", "j9", `{}`)}, At: baseTime + 1}, nil, 1, 2},
		{"create", &PutCatalogItem{Item: item("joke", "j2", `{"id":"j2"}`), Create: true, Actor: "admin:ad1"}, nil, 2, 3},
		{"create existing", &PutCatalogItem{Item: item("joke", "j2", `{"id":"x"}`), Create: true, Actor: "admin:ad1"}, ErrConflict, 2, 3},
		{"same id, other kind", &PutCatalogItem{Item: item("fact", "j2", `{"id":"j2"}`), Create: true, Actor: "admin:ad1"}, nil, 3, 4},
		{"update", &PutCatalogItem{Item: item("joke", "j2", `{"id":"j2","v":2}`), Actor: "admin:ad1"}, nil, 4, 4},
		{"update missing", &PutCatalogItem{Item: item("joke", "nope", `{}`), Actor: "admin:ad1"}, ErrNotFound, 4, 4},
		{"delete", &DeleteCatalogItem{ItemKind: "fact", ID: "j2", Actor: "admin:ad1", At: baseTime}, nil, 5, 3},
		{"delete missing", &DeleteCatalogItem{ItemKind: "fact", ID: "j2", Actor: "admin:ad1", At: baseTime}, ErrNotFound, 5, 3},
		{"pack v1", pack(1), nil, 6, 3},
		{"pack v1 again", pack(1), ErrConflict, 6, 3},
		{"pack v3", pack(3), nil, 7, 3},
		{"pack back to v2", pack(2), ErrConflict, 7, 3},
		{"delete pack", &DeleteContentPack{ID: "space", Actor: "admin:ad1", At: baseTime}, nil, 8, 3},
		{"delete pack again", &DeleteContentPack{ID: "space", Actor: "admin:ad1", At: baseTime}, ErrNotFound, 8, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := f.apply(st.cmd)
			if !errors.Is(res[0].Err, st.wantErr) || (st.wantErr == nil && res[0].Err != nil) {
				t.Fatalf("err = %v, want %v", res[0].Err, st.wantErr)
			}
			cat, err := f.db.Catalog(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			rev, err := f.db.CatalogRevision(f.ctx)
			if err != nil || rev != cat.Rev {
				t.Fatalf("revision %d (%v), catalog says %d", rev, err, cat.Rev)
			}
			if cat.Rev != st.wantRev || len(cat.Items) != st.items || !cat.Seeded {
				t.Fatalf("catalog rev %d items %d seeded %v, want rev %d items %d", cat.Rev, len(cat.Items), cat.Seeded, st.wantRev, st.items)
			}
		})
	}
	cat, _ := f.db.Catalog(f.ctx)
	for _, it := range cat.Items {
		if it.Kind == "joke" && it.ID == "j2" && string(it.Doc) != `{"id":"j2","v":2}` {
			t.Fatalf("j2 = %s", it.Doc)
		}
		if it.ID == "j9" {
			t.Fatal("a second seed stored items")
		}
	}
	for action, want := range map[string]int{"catalog_seeded": 1, "catalog_item_created": 2, "catalog_item_updated": 1,
		"catalog_item_deleted": 1, "content_pack_loaded": 2, "content_pack_deleted": 1} {
		if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action=?", action); n != want {
			t.Errorf("audit %s: %d, want %d", action, n, want)
		}
	}
	packs, err := f.db.ContentPacks(f.ctx)
	if err != nil || len(packs) != 0 {
		t.Fatalf("packs after delete: %v %v", packs, err)
	}
}
