package storage

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkApplyBatchChatTurn measures the FSM write path: ChatTurn commands
// (sealed message and reply, device check, seq allocation) applied in one
// transaction per batch, as raft.BatchingFSM delivers them. Encoding the
// command is included (the leader does it once; every replica decodes it).
func BenchmarkApplyBatchChatTurn(b *testing.B) {
	for _, size := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			f := newFixture(b)
			f.signUp("fam-a", "par-a", "a@example.org")
			const children = 8
			for i := 0; i < children; i++ {
				id := "ch-" + strconv.Itoa(i)
				f.createChild("fam-a", "par-a", id, "Pup"+strconv.Itoa(i))
				f.linkDevice("par-a", id, "dev-"+strconv.Itoa(i))
			}
			tmpl := f.turnCmd("fam-a", "ch-0", "dev-0", "tmpl", "Can you tell me a joke about cats?")
			entries := make([]Entry, size)
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				applyTurnBatch(b, f, tmpl, entries, &n, children, func(n int) string { return "t" + strconv.Itoa(n) })
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "turns/s")
		})
	}
}

// BenchmarkScopedReads measures what actor scoping (our row-level security)
// costs on the hot reads: the same query as the system actor (no scope) and
// as the parent or child it belongs to (scope joins in SQL).
func BenchmarkScopedReads(b *testing.B) {
	f := newFixture(b)
	f.signUp("fam-a", "par-a", "a@example.org")
	f.createChild("fam-a", "par-a", "ch-a", "Pup")
	f.linkDevice("par-a", "ch-a", "dev-a")
	for i := range 200 {
		f.must(f.turnCmd("fam-a", "ch-a", "dev-a", "t"+strconv.Itoa(i), "hello daisy"))
	}
	actors := map[string]Actor{
		"system": {Role: RoleSystem},
		"parent": {Role: RoleParent, ID: "par-a", FamilyID: "fam-a"},
		"child":  {Role: RoleChild, ID: "ch-a", FamilyID: "fam-a", DeviceID: "dev-a"},
	}
	for _, name := range []string{"system", "parent", "child"} {
		a := actors[name]
		b.Run("child/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.db.Child(f.ctx, a, "ch-a"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("turns20/"+name, func(b *testing.B) {
			for b.Loop() {
				rows, err := f.db.Turns(f.ctx, a, "ch-a", 0, 20)
				if err != nil || len(rows) != 20 {
					b.Fatal(err, len(rows))
				}
			}
		})
	}
}

// BenchmarkDecodeChatTurn compares Decode (the envelope split without a
// scan of the body) with the generic decoder it replaced, on a ChatTurn
// the size of a typical turn (sealed message, reply and Daisy's state).
func BenchmarkDecodeChatTurn(b *testing.B) {
	c := &ChatTurn{TurnID: "t-0123456789abcdef", ChildID: "ch-0123456789abcdef", DeviceID: "dev-0123456789abcdef",
		CreatedAt: baseTime, MessageSealed: make([]byte, 120), ReplySealed: make([]byte, 200), Intent: "joke",
		InAction: "allow", OutAction: "allow", PolicyVersion: "default@1.0.0", Companion: make([]byte, 400)}
	data, err := Encode(c)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		decode func([]byte) (Command, error)
	}{{"generic", decodeGeneric}, {"fast", Decode}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChatTurnIDOrder measures what the order of turn IDs costs the
// write path at the bench's shape (256 children, 32 turns per batch, Daisy's
// state rewritten each turn, 20,000 turns already stored): random IDs put
// every insert into the id index on a different page; IDs that start with
// the time append to the same few pages.
func BenchmarkChatTurnIDOrder(b *testing.B) {
	for _, order := range []string{"random", "time-first"} {
		b.Run("ids="+order, func(b *testing.B) {
			f := newFixture(b)
			f.signUp("fam-a", "par-a", "a@example.org")
			const children = 256
			for i := 0; i < children; i++ {
				id := "ch-" + strconv.Itoa(i)
				f.createChild("fam-a", "par-a", id, "Pup"+strconv.Itoa(i))
				f.linkDevice("par-a", id, "dev-"+strconv.Itoa(i))
			}
			tmpl := f.turnCmd("fam-a", "ch-0", "dev-0", "tmpl", "Can you tell me a joke about cats?")
			state := make([]byte, 1200)
			rand.Read(state)
			var ms int64 = 1_800_000_000_000
			nextID := func() string {
				var r [16]byte
				rand.Read(r[:])
				if order == "time-first" {
					ms++
					binary.BigEndian.PutUint64(r[:8], uint64(ms)<<16|uint64(r[6])<<8|uint64(r[7]))
				}
				return "tu_" + hex.EncodeToString(r[:])
			}
			n := 0
			tmpl.Companion = state
			entries := make([]Entry, 32)
			batch := func() { applyTurnBatch(b, f, tmpl, entries, &n, children, func(int) string { return nextID() }) }
			for n < 20_000 {
				batch()
			}
			start := n
			b.ResetTimer()
			for b.Loop() {
				batch()
			}
			b.ReportMetric(float64(n-start)/b.Elapsed().Seconds(), "turns/s")
		})
	}
}

// applyTurnBatch fills entries with copies of tmpl, turn n onwards (IDs from
// id, children taken in turn among the first children of the fixture), and
// applies them as one batch.
func applyTurnBatch(b *testing.B, f *fixture, tmpl *ChatTurn, entries []Entry, n *int, children int, id func(n int) string) {
	for j := range entries {
		c := *tmpl
		c.TurnID = id(*n)
		k := *n % children
		c.ChildID, c.DeviceID = "ch-"+strconv.Itoa(k), "dev-"+strconv.Itoa(k)
		*n++
		data, err := Encode(&c)
		if err != nil {
			b.Fatal(err)
		}
		f.idx++
		entries[j] = Entry{Index: f.idx, Data: data}
	}
	res, err := f.db.ApplyBatch(f.ctx, entries)
	if err != nil {
		b.Fatal(err)
	}
	if res[0].Err != nil {
		b.Fatal(res[0].Err)
	}
}
