package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	"daisydog/storage"
)

// Staff (administrators and moderators): a one-time bootstrap creates the
// first administrator; administrators invite the others. Every staff login
// needs a password and then a TOTP code (or a single-use recovery code);
// TOTP is enrolled on the first login, before any session exists. Staff
// access tokens last 15 minutes and are not refreshable.

// InviteTTL is how long a staff invitation stays valid.
const InviteTTL = 72 * time.Hour

// recoveryCodeCount is how many recovery codes a staff member receives.
const recoveryCodeCount = 10

// BootstrapToken is the credential `daisydog admin create` presents to
// create the first administrator. It is derived from the cluster key, so
// only someone holding a server's data directory can compute it, and the
// state machine refuses it once any staff account exists.
func BootstrapToken(k *storage.Keyring) string {
	return hex.EncodeToString(k.SecretIndex("admin-bootstrap", "v1"))
}

// staffOnly applies the optional administrator IP allow-list.
func (s *Server) staffOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
		if len(s.AdminNets) > 0 {
			ip, err := netip.ParseAddr(clientIP(r))
			allowed := false
			if err == nil {
				ip = ip.Unmap()
				for _, n := range s.AdminNets {
					if n.Contains(ip) {
						allowed = true
						break
					}
				}
			}
			if !allowed {
				return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "staff routes are not reachable from this address"}
			}
		}
		return h(w, r, p)
	}
}

type staffCredentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) bootstrapAdmin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bootstrap ")
	want := BootstrapToken(s.Vault.Keyring())
	if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
		return errUnauthorized
	}
	var req staffCredentials
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	id, err := s.createStaff(r.Context(), req, storage.RoleAdmin, true, nil)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "conflict" {
			return &apiError{Status: http.StatusConflict, Code: "already_bootstrapped", Message: "the first administrator already exists; ask an administrator for an invitation"}
		}
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"staff_id": id, "role": string(storage.RoleAdmin),
		"next": "log in at POST /v1/admin/login and enrol TOTP"})
	return nil
}

func (s *Server) createStaff(ctx context.Context, req staffCredentials, role storage.Role, bootstrap bool, invite []byte) (string, error) {
	email, err := validEmail(req.Email)
	if err != nil {
		return "", err
	}
	if err := auth.CheckPassword(req.Password); err != nil {
		return "", errInvalid(err.Error())
	}
	hash, err := s.Hasher.Hash(ctx, req.Password)
	if err != nil {
		return "", err
	}
	keys := s.Vault.Keyring()
	id := newID("st_")
	sealed, err := keys.SealSecret("staff-email:"+id, []byte(storage.NormalizeEmail(email)))
	if err != nil {
		return "", err
	}
	cmd := &storage.CreateStaff{StaffID: id, Role: role, EmailIndex: keys.EmailIndex(email), EmailSealed: sealed,
		PasswordHash: hash, Bootstrap: bootstrap, InviteHash: invite, Now: s.Now().UnixMilli()}
	if _, err := s.replicate(ctx, cmd, nil); err != nil {
		return "", err
	}
	return id, nil
}

type staffLoginResponse struct {
	MFA        string `json:"mfa"` // "enroll" or "verify"
	MFAToken   string `json:"mfa_token"`
	ExpiresIn  int    `json:"expires_in"`
	TOTPSecret string `json:"totp_secret,omitempty"`
	TOTPURI    string `json:"otpauth_uri,omitempty"`
}

