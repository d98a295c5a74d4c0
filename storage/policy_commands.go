package storage

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
)

// Policy lifecycle command kinds (see ../shared/design.md §5 "Bundles").
// The bundle bytes travel once, in the stage command; activation, shadow
// and rollback only name a staged version, so every node switches at the
// same log index.
const (
	KindAddPolicyKey    = "add_policy_key"
	KindStagePolicy     = "stage_policy"
	KindActivatePolicy  = "activate_policy"
	KindShadowPolicy    = "shadow_policy"
	KindRollbackPolicy  = "rollback_policy"
	KindRefusePolicy    = "refuse_policy"
	KindReportPolicy    = "report_policy"
	KindUnstagePolicy   = "unstage_policy"
	KindRevokePolicyKey = "revoke_policy_key"
	KindReportShadow    = "report_shadow"
)

// PolicyKeyID identifies a policy-signing public key: the first 16 hex
// digits of its SHA-256 (the same as policies/bundle.KeyID).
func PolicyKeyID(pub []byte) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// AddPolicyKey trusts an Ed25519 public key for signing policy bundles.
type AddPolicyKey struct {
	KeyID     string `json:"kid"`
	PublicKey []byte `json:"pub"`
	By        string `json:"by"` // audit actor, e.g. "admin:ad_…"
	At        int64  `json:"at"`
}

func (AddPolicyKey) Kind() string { return KindAddPolicyKey }
func (AddPolicyKey) Version() int { return 1 }

// RevokePolicyKey stops trusting a policy-signing key: bundles it signed
// can no longer be staged, activated, shadowed or rolled back to. The
// policy in force stays in force (revoking a key does not change what
// children are protected by); replace it by pushing one signed with a
// trusted key.
type RevokePolicyKey struct {
	KeyID string `json:"kid"`
	By    string `json:"by"`
	At    int64  `json:"at"`
}

func (RevokePolicyKey) Kind() string { return KindRevokePolicyKey }
func (RevokePolicyKey) Version() int { return 1 }

// KeyRevoked is the result of RevokePolicyKey: the version in force when
// it was signed by the revoked key ("" otherwise), for the admin to replace.
type KeyRevoked struct {
	ActiveSignedByKey string `json:"active_signed_by_key,omitempty"`
}

// StagePolicy stores a verified bundle (zstd-compressed, as uploaded) under
// its ID "name@version". The proposing node verified the signature and ran
// the vectors; the state machine checks the signing key is trusted; every
// node compiles and self-tests it when it applies this (off the apply path).
type StagePolicy struct {
	ID     string `json:"id"`
	Bundle []byte `json:"bundle"`
	SHA256 string `json:"sha256"` // of Bundle
	KeyID  string `json:"kid"`
	By     string `json:"by"`
	At     int64  `json:"at"`
}

func (StagePolicy) Kind() string { return KindStagePolicy }
func (StagePolicy) Version() int { return 1 }

// ActivatePolicy makes a staged version the active policy (pushing it on
// the activation history) and ends its shadow run, if any.
type ActivatePolicy struct {
	ID string `json:"id"`
	By string `json:"by"`
	At int64  `json:"at"`
}

func (ActivatePolicy) Kind() string { return KindActivatePolicy }
func (ActivatePolicy) Version() int { return 1 }

// ShadowPolicy runs a staged version beside the active one without
// enforcing it; an empty ID ends the shadow run.
type ShadowPolicy struct {
	ID string `json:"id"`
	By string `json:"by"`
	At int64  `json:"at"`
}

func (ShadowPolicy) Kind() string { return KindShadowPolicy }
func (ShadowPolicy) Version() int { return 1 }

// RollbackPolicy returns to the version active before the current one (the
// embedded default when the history is down to one entry).
type RollbackPolicy struct {
	By string `json:"by"`
	At int64  `json:"at"`
}

func (RollbackPolicy) Kind() string { return KindRollbackPolicy }
func (RollbackPolicy) Version() int { return 1 }

// RefusePolicy records, for the audit log only, a bundle the cluster
// refused (bad signature, failing vectors, forbidden import, too big, …).
type RefusePolicy struct {
	ID     string `json:"id"` // "name@version" if the manifest could be read
	Reason string `json:"reason"`
	By     string `json:"by"`
	At     int64  `json:"at"`
}

func (RefusePolicy) Kind() string { return KindRefusePolicy }
func (RefusePolicy) Version() int { return 1 }

// UnstagePolicy deletes a staged bundle that is neither active, in the
// activation history (a rollback target) nor the shadow candidate: bundles
// would otherwise accumulate in every node's database and snapshot.
type UnstagePolicy struct {
	ID string `json:"id"`
	By string `json:"by"`
	At int64  `json:"at"`
}

func (UnstagePolicy) Kind() string { return KindUnstagePolicy }
func (UnstagePolicy) Version() int { return 1 }

// ReportPolicy is a node's own report, replicated so that every node (and
// the leader deciding whether to activate) sees it: whether it compiled
// and self-tested a staged bundle. A node never diverges silently.
type ReportPolicy struct {
	Node  string `json:"node"`
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	At    int64  `json:"at"`
}

func (ReportPolicy) Kind() string { return KindReportPolicy }
func (ReportPolicy) Version() int { return 1 }

// ReportShadow adds one node's shadow-run counts since its last report
// (deltas), so every node can show cluster-wide totals. A report for a
// candidate that is no longer the shadow (it ended while the report was
// in flight) changes nothing.
type ReportShadow struct {
	Node      string `json:"node"`
	ID        string `json:"id"`      // the shadow candidate
	Against   string `json:"against"` // the active version it was compared with
	Evaluated uint64 `json:"evaluated"`
	Disagreed uint64 `json:"disagreed"`
	Errors    uint64 `json:"errors"`
	Skipped   uint64 `json:"skipped"`
	At        int64  `json:"at"`
}

func (ReportShadow) Kind() string { return KindReportShadow }
func (ReportShadow) Version() int { return 1 }

// PolicyActivation is the result of ActivatePolicy and RollbackPolicy: the
// version now active ("" = the embedded default).
type PolicyActivation struct {
	Active string `json:"active"`
}

func validPolicyKey(pub []byte, kid string) bool {
	return len(pub) == ed25519.PublicKeySize && PolicyKeyID(pub) == kid
}
