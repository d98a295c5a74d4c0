// Package auth owns credentials: argon2id password hashing and verification,
// password rules, and EdDSA-signed access tokens (JWT with a key ID) for
// parents and child devices.
//
// Invariants:
//   - Passwords and password hashes are never logged or returned.
//   - Password hashing is bounded by a semaphore so a burst of logins cannot
//     exhaust memory (argon2id is memory-hard by design).
//   - A token verifies only with a known key ID, the EdDSA algorithm, our
//     issuer, a role we know, and an unexpired lifetime; the clock is injected.
//
// auth knows nothing about HTTP routing or storage.
package auth
