package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/policies/bundle"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// The policy lifecycle API (admins only): push a signed bundle, activate,
// shadow, roll back, trust a signing key, and read this node's status.
// The work is done by the node (PolicyAdmin); this file validates input
// and maps errors to the JSON error envelope.

// PolicyAdmin runs the policy lifecycle (implemented by the node).
type PolicyAdmin interface {
	Push(ctx context.Context, by string, bundle []byte, activate bool) (PushResult, error)
	Activate(ctx context.Context, by, id string) (uint64, error)
	Shadow(ctx context.Context, by, id string) (uint64, error)
	Unstage(ctx context.Context, by, id string) (uint64, error)
	Rollback(ctx context.Context, by string) (active string, index uint64, err error)
	Trust(ctx context.Context, by string, pub ed25519.PublicKey) (keyID string, err error)
	// Revoke stops trusting a signing key; activeSignedBy is the version in
	// force if that key signed it (it stays in force until replaced).
	Revoke(ctx context.Context, by, keyID string) (activeSignedBy string, err error)
	Status(ctx context.Context) (PolicyStatus, error)
}

// Errors a PolicyAdmin returns (besides storage.ErrConflict/ErrNotFound
// and cluster errors).
var (
	// ErrPolicyRefused: the bundle was refused (bad signature, untrusted
	// key, failing vectors, forbidden import, too big, crash at init); the
	// active policy stays. The wrapped message says why.
	ErrPolicyRefused = errors.New("policy bundle refused")
	// ErrPolicyNotReady: a node failed to compile the bundle, or did not
	// report in time; nothing was activated.
	ErrPolicyNotReady = errors.New("policy not ready on every node")
)

// PushResult is what a push did.
type PushResult struct {
	ID          string `json:"id"`
	Staged      bool   `json:"staged"`
	StagedIndex uint64 `json:"staged_index"`
	Activated   bool   `json:"activated"`
	ActiveIndex uint64 `json:"active_index,omitempty"`
	// Where the time went (milliseconds): verifying, compiling and testing
	// on the receiving node; staging; waiting until every node compiled
	// and self-tested it; activating (commit and apply here).
	CheckMillis    int64 `json:"check_ms"`
	StageMillis    int64 `json:"stage_ms"`
	ReadyMillis    int64 `json:"ready_ms,omitempty"`
	ActivateMillis int64 `json:"activate_ms,omitempty"`
}

// PolicyStatus is one node's view of the policy lifecycle.
type PolicyStatus struct {
	Node         string    `json:"node"`
	Active       string    `json:"active"`        // the version evaluating now
	ActiveBundle string    `json:"active_bundle"` // "" = the embedded default
	Installed    uint64    `json:"installed_at_index"`
	Since        time.Time `json:"since"`
	// Error is set when the active bundle could not be loaded on this
	// node: it fails closed (every message gets the safe reply).
	Error       string            `json:"error,omitempty"`
	History     []string          `json:"history"`
	Shadow      *ShadowStatus     `json:"shadow,omitempty"`
	Staged      []StagedStatus    `json:"staged"`
	TrustedKeys []string          `json:"trusted_keys"`
	Compiled    map[string]string `json:"compiled"` // this node's engines: id → "ok" | "compiling" | error
}

// ShadowStatus reports a shadow run: this node's live counts and samples,
// and the whole cluster's replicated counts (Cluster).
type ShadowStatus struct {
	Policy    string         `json:"policy"`
	Against   string         `json:"against"`
	Since     time.Time      `json:"since"`
	Evaluated uint64         `json:"evaluated"`
	Disagreed uint64         `json:"disagreed"`
	Errors    uint64         `json:"errors"`
	Skipped   uint64         `json:"skipped"`
	Recent    []ShadowSample `json:"recent_disagreements"`
	NotLoaded bool           `json:"not_loaded,omitempty"`
	Cluster   *ShadowTotals  `json:"cluster,omitempty"`
}

// ShadowTotals are the shadow counts every node replicated (each node
// reports what changed every few seconds, so they trail the live counts).
type ShadowTotals struct {
	Evaluated uint64                     `json:"evaluated"`
	Disagreed uint64                     `json:"disagreed"`
	Errors    uint64                     `json:"errors"`
	Skipped   uint64                     `json:"skipped"`
	Nodes     map[string]ShadowNodeCount `json:"nodes"`
}