// staffLogin is the password step. It shares the parents' replicated
// lockout (keyed by the e-mail's blind index) and reveals nothing about
// whether the account exists.
func (s *Server) staffLogin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req staffCredentials
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" || len(req.Password) > 4*auth.MaxPasswordLen {
		return errBadLogin
	}
	ctx := r.Context()
	keys := s.Vault.Keyring()
	bidx := keys.EmailIndex(req.Email)
	release, err := s.startCredentialCheck(ctx, bidx)
	if err != nil {
		return err
	}
	defer release()
	ipKey := s.clientKey(r)
	if err := s.rateCheck(ctx, rateLoginFailed, ipKey); err != nil {
		return err
	}
	var st storage.StaffCredentials
	err = s.fresh(ctx, func() (err error) {
		st, err = s.DB.StaffByEmailIndex(ctx, storage.Actor{Role: storage.RoleSystem}, bidx)
		return err
	})
	if err := s.checkPassword(ctx, req.Password, st.PasswordHash, err, bidx, ipKey); err != nil {
		return err
	}
	resp := staffLoginResponse{MFA: "verify"}
	if !st.TOTPEnabled {
		// First login: a fresh secret each time until one is confirmed.
		secret := auth.NewTOTPSecret()
		sealed, err := keys.SealSecret("totp:"+st.StaffID, []byte(secret))
		if err != nil {
			return err
		}
		if _, err := s.replicate(ctx, &storage.StaffTOTPSecret{StaffID: st.StaffID, Sealed: sealed, Now: s.Now().UnixMilli()}, nil); err != nil {
			return err
		}
		resp.MFA, resp.TOTPSecret, resp.TOTPURI = "enroll", secret, auth.TOTPURI(secret, strings.TrimSpace(req.Email))
	}
	tok, exp, err := s.Tokens.Issue(st.StaffID, auth.RoleMFAPending, auth.StaffFamily, newID("mfa_"), auth.MFATokenTTL)
	if err != nil {
		return errUnavailable
	}
	resp.MFAToken, resp.ExpiresIn = tok, int(exp.Sub(s.Now()).Seconds()+0.5)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// checkLockout catches up with the leader and refuses a locked account.
func (s *Server) checkLockout(ctx context.Context, bidx []byte) error {
	if err := s.Repl.SyncRead(ctx); err != nil {
		return errUnavailable
	}
	return s.lockedOut(ctx, bidx)
}

// lockedOut refuses a locked account (local read; callers catch up first).
func (s *Server) lockedOut(ctx context.Context, bidx []byte) error {
	until, err := s.DB.LockedUntilMillis(ctx, bidx)
	if err != nil {
		return err
	}
	if wait := until - s.Now().UnixMilli(); wait > 0 {
		return errLocked(wait)
	}
	return nil
}

var errBadMFA = &apiError{Status: http.StatusUnauthorized, Code: "invalid_mfa_code",
	Message: "the code is not valid (codes work once; wait for the next one)"}

type staffTokenResponse struct {
	AccessToken   string   `json:"access_token"`
	TokenType     string   `json:"token_type"`
	ExpiresIn     int      `json:"expires_in"`
	Role          string   `json:"role"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

// staffMFA is the second step: a TOTP code (confirming enrolment on the
// first login) or a recovery code.
func (s *Server) staffMFA(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		MFAToken     string `json:"mfa_token"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return errInvalid("give exactly one of code or recovery_code")
	}
	c, err := s.Tokens.Verify(req.MFAToken)
	if err != nil || c.Role != auth.RoleMFAPending {
		return errUnauthorized
	}
	ctx := r.Context()
	// One code of a staff account is checked at a time on this node, so
	// the lockout counts each wrong code before the next is tried.
	release, err := s.guardAccount("mfa:" + c.Subject)
	if err != nil {
		return err
	}
	defer release()
	// The secret may have been stored through another node a moment ago.
	if err := s.Repl.SyncRead(ctx); err != nil {
		return errUnavailable
	}
	st, err := s.DB.StaffByID(ctx, storage.Actor{Role: storage.RoleSystem}, c.Subject)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errUnauthorized
		}
		return err
	}
	bidx := st.EmailIndex
	if err := s.lockedOut(ctx, bidx); err != nil {
		return err
	}
	keys := s.Vault.Keyring()
	now := s.Now()
	cmd := &storage.StaffLogin{StaffID: st.StaffID, SessionID: newID("ss_"), EmailIndex: bidx,
		Now: now.UnixMilli(), ExpiresAt: now.Add(auth.StaffTokenTTL).UnixMilli()}
	var recovery []string
	if req.RecoveryCode != "" {
		cmd.RecoveryHash = keys.SecretIndex("staff-recovery:"+st.StaffID, auth.NormalizeRecoveryCode(req.RecoveryCode))
	} else {
		if st.TOTPSealed == nil {
			return errBadMFA
		}
		secret, err := keys.OpenSecret("totp:"+st.StaffID, st.TOTPSealed)
		if err != nil {
			return err
		}
		step, ok := auth.VerifyTOTP(string(secret), req.Code, now)
		if !ok {
			return s.mfaFailed(ctx, bidx)
		}
		cmd.Step = step
		if !st.TOTPEnabled {
			cmd.Confirm = true
			recovery = auth.NewRecoveryCodes(recoveryCodeCount)
			for _, rc := range recovery {
				cmd.RecoveryHashes = append(cmd.RecoveryHashes, keys.SecretIndex("staff-recovery:"+st.StaffID, auth.NormalizeRecoveryCode(rc)))
			}
		}
	}
	var res storage.StaffLoginResult
	if _, err := s.replicate(ctx, cmd, &res); err != nil {
		return err
	}
	if res.Refused != "" {
		return s.mfaFailed(ctx, bidx)
	}
	tok, exp, err := s.Tokens.Issue(st.StaffID, string(st.Role), auth.StaffFamily, cmd.SessionID, auth.StaffTokenTTL)
	if err != nil {
		return errUnavailable
	}
	writeJSON(w, http.StatusOK, staffTokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(exp.Sub(now).Seconds() + 0.5), Role: string(st.Role), RecoveryCodes: recovery})
	return nil
}

