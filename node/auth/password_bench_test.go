package auth

import (
	"context"
	"crypto/ed25519"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHashDefault measures one argon2id hash with the production
// parameters (DefaultArgon2): the cost of every sign-up and login.
func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultArgon2)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures access-token verification: the first sight of a
// token (EdDSA signature check and claims) and a repeat (cache hit).
func BenchmarkVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	tk := NewTokens(time.Now)
	tk.SetKeys([]Key{{ID: "k1", Private: priv, Public: pub}})
	b.Run("first-sight", func(b *testing.B) {
		toks := make([]string, 0, 4096)
		for i := 0; i < cap(toks); i++ {
			s, _, _ := tk.Issue("pa_"+strconv.Itoa(i), RoleParent, "fa_1", "se_1", ParentTokenTTL)
			toks = append(toks, s)
		}
		i := 0
		for b.Loop() {
			if i%len(toks) == 0 {
				tk.SetKeys([]Key{{ID: "k1", Private: priv, Public: pub}}) // empties the cache
			}
			if _, err := tk.Verify(toks[i%len(toks)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("cached", func(b *testing.B) {
		s, _, _ := tk.Issue("pa_1", RoleParent, "fa_1", "se_1", ParentTokenTTL)
		for b.Loop() {
			if _, err := tk.Verify(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckPassword measures the password rules (list lookup with
// normalisation, pattern checks): negligible next to the hash.
func BenchmarkCheckPassword(b *testing.B) {
	commonCores() // build the set outside the loop
	for b.Loop() {
		if err := CheckPassword("violet kettle under moonlight", "parent@example.test"); err != nil {
			b.Fatal(err)
		}
	}
}
