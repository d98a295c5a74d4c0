package storage

import (
	"bytes"
	"errors"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != KeySize {
		t.Fatalf("NewDataKey len = %d, want %d", len(k), KeySize)
	}
	return k
}

func TestSealUnsealRoundTrip(t *testing.T) {
	key := mustKey(t)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty plaintext", []byte{}, FieldAAD(FieldMessage, "t1")},
		{"short", []byte("hi Daisy"), FieldAAD(FieldNickname, "c1")},
		{"nil aad", []byte("no aad"), nil},
		{"unicode", []byte("Größe 🐶 ñ"), FieldAAD(FieldReply, "t2")},
		{"64KiB", bytes.Repeat([]byte("x"), 64<<10), FieldAAD(FieldMessage, "big")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := Seal(key, tc.plaintext, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if want := 24 + len(tc.plaintext) + 16; len(sealed) != want {
				t.Errorf("sealed len = %d, want nonce+ct+tag = %d", len(sealed), want)
			}
			if len(tc.plaintext) >= 4 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("sealed output contains the plaintext")
			}
			got, err := Unseal(key, sealed, tc.aad)
			if err != nil {
				t.Fatalf("Unseal: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Unseal = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestSealNonceIsFresh(t *testing.T) {
	key := mustKey(t)
	pt, aad := []byte("same plaintext"), FieldAAD(FieldMessage, "t1")
	a, err := Seal(key, pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(key, pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:24], b[:24]) {
		t.Fatal("two seals of the same plaintext used the same nonce")
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestUnsealFailures(t *testing.T) {
	key := mustKey(t)
	other := mustKey(t)
	aad := FieldAAD(FieldNickname, "child-1")
	sealed, err := Seal(key, []byte("Rex the brave"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	for _, tc := range []struct {
		name   string
		key    []byte
		sealed []byte
		aad    []byte
	}{
		{"wrong key", other, sealed, aad},
		{"wrong row in aad", key, sealed, FieldAAD(FieldNickname, "child-2")},
		{"wrong column in aad", key, sealed, FieldAAD(FieldMessage, "child-1")},
		{"missing aad", key, sealed, nil},
		{"empty", key, nil, aad},
		{"nonce only", key, sealed[:24], aad},
		{"one byte short of minimum", key, sealed[:24+16-1], aad},
		{"truncated tag", key, sealed[:len(sealed)-1], aad},
		{"tampered nonce", key, flip(0), aad},
		{"tampered ciphertext", key, flip(24), aad},
		{"tampered tag", key, flip(len(sealed) - 1), aad},
		{"appended byte", key, append(bytes.Clone(sealed), 0), aad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := Unseal(tc.key, tc.sealed, tc.aad)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Unseal err = %v, want ErrDecrypt", err)
			}
			if pt != nil {
				t.Fatalf("Unseal returned plaintext %q on failure", pt)
			}
		})
	}
}

func TestSealRejectsBadKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := Seal(make([]byte, n), []byte("x"), nil); err == nil {
			t.Errorf("Seal with %d-byte key: want error", n)
		}
		if _, err := Unseal(make([]byte, n), make([]byte, 64), nil); err == nil || errors.Is(err, ErrDecrypt) {
			t.Errorf("Unseal with %d-byte key: err = %v, want a key-size error", n, err)
		}
	}
}

func TestNewKeyringKeySize(t *testing.T) {
	for _, tc := range []struct {
		n  int
		ok bool
	}{{0, false}, {1, false}, {16, false}, {31, false}, {32, true}, {33, false}, {64, false}} {
		k, err := NewKeyring(make([]byte, tc.n))
		if tc.ok != (err == nil) {
			t.Errorf("NewKeyring(%d bytes): err = %v, want ok=%v", tc.n, err, tc.ok)
		}
		if tc.ok != (k != nil) {
			t.Errorf("NewKeyring(%d bytes): keyring = %v", tc.n, k)
		}
	}
}

func TestKeyringDerivedKeysAreDistinct(t *testing.T) {
	k, err := NewKeyring(testKEK)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{"wrap": k.wrapKey, "blind": k.blindKey, "snap": k.snapKey, "misc": k.miscKey, "kek": testKEK}
	for n1, a := range keys {
		if len(a) != KeySize {
			t.Errorf("%s key has %d bytes", n1, len(a))
		}
		for n2, b := range keys {
			if n1 < n2 && bytes.Equal(a, b) {
				t.Errorf("%s and %s keys are equal", n1, n2)
			}
		}
	}
	if !bytes.Equal(k.SnapshotKey(), k.snapKey) {
		t.Error("SnapshotKey does not return the snapshot key")
	}
	k2, _ := NewKeyring(testKEK)
	if !bytes.Equal(k.wrapKey, k2.wrapKey) || !bytes.Equal(k.blindKey, k2.blindKey) {
		t.Error("derivation is not deterministic for the same KEK")
	}
}

func TestWrapUnwrapDataKey(t *testing.T) {
	k, _ := NewKeyring(testKEK)
	otherKEK := bytes.Repeat([]byte{7}, KeySize)
	other, _ := NewKeyring(otherKEK)
	dek := mustKey(t)
	wrapped, err := k.WrapDataKey("fam-1", dek)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, dek) {
		t.Fatal("wrapped key contains the data key")
	}
	got, err := k.UnwrapDataKey("fam-1", wrapped)
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("UnwrapDataKey = %x, %v; want %x", got, err, dek)
	}
	for _, tc := range []struct {
		name    string
		k       *Keyring
		family  string
		wrapped []byte
	}{
		{"other family", k, "fam-2", wrapped},
		{"other cluster key", other, "fam-1", wrapped},
		{"truncated", k, "fam-1", wrapped[:len(wrapped)-2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.k.UnwrapDataKey(tc.family, tc.wrapped); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
	// A wrapped key is not a generic secret: different purpose keys.
	if _, err := k.OpenSecret("fam-1", wrapped); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("OpenSecret on a wrapped data key: err = %v, want ErrDecrypt", err)
	}
}

func TestSealOpenSecret(t *testing.T) {
	k, _ := NewKeyring(testKEK)
	s, err := k.SealSecret("jwt:kid1", []byte("ed25519-private"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.OpenSecret("jwt:kid1", s)
	if err != nil || string(got) != "ed25519-private" {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	if _, err := k.OpenSecret("jwt:kid2", s); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("OpenSecret wrong label: err = %v, want ErrDecrypt", err)
	}
}

func TestEmailIndex(t *testing.T) {
	k1, _ := NewKeyring(testKEK)
	k2, _ := NewKeyring(bytes.Repeat([]byte{9}, KeySize))
	base := k1.EmailIndex("parent@example.org")
	if len(base) != 32 {
		t.Fatalf("index length = %d, want 32", len(base))
	}
	if bytes.Contains(base, []byte("parent")) {
		t.Fatal("index contains plaintext")
	}
	for _, tc := range []struct {
		email string
		equal bool
	}{
		{"parent@example.org", true},
		{"Parent@Example.ORG", true},
		{"  parent@example.org\t", true},
		{"\nPARENT@EXAMPLE.ORG ", true},
		{"parent2@example.org", false},
		{"parent@example.com", false},
		{"par ent@example.org", false},
		{"", false},
	} {
		t.Run(tc.email, func(t *testing.T) {
			if got := bytes.Equal(k1.EmailIndex(tc.email), base); got != tc.equal {
				t.Fatalf("EmailIndex(%q) equal to base = %v, want %v", tc.email, got, tc.equal)
			}
		})
	}
	if bytes.Equal(k2.EmailIndex("parent@example.org"), base) {
		t.Fatal("EmailIndex is the same under a different cluster key")
	}
	if bytes.Equal(k1.SecretIndex("link", "ABC123"), k1.SecretIndex("link", "ABC124")) {
		t.Fatal("SecretIndex collides for different secrets")
	}
	if bytes.Equal(k1.SecretIndex("link", "ABC123"), k2.SecretIndex("link", "ABC123")) {
		t.Fatal("SecretIndex is the same under a different cluster key")
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"A@B.C":          "a@b.c",
		"  x@y.z  ":      "x@y.z",
		"\tMiXeD@Case\n": "mixed@case",
		"":               "",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFieldAADBindsColumnAndRow(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range []string{FieldNickname, FieldEmail, FieldMessage, FieldReply} {
		for _, id := range []string{"a", "b"} {
			aad := string(FieldAAD(f, id))
			if seen[aad] {
				t.Fatalf("duplicate AAD %q", aad)
			}
			seen[aad] = true
		}
	}
}