// ShadowNodeCount is one node's replicated shadow counts.
type ShadowNodeCount struct {
	Evaluated  uint64    `json:"evaluated"`
	Disagreed  uint64    `json:"disagreed"`
	Errors     uint64    `json:"errors"`
	Skipped    uint64    `json:"skipped"`
	ReportedAt time.Time `json:"reported_at"`
}

// ShadowSample is one disagreement, without the message (no personal data).
type ShadowSample struct {
	At               time.Time `json:"at"`
	Direction        string    `json:"direction"`
	AgeTier          string    `json:"age_tier"`
	ActiveAction     string    `json:"active_action"`
	ActiveCategories []string  `json:"active_categories"`
	ShadowAction     string    `json:"shadow_action"`
	ShadowCategories []string  `json:"shadow_categories"`
	ShadowRules      []string  `json:"shadow_rules"`
}

// StagedStatus is a staged bundle with every node's report.
type StagedStatus struct {
	ID       string            `json:"id"`
	SHA256   string            `json:"sha256"`
	KeyID    string            `json:"key_id"`
	StagedAt int64             `json:"staged_at"`
	StagedBy string            `json:"staged_by"`
	Nodes    map[string]string `json:"nodes"` // node → "ok" or its error
}

// adminWriteBudget: a push waits for every node to compile the bundle.
const adminWriteBudget = 3 * time.Minute

func (s *Server) policyRoutes(rt *routeTable) {
	if s.PolicyAdmin == nil {
		return
	}
	admin := func(h authed) httprouter.Handle { return s.wrap(s.staffOnly(s.as(storage.RoleAdmin, h))) }
	rt.POST("/v1/admin/policies", admin(s.pushPolicy))
	rt.GET("/v1/admin/policies", admin(s.policyStatus))
	rt.POST("/v1/admin/policies/:policy/activate", admin(s.activatePolicy))
	rt.POST("/v1/admin/policies/:policy/shadow", admin(s.shadowPolicy))
	rt.DELETE("/v1/admin/policies/:policy", admin(s.unstagePolicy))
	rt.DELETE("/v1/admin/policy-shadow", admin(s.endShadow))
	rt.POST("/v1/admin/policy-rollback", admin(s.rollbackPolicy))
	rt.POST("/v1/admin/policy-keys", admin(s.trustPolicyKey))
	rt.DELETE("/v1/admin/policy-keys/:kid", admin(s.revokePolicyKey))
}

func adminActor(a storage.Actor) string { return "admin:" + a.ID }

// longWrite lets a slow admin operation answer after the server's write timeout.
func longWrite(w http.ResponseWriter, r *http.Request) (context.Context, context.CancelFunc) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(adminWriteBudget + 10*time.Second))
	return context.WithTimeout(r.Context(), adminWriteBudget)
}

// pushPolicy: POST /v1/admin/policies[?activate=false], body = the bundle
// (Content-Type application/octet-stream).
func (s *Server) pushPolicy(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/octet-stream" {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be application/octet-stream (a policy bundle)"}
	}
	activate := true
	switch r.URL.Query().Get("activate") {
	case "", "true":
	case "false":
		activate = false
	default:
		return errBadRequest("activate must be true or false")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bundle.MaxCompressed))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("a policy bundle must be at most %d bytes compressed", bundle.MaxCompressed)}
		}
		return errBadRequest("could not read the bundle")
	}
	if len(raw) == 0 {
		return errBadRequest("empty body: send a policy bundle")
	}
	ctx, cancel := longWrite(w, r)
	defer cancel()
	res, err := s.PolicyAdmin.Push(ctx, adminActor(a), raw, activate)
	if err != nil {
		return policyError(err)
	}
	status := http.StatusCreated
	writeJSON(w, status, res)
	return nil
}

