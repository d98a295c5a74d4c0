package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token roles.
const (
	RoleParent    = "parent"
	RoleChild     = "child"
	RoleAdmin     = "admin"
	RoleModerator = "moderator"
	// RoleMFAPending is a staff member who passed the password step and
	// must now give a TOTP or recovery code; it opens nothing else.
	RoleMFAPending = "mfa_pending"
)

// StaffFamily is the FamilyID claim of staff tokens: staff belong to no family.
const StaffFamily = "staff"

// Token lifetimes.
const (
	ParentTokenTTL = 15 * time.Minute
	ChildTokenTTL  = 30 * 24 * time.Hour // device tokens; revocable per device
	StaffTokenTTL  = 15 * time.Minute    // no refresh: staff log in again with MFA
	MFATokenTTL    = 5 * time.Minute
	issuer         = "daisydog"
)

// Claims are what an access token asserts.
type Claims struct {
	Role     string `json:"role"`
	FamilyID string `json:"fam"`
	// SessionID is the child's linked device, or the parent's login session
	// (revocable: logout, log out everywhere, refresh-token reuse).
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// clockSkew tolerates clock differences between the node that issued a token
// and the one verifying it.
const clockSkew = 30 * time.Second

// ErrInvalidToken covers every reason a token is refused.
var ErrInvalidToken = errors.New("auth: invalid or expired token")

// Key is a signing key pair with its ID.
type Key struct {
	ID      string
	Private ed25519.PrivateKey // nil for verify-only keys
	Public  ed25519.PublicKey
}

// Tokens issues and verifies access tokens. Keys are swapped atomically when
// new keys are replicated.
type Tokens struct {
	now func() time.Time
	mu  sync.RWMutex
	cur *Key
	all map[string]ed25519.PublicKey

	// verified caches tokens whose signature and claims already checked out,
	// so a device's every request does not pay for an EdDSA verification.
	// Expiry is still checked on every use; SetKeys clears it.
	cmu      sync.RWMutex
	verified map[string]*Claims
}

// maxVerified bounds the verification cache.
const maxVerified = 16384

// NewTokens returns an issuer/verifier using clock now.
func NewTokens(now func() time.Time) *Tokens {
	return &Tokens{now: now, all: map[string]ed25519.PublicKey{}, verified: map[string]*Claims{}}
}

// SetKeys installs all verification keys and, as the signing key, the first
// one with a private half (callers pass keys newest first).
func (t *Tokens) SetKeys(keys []Key) {
	all := make(map[string]ed25519.PublicKey, len(keys))
	var cur *Key
	for i := range keys {
		all[keys[i].ID] = keys[i].Public
		if cur == nil && keys[i].Private != nil {
			cur = &keys[i]
		}
	}
	t.mu.Lock()
	t.cur, t.all = cur, all
	t.mu.Unlock()
	t.cmu.Lock()
	t.verified = map[string]*Claims{}
	t.cmu.Unlock()
}

// JWK is a public verification key in JSON Web Key form (RFC 8037, OKP/Ed25519).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	X   string `json:"x"`
}

// JWKS returns every key a token may currently be verified with, sorted by kid.
func (t *Tokens) JWKS() []JWK {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]JWK, 0, len(t.all))
	for kid, pub := range t.all {
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", Kid: kid, Alg: "EdDSA", Use: "sig", X: base64.RawURLEncoding.EncodeToString(pub)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kid < out[j].Kid })
	return out
}

// Ready reports whether a signing key is installed.
func (t *Tokens) Ready() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.cur != nil
}

// Issue signs a token for subject with the given role and lifetime.
func (t *Tokens) Issue(subject, role, familyID, sessionID string, ttl time.Duration) (string, time.Time, error) {
	t.mu.RLock()
	k := t.cur
	t.mu.RUnlock()
	if k == nil {
		return "", time.Time{}, errors.New("auth: no signing key yet")
	}
	now := t.now()
	exp := now.Add(ttl)
	c := Claims{Role: role, FamilyID: familyID, SessionID: sessionID, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: subject, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign: %w", err)
	}
	return s, exp, nil
}

// Verify parses and checks a token.
func (t *Tokens) Verify(s string) (*Claims, error) {
	if len(s) > 4096 {
		return nil, ErrInvalidToken
	}
	t.cmu.RLock()
	c, ok := t.verified[s]
	t.cmu.RUnlock()
	if ok {
		if !t.now().Before(c.ExpiresAt.Time) {
			return nil, ErrInvalidToken
		}
		cp := *c
		return &cp, nil
	}
	claims, err := t.verify(s)
	if err != nil {
		return nil, err
	}
	t.cmu.Lock()
	if len(t.verified) >= maxVerified {
		t.verified = map[string]*Claims{}
	}
	cp := *claims
	t.verified[s] = &cp
	t.cmu.Unlock()
	return claims, nil
}

func (t *Tokens) verify(s string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(s, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		t.mu.RLock()
		pub, ok := t.all[kid]
		t.mu.RUnlock()
		if !ok {
			return nil, ErrInvalidToken
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(issuer), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now), jwt.WithStrictDecoding())
	if err != nil {
		return nil, ErrInvalidToken
	}
	// Expiry is strict; issue time tolerates clock skew between nodes.
	if c.IssuedAt == nil || c.IssuedAt.After(t.now().Add(clockSkew)) {
		return nil, ErrInvalidToken
	}
	if !knownRole(c.Role) || c.Subject == "" || c.FamilyID == "" || c.SessionID == "" {
		return nil, ErrInvalidToken
	}
	return &c, nil
}

func knownRole(r string) bool {
	switch r {
	case RoleParent, RoleChild, RoleAdmin, RoleModerator, RoleMFAPending:
		return true
	}
	return false
}