// mfaFailed counts a bad second factor like a bad password (lockout).
func (s *Server) mfaFailed(ctx context.Context, bidx []byte) error {
	if _, err := s.replicate(ctx, &storage.LoginFailure{EmailIndex: bidx, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	return errBadMFA
}

func (s *Server) staffLogout(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	if _, err := s.replicate(r.Context(), &storage.RevokeStaffSessions{StaffID: a.ID, SessionID: a.SessionID, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	role := storage.Role(req.Role)
	if role != storage.RoleAdmin && role != storage.RoleModerator {
		return errInvalid(`role must be "admin" or "moderator"`)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	token := "inv_" + base64.RawURLEncoding.EncodeToString(b[:])
	now := s.Now()
	exp := now.Add(InviteTTL)
	cmd := &storage.CreateStaffInvite{AdminID: a.ID, Role: role, Hash: s.Vault.Keyring().SecretIndex("staff-invite", token),
		Now: now.UnixMilli(), ExpiresAt: exp.UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"invite_token": token, "role": string(role), "expires_at": exp.UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		InviteToken string `json:"invite_token"`
		Role        string `json:"role"`
		staffCredentials
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	role := storage.Role(req.Role)
	if role != storage.RoleAdmin && role != storage.RoleModerator {
		return errInvalid(`role must be "admin" or "moderator" (as in the invitation)`)
	}
	if !strings.HasPrefix(req.InviteToken, "inv_") || len(req.InviteToken) != 47 {
		return errInvalidInvite
	}
	id, err := s.createStaff(r.Context(), req.staffCredentials, role, false, s.Vault.Keyring().SecretIndex("staff-invite", req.InviteToken))
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "not_found" {
			return errInvalidInvite
		}
		if errors.As(err, &ae) && ae.Code == "conflict" {
			return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "this e-mail cannot be used for a staff account"}
		}
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"staff_id": id, "role": string(role),
		"next": "log in at POST /v1/admin/login and enrol TOTP"})
	return nil
}

var errInvalidInvite = &apiError{Status: http.StatusUnauthorized, Code: "invalid_invite",
	Message: "this invitation is not valid (it may have expired, been used, or be for another role)"}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	rows, err := s.DB.StaffList(r.Context(), a)
	if err != nil {
		return err
	}
	type member struct {
		storage.StaffMember
		CreatedAt string `json:"created_at"`
	}
	out := make([]member, 0, len(rows))
	for _, m := range rows {
		out = append(out, member{StaffMember: m, CreatedAt: millis(m.CreatedAtMs)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": out})
	return nil
}
