package auth

import (
	"context"
	"testing"
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