func (s *Server) policyStatus(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ storage.Actor) error {
	st, err := s.PolicyAdmin.Status(r.Context())
	if err != nil {
		return policyError(err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func policyID(p httprouter.Params) (string, error) {
	id := p.ByName("policy")
	if !bundle.ValidID(id) {
		return "", errInvalid("policy id must be name@version")
	}
	return id, nil
}

type indexReply struct {
	Active string `json:"active,omitempty"`
	Shadow string `json:"shadow,omitempty"`
	Index  uint64 `json:"index"`
}

func (s *Server) activatePolicy(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	id, err := policyID(p)
	if err != nil {
		return err
	}
	ctx, cancel := longWrite(w, r)
	defer cancel()
	idx, err := s.PolicyAdmin.Activate(ctx, adminActor(a), id)
	if err != nil {
		return policyError(err)
	}
	writeJSON(w, http.StatusOK, indexReply{Active: id, Index: idx})
	return nil
}

func (s *Server) shadowPolicy(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	id, err := policyID(p)
	if err != nil {
		return err
	}
	ctx, cancel := longWrite(w, r)
	defer cancel()
	idx, err := s.PolicyAdmin.Shadow(ctx, adminActor(a), id)
	if err != nil {
		return policyError(err)
	}
	writeJSON(w, http.StatusOK, indexReply{Shadow: id, Index: idx})
	return nil
}

func (s *Server) unstagePolicy(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	id, err := policyID(p)
	if err != nil {
		return err
	}
	if _, err := s.PolicyAdmin.Unstage(r.Context(), adminActor(a), id); err != nil {
		return policyError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) endShadow(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	idx, err := s.PolicyAdmin.Shadow(r.Context(), adminActor(a), "")
	if err != nil {
		return policyError(err)
	}
	writeJSON(w, http.StatusOK, indexReply{Index: idx})
	return nil
}

func (s *Server) rollbackPolicy(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	active, idx, err := s.PolicyAdmin.Rollback(r.Context(), adminActor(a))
	if errors.Is(err, storage.ErrNotFound) {
		return &apiError{Status: http.StatusConflict, Code: "nothing_to_roll_back", Message: "the embedded default policy is active: there is nothing to roll back"}
	}
	if err != nil {
		return policyError(err)
	}
	if active == "" {
		active = "default"
	}
	writeJSON(w, http.StatusOK, indexReply{Active: active, Index: idx})
	return nil
}

type trustRequest struct {
	PublicKeyPEM string `json:"public_key_pem"`
}

func (s *Server) trustPolicyKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req trustRequest
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	pub, err := bundle.ParsePublicKey([]byte(req.PublicKeyPEM))
	if err != nil {
		return errInvalid("public_key_pem must be an Ed25519 public key in PEM (daisydog policy keygen writes one)")
	}
	kid, err := s.PolicyAdmin.Trust(r.Context(), adminActor(a), pub)
	if err != nil {
		return policyError(err)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"key_id": kid})
	return nil
}

// revokePolicyKey stops trusting a bundle-signing key (e.g. it leaked).
func (s *Server) revokePolicyKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params, a storage.Actor) error {
	kid := ps.ByName("kid")
	if !validKeyID(kid) {
		return errInvalid("kid must be a policy key id: 16 lower-case hex digits (daisydog policy status lists them)")
	}
	active, err := s.PolicyAdmin.Revoke(r.Context(), adminActor(a), kid)
	if err != nil {
		return policyError(err)
	}
	out := map[string]any{"revoked": kid}
	if active != "" {
		out["active_signed_by_key"] = active
		out["warning"] = "the policy in force was signed by this key and stays in force until you push a replacement signed by a trusted key"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// validKeyID: the first 16 hex digits of the key's SHA-256.
func validKeyID(kid string) bool {
	if len(kid) != 16 {
		return false
	}
	for _, c := range kid {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// policyError maps lifecycle errors to the error envelope. Refusals carry
// their reason: the admin needs it, and it holds no personal data.
func policyError(err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrPolicyRefused):
		code := "policy_refused"
		status := http.StatusUnprocessableEntity
		if errors.Is(err, bundle.ErrTooLarge) {
			status, code = http.StatusRequestEntityTooLarge, "too_large"
		}
		return &apiError{Status: status, Code: code, Message: err.Error()}
	case errors.Is(err, ErrPolicyNotReady):
		return &apiError{Status: http.StatusConflict, Code: "policy_not_ready", Message: err.Error()}
	case errors.Is(err, storage.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, storage.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case isUnavailable(err):
		return errUnavailable
	}
	return err
}

// pinnedKey carries the Evaluator a turn started with.
type pinnedKey struct{}

// withPolicy pins e for the rest of a turn: a policy swap in the middle
// of a turn does not mix two policies (in-flight turns finish on the old).
func withPolicy(ctx context.Context, e Evaluator) context.Context {
	return context.WithValue(ctx, pinnedKey{}, e)
}

// policyFor returns the pinned Evaluator, or the current one.
func (s *Server) policyFor(ctx context.Context) Evaluator {
	if e, ok := ctx.Value(pinnedKey{}).(Evaluator); ok {
		return e
	}
	return s.Policy()
}

func isUnavailable(err error) bool {
	return errors.Is(err, raftcluster.ErrUnavailable) || errors.Is(err, raftcluster.ErrAmbiguous)
}
