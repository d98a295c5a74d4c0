package storage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// KeySize is the size of every symmetric key used here.
const KeySize = 32

// ErrDecrypt is returned when sealed data fails authentication.
var ErrDecrypt = errors.New("storage: sealed data failed authentication")

// Keyring holds keys derived from the cluster key-encryption key (KEK).
// It is immutable after NewKeyring and safe for concurrent use.
type Keyring struct {
	wrapKey  []byte // wraps per-family data keys
	blindKey []byte // keyed hash for blind indexes
	snapKey  []byte // snapshot / backup encryption
	miscKey  []byte // sealing cluster secrets (signing keys)
	archKey  []byte // the log archive for point-in-time recovery
}

// NewKeyring derives purpose-specific keys from the cluster KEK with HKDF-SHA256.
func NewKeyring(kek []byte) (*Keyring, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("storage: cluster key must be %d bytes, got %d", KeySize, len(kek))
	}
	derive := func(label string) []byte {
		k := make([]byte, KeySize)
		r := hkdf.New(sha256.New, kek, nil, []byte("daisydog/v1/"+label))
		if _, err := io.ReadFull(r, k); err != nil {
			panic(err) // hkdf cannot fail for 32 bytes
		}
		return k
	}
	return &Keyring{
		wrapKey:  derive("wrap"),
		blindKey: derive("blind-index"),
		snapKey:  derive("snapshot"),
		miscKey:  derive("secrets"),
		archKey:  derive("log-archive"),
	}, nil
}

// SnapshotKey returns the key used to encrypt snapshots and backups.
func (k *Keyring) SnapshotKey() []byte { return k.snapKey }

// ArchiveKey returns the key that seals the log archive (point-in-time
// recovery, node/archive.go).
func (k *Keyring) ArchiveKey() []byte { return k.archKey }

// NewDataKey returns a fresh random per-family data key.
func NewDataKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("storage: generate data key: %w", err)
	}
	return k, nil
}

// WrapDataKey seals a family data key under the cluster wrap key, bound to the family ID.
func (k *Keyring) WrapDataKey(familyID string, dek []byte) ([]byte, error) {
	return Seal(k.wrapKey, dek, []byte("family-key:"+familyID))
}

// UnwrapDataKey opens a wrapped family data key.
func (k *Keyring) UnwrapDataKey(familyID string, wrapped []byte) ([]byte, error) {
	return Unseal(k.wrapKey, wrapped, []byte("family-key:"+familyID))
}

// SealSecret seals a cluster secret (e.g. a token signing key) under the cluster key.
func (k *Keyring) SealSecret(label string, secret []byte) ([]byte, error) {
	return Seal(k.miscKey, secret, []byte("secret:"+label))
}

// OpenSecret opens a secret sealed by SealSecret.
func (k *Keyring) OpenSecret(label string, sealed []byte) ([]byte, error) {
	return Unseal(k.miscKey, sealed, []byte("secret:"+label))
}

// EmailIndex is the blind index of an e-mail address: a keyed hash of its
// normalised form, so equal addresses can be found without storing plaintext.
func (k *Keyring) EmailIndex(email string) []byte {
	m := hmac.New(sha256.New, k.blindKey)
	m.Write([]byte("email:"))
	m.Write([]byte(NormalizeEmail(email)))
	return m.Sum(nil)
}

// SecretIndex is a keyed hash of a short secret (e.g. a link code) so the
// database never holds the secret itself.
func (k *Keyring) SecretIndex(kind, secret string) []byte {
	m := hmac.New(sha256.New, k.blindKey)
	m.Write([]byte(kind + ":"))
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// NormalizeEmail lower-cases and trims an address for indexing.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// Seal encrypts plaintext with XChaCha20-Poly1305 under key, authenticating aad.
// The result is nonce || ciphertext. A fresh random nonce is used on every call,
// so callers must seal before replication, never inside the FSM.
func Seal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("storage: seal: %w", err)
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("storage: seal nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// Unseal decrypts data produced by Seal.
func Unseal(key, sealed, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("storage: open: %w", err)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Field names used as associated data, so a sealed value cannot be moved to
// another row or column without failing authentication.
const (
	FieldNickname = "children.nickname"
	FieldEmail    = "parents.email"
	FieldMessage  = "turns.message"
	FieldReply    = "turns.reply"
	// FieldCompanion is Daisy's per-child state (row ID: the child ID).
	FieldCompanion = "companions.state"
)

// FieldAAD binds a sealed field to its column and row.
func FieldAAD(field, rowID string) []byte { return []byte(field + ":" + rowID) }

// Vault resolves and caches unwrapped per-family data keys.
type Vault struct {
	keys *Keyring
	db   *DB
	mu   sync.RWMutex
	deks map[string][]byte
}

// NewVault returns a Vault reading wrapped keys from db.
func NewVault(keys *Keyring, db *DB) *Vault {
	return &Vault{keys: keys, db: db, deks: make(map[string][]byte)}
}

// Keyring returns the vault's keyring.
func (v *Vault) Keyring() *Keyring { return v.keys }

// Remember caches a data key the caller just created.
func (v *Vault) Remember(familyID string, dek []byte) {
	v.mu.Lock()
	v.deks[familyID] = dek
	v.mu.Unlock()
}

// Forget drops a cached data key (e.g. after a family is deleted).
func (v *Vault) Forget(familyID string) {
	v.mu.Lock()
	delete(v.deks, familyID)
	v.mu.Unlock()
}
