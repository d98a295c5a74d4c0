package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	mailer "daisydog/node/mail"
	"daisydog/policies"
	"daisydog/storage"
)

// LinkCodeTTL is how long a device link code stays valid.
const LinkCodeTTL = 10 * time.Minute

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func validEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	if len(e) < 3 || len(e) > 254 {
		return "", errInvalid("email must be a valid e-mail address")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", errInvalid("email must be a valid e-mail address")
	}
	return e, nil
}

func (s *Server) signUp(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req credentials
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	email, err := validEmail(req.Email)
	if err != nil {
		return err
	}
	if err := auth.CheckPassword(req.Password, email); err != nil {
		return errInvalid(err.Error())
	}
	// Cluster-wide per-client limit, before the argon2 hash and any write.
	ctx := r.Context()
	ipKey := s.clientKey(r)
	if err := s.rateGate(ctx, rateSignUp, ipKey); err != nil {
		return err
	}
	if err := s.rateTake(ctx, rateSignUp, ipKey); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(r.Context(), req.Password)
	if err != nil {
		return err
	}
	familyID, parentID := newID("fa_"), newID("pa_")
	dek, err := storage.NewDataKey()
	if err != nil {
		return err
	}
	keys := s.Vault.Keyring()
	wrapped, err := keys.WrapDataKey(familyID, dek)
	if err != nil {
		return err
	}
	sealedEmail, err := storage.Seal(dek, []byte(storage.NormalizeEmail(email)), storage.FieldAAD(storage.FieldEmail, parentID))
	if err != nil {
		return err
	}
	cmd := &storage.SignUp{
		FamilyID: familyID, WrappedKey: wrapped, ParentID: parentID,
		EmailIndex: keys.EmailIndex(email), EmailSealed: sealedEmail, PasswordHash: hash, CreatedAt: s.Now().UnixMilli(),
	}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "conflict" {
			return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "this e-mail cannot be used to sign up"}
		}
		return err
	}
	s.Vault.Remember(familyID, dek)
	// The account exists now; a failure to send the e-mail is not a failed
	// sign-up (the parent can ask for it again).
	if err := s.sendVerification(ctx, parentID, email); err != nil {
		s.log.Warn("verification e-mail not issued after sign-up", "parent", parentID, "err", err)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"parent_id": parentID, "email_verified": false})
	return nil
}

type tokenResponse struct {
	AccessToken  string     `json:"access_token"`
	TokenType    string     `json:"token_type"`
	ExpiresIn    int        `json:"expires_in"`
	RefreshToken string     `json:"refresh_token,omitempty"`
	Child        *childView `json:"child,omitempty"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req credentials
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" || len(req.Password) > 4*auth.MaxPasswordLen {
		return errBadLogin
	}
	ctx := r.Context()
	keys := s.Vault.Keyring()
	bidx := keys.EmailIndex(req.Email)
	// Lockout is keyed by the e-mail's blind index, account or not, and is
	// replicated: attempts spread over every node count together. The
	// check catches up with the leader first so a failure recorded through
	// another node a moment ago counts here too (a login already costs an
	// argon2 hash).
	release, err := s.startCredentialCheck(ctx, bidx)
	if err != nil {
		return err
	}
	defer release()
	ipKey := s.clientKey(r)
	if err := s.rateCheck(ctx, rateLoginFailed, ipKey); err != nil {
		return err
	}
	var p storage.ParentCredentials
	err = s.fresh(ctx, func() (err error) {
		p, err = s.DB.ParentByEmailIndex(ctx, storage.Actor{Role: storage.RoleSystem}, bidx)
		return err
	})
	if err := s.checkPassword(ctx, req.Password, p.PasswordHash, err, bidx, ipKey); err != nil {
		return err
	}
	sessionID := newID("se_")
	refresh, refreshHash := s.newRefreshToken()
	now := s.Now()
	if _, err := s.replicate(ctx, &storage.StartSession{SessionID: sessionID, ParentID: p.ParentID, RefreshHash: refreshHash,
		EmailIndex: bidx, Now: now.UnixMilli(), ExpiresAt: now.Add(RefreshTTL).UnixMilli()}, nil); err != nil {
		return err
	}
	return s.writeTokens(w, http.StatusOK, p.ParentID, p.FamilyID, sessionID, refresh)
}

// RefreshTTL is how long an unused refresh token stays valid.
const RefreshTTL = 30 * 24 * time.Hour

func (s *Server) loginFailed(ctx context.Context, bidx, ipKey []byte) error {
	if err := s.rateRecord(ctx, rateLoginFailed, ipKey); err != nil {
		return err
	}
	if _, err := s.replicate(ctx, &storage.LoginFailure{EmailIndex: bidx, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	return errBadLogin
}

func errLocked(waitMillis int64) *apiError {
	secs := int((waitMillis + 999) / 1000)
	return &apiError{Status: http.StatusTooManyRequests, Code: "locked",
		Message: "too many failed attempts; try again later", RetryAfter: secs}
}

func (s *Server) newRefreshToken() (token string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = "rt_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, s.Vault.Keyring().SecretIndex("refresh", token)
}

func (s *Server) writeTokens(w http.ResponseWriter, status int, parentID, familyID, sessionID, refresh string) error {
	tok, exp, err := s.Tokens.Issue(parentID, auth.RoleParent, familyID, sessionID, auth.ParentTokenTTL)
	if err != nil {
		return errUnavailable
	}
	writeJSON(w, status, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(exp.Sub(s.Now()).Seconds() + 0.5),
		RefreshToken: refresh})
	return nil
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !strings.HasPrefix(req.RefreshToken, "rt_") || len(req.RefreshToken) != 46 {
		return errUnauthorized
	}
	keys := s.Vault.Keyring()
	next, nextHash := s.newRefreshToken()
	now := s.Now()
	var res storage.RefreshResult
	cmd := &storage.RotateRefresh{OldHash: keys.SecretIndex("refresh", req.RefreshToken), NewHash: nextHash,
		Now: now.UnixMilli(), ExpiresAt: now.Add(RefreshTTL).UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, &res); err != nil {
		if err == errNotFound {
			return errUnauthorized
		}
		return err
	}
	if res.Reused {
		s.log.Warn("refresh token reuse: session revoked", "session", res.SessionID)
		return &apiError{Status: http.StatusUnauthorized, Code: "token_reused",
			Message: "this refresh token was already used; the session has been signed out everywhere"}
	}
	return s.writeTokens(w, http.StatusOK, res.ParentID, res.FamilyID, res.SessionID, next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	return s.revoke(w, r, a, a.SessionID)
}

func (s *Server) logoutAll(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	return s.revoke(w, r, a, "")
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, a storage.Actor, sessionID string) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	if _, err := s.replicate(r.Context(), &storage.RevokeSessions{ParentID: a.ID, SessionID: sessionID, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dummyHash is a valid argon2id hash of a random password, used to equalise login timing.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ"

type childView struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	AgeTier   string `json:"age_tier"`
	CreatedAt string `json:"created_at"`
	// ConsentRequired: under 13 with no parental consent in force, so the
	// child's devices are refused (GET/POST /v1/children/:id/consent).
	ConsentRequired bool `json:"consent_required"`
	// SafetyHold: a moderator stopped the child's chat until the family
	// has been reached (null when not on hold).
	SafetyHold *holdView `json:"safety_hold"`
}

func millis(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func (s *Server) childView(r *http.Request, c storage.ChildRow) (childView, error) {
	dek, err := s.Vault.FamilyKey(r.Context(), c.FamilyID)
	if err != nil {
		return childView{}, err
	}
	nick, err := storage.Unseal(dek, c.NicknameSealed, storage.FieldAAD(storage.FieldNickname, c.ID))
	if err != nil {
		return childView{}, err
	}
	return childView{ID: c.ID, Nickname: string(nick), AgeTier: c.AgeTier, CreatedAt: millis(c.CreatedAt), ConsentRequired: c.NeedsConsent(),
		SafetyHold: holdOf(c.HoldReason, c.HoldAt)}, nil
}

var ageTiers = map[string]bool{"5-8": true, "9-12": true, "13-17": true}

func validNickname(n string) (string, error) {
	n = strings.TrimSpace(n)
	if c := utf8.RuneCountInString(n); c < 1 || c > 24 {
		return "", errInvalid("nickname must be 1 to 24 characters")
	}
	for _, r := range n {
		if !(unicode.IsLetter(r) || r == ' ' || r == '-' || r == '\'') {
			return "", errInvalid("nickname may only contain letters, spaces, hyphens and apostrophes")
		}
	}
	return n, nil
}

// nicknameAllowed: a nickname must pass the policy as the child's own
// words would, except that a first name is what a nickname is for — a
// verdict that only redacts one-word names (the policy redacts a lone first
// name in a young child's chat) accepts it. Anything else refuses it: rude
// words, contact details, a school, a handle, a full name. The nickname is
// sealed like the chat. Span offsets are bytes of nick (checked by the
// host before a verdict gets here).
func nicknameAllowed(nick string, v policies.Verdict) bool {
	if v.Action == "allow" {
		return true
	}
	if v.Action != "redact" || len(v.Spans) == 0 || !slices.Equal(v.Categories, []string{"pii_disclosure"}) {
		return false
	}
	for _, sp := range v.Spans {
		if sp.Kind != "name" || sp.Start < 0 || sp.End > len(nick) || sp.Start >= sp.End ||
			strings.ContainsFunc(nick[sp.Start:sp.End], unicode.IsSpace) {
			return false
		}
	}
	return true
}

func (s *Server) createChild(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Nickname string `json:"nickname"`
		AgeTier  string `json:"age_tier"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	nick, err := validNickname(req.Nickname)
	if err != nil {
		return err
	}
	if !ageTiers[req.AgeTier] {
		return errInvalid(`age_tier must be one of "5-8", "9-12", "13-17"`)
	}
	v, err := s.evaluate(r.Context(), policies.Input{Text: nick, Direction: "in", AgeTier: req.AgeTier})
	if err != nil {
		return errUnavailable
	}
	if !nicknameAllowed(nick, v) {
		return errInvalid("please choose a different nickname")
	}
	dek, err := s.Vault.FamilyKey(r.Context(), a.FamilyID)
	if err != nil {
		return err
	}
	childID := newID("ch_")
	sealed, err := storage.Seal(dek, []byte(nick), storage.FieldAAD(storage.FieldNickname, childID))
	if err != nil {
		return err
	}
	now := s.Now().UnixMilli()
	if _, err := s.replicate(r.Context(), &storage.CreateChild{ChildID: childID, ParentID: a.ID, NicknameSealed: sealed, AgeTier: req.AgeTier, CreatedAt: now}, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, childView{ID: childID, Nickname: nick, AgeTier: req.AgeTier, CreatedAt: millis(now), ConsentRequired: storage.UnderConsentAge(req.AgeTier)})
	return nil
}

func (s *Server) listChildren(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	rows, err := s.DB.Children(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]childView, 0, len(rows))
	for _, c := range rows {
		v, err := s.childView(r, c)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"children": out})
	return nil
}

func (s *Server) getChild(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var c storage.ChildRow
	err := s.fresh(r.Context(), func() (err error) {
		c, err = s.DB.Child(r.Context(), a, p.ByName("id"))
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	v, err := s.childView(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Link codes: 10 symbols of Crockford base32 (50 bits), shown in two groups.
const linkAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newLinkCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	out := make([]byte, 0, 11)
	for i, x := range b {
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, linkAlphabet[int(x)%32])
	}
	return string(out)
}

// normalizeLinkCode accepts any case, spaces and hyphens, and the usual
// Crockford confusions (O→0, I/L→1).
func normalizeLinkCode(c string) string {
	c = strings.ToUpper(c)
	var b strings.Builder
	for _, r := range c {
		switch r {
		case ' ', '-':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) createLinkCode(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	code := newLinkCode()
	now := s.Now()
	exp := now.Add(LinkCodeTTL)
	cmd := &storage.CreateLinkCode{ParentID: a.ID, ChildID: p.ByName("id"), CodeHash: s.Vault.Keyring().SecretIndex("link", normalizeLinkCode(code)),
		CreatedAt: now.UnixMilli(), ExpiresAt: exp.UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"code": code, "expires_at": exp.UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) linkDevice(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	// Failed redemptions are limited per client network across the cluster
	// (see docs/api.md for why 30 an hour makes guessing a 50-bit code hopeless).
	ctx := r.Context()
	ipKey := s.clientKey(r)
	if err := s.rateGate(ctx, rateLinkFailed, ipKey); err != nil {
		return err
	}
	code := normalizeLinkCode(req.Code)
	if len(code) != 10 || strings.Trim(code, linkAlphabet) != "" {
		if err := s.rateRecord(ctx, rateLinkFailed, ipKey); err != nil {
			return err
		}
		return errInvalidCode
	}
	var dev storage.LinkedDevice
	cmd := &storage.RedeemLinkCode{CodeHash: s.Vault.Keyring().SecretIndex("link", code), DeviceID: newID("dv_"), Now: s.Now().UnixMilli()}
	if _, err := s.replicate(ctx, cmd, &dev); err != nil {
		if err == errNotFound {
			if err := s.rateRecord(ctx, rateLinkFailed, ipKey); err != nil {
				return err
			}
			return errInvalidCode
		}
		return err
	}
	cv, err := s.childView(r, dev.Child)
	if err != nil {
		return err
	}
	tok, exp, err := s.Tokens.Issue(dev.Child.ID, auth.RoleChild, dev.Child.FamilyID, dev.DeviceID, auth.ChildTokenTTL)
	if err != nil {
		return errUnavailable
	}
	writeJSON(w, http.StatusCreated, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(time.Until(exp).Seconds() + 0.5), Child: &cv})
	return nil
}

var errInvalidCode = &apiError{Status: http.StatusUnauthorized, Code: "invalid_code", Message: "this link code is not valid (it may have expired or been used)"}

// AccountDeps are what the parent-account flows need beyond storage.
type AccountDeps struct {
	// Mail queues verification and password-reset e-mails (sent in the
	// background, so no response waits for or reveals a delivery). Nil
	// sends nothing.
	Mail Mailer
	// MailLinkBase, if set (e.g. "https://app.example"), makes the e-mails
	// carry links: BASE/verify-email#token=… and BASE/reset-password#token=…
	// (in the fragment, so the token never reaches a server log or Referer).
	MailLinkBase string
	// ClusterLimits are the cluster-wide per-client limits (see RateLimits).
	// The zero value means the defaults, or none when AuthPerMinute < 0.
	ClusterLimits RateLimits
}

// Mailer accepts messages for background delivery.
type Mailer interface {
	Enqueue(m mailer.Message) bool
}

// Lifetimes of e-mailed tokens.
const (
	VerifyTokenTTL = 24 * time.Hour
	ResetTokenTTL  = 30 * time.Minute
)

// newEmailToken returns a single-use token for an e-mail and its keyed
// hash (the only form stored).
func (s *Server) newEmailToken(prefix string) (token string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, s.emailTokenHash(token)
}

func (s *Server) emailTokenHash(token string) []byte {
	return s.Vault.Keyring().SecretIndex("email-token", token)
}

// validEmailToken checks the shape of a presented token (prefix + 43 base64url).
func validEmailToken(tok, prefix string) bool {
	rest, ok := strings.CutPrefix(tok, prefix)
	if !ok || len(rest) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

const (
	verifyPrefix = "ev_"
	resetPrefix  = "pr_"
)

var (
	errInvalidToken = &apiError{Status: http.StatusBadRequest, Code: "invalid_token",
		Message: "this link or token is not valid; ask for a new one"}
	errTokenUsed = &apiError{Status: http.StatusGone, Code: "token_used",
		Message: "this link or token was already used; ask for a new one if you still need it"}
	errTokenExpired = &apiError{Status: http.StatusGone, Code: "token_expired",
		Message: "this link or token has expired; ask for a new one"}
)

func tokenStatusError(status string) error {
	switch status {
	case storage.TokenOK:
		return nil
	case storage.TokenUsed:
		return errTokenUsed
	case storage.TokenExpired:
		return errTokenExpired
	}
	return errInvalidToken
}

func (s *Server) mailLink(path, token string) string {
	if s.MailLinkBase == "" {
		return ""
	}
	return strings.TrimRight(s.MailLinkBase, "/") + path + "#token=" + token
}

func (s *Server) enqueue(m mailer.Message) {
	if s.Mail == nil {
		// The node warned once at start that no sender is configured.
		s.log.Debug("no mail sender configured; e-mail not sent", "kind", m.Kind)
		return
	}
	s.Mail.Enqueue(m)
}

// sendVerification issues a verification token for a parent and queues
// the e-mail. It reports errAlreadyVerified for a verified address.
func (s *Server) sendVerification(ctx context.Context, parentID, email string) error {
	tok, hash := s.newEmailToken(verifyPrefix)
	now := s.Now()
	body := "Hello from DaisyDog!\n\nPlease confirm that this is your e-mail address"
	if link := s.mailLink("/verify-email", tok); link != "" {
		body += " by opening this link:\n\n  " + link + "\n"
	} else {
		body += " with this code:\n\n  " + tok + "\n"
	}
	body += "\nIt works once, for 24 hours. If you did not create a DaisyDog account, ignore this e-mail.\n"
	m := mailer.Message{To: storage.NormalizeEmail(email), Subject: "Confirm your e-mail address for DaisyDog", Body: body, Kind: "verify_email"}
	var res storage.EmailTokenIssued
	cmd := &storage.IssueEmailToken{ParentID: parentID, Purpose: storage.PurposeVerifyEmail, TokenHash: hash,
		Now: now.UnixMilli(), ExpiresAt: now.Add(VerifyTokenTTL).UnixMilli()}
	if err := s.replicateWithMail(ctx, cmd, m, &res, func() bool { return res.Issued }); err != nil {
		return err
	}
	if res.AlreadyVerified {
		return errAlreadyVerified
	}
	if !res.Issued {
		return errNotFound
	}
	return nil
}

var errAlreadyVerified = &apiError{Status: http.StatusConflict, Code: "already_verified", Message: "this e-mail address is already verified"}

// verifyEmail spends a verification token (the link in the e-mail).
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !validEmailToken(req.Token, verifyPrefix) {
		return errInvalidToken
	}
	ctx := r.Context()
	hash := s.emailTokenHash(req.Token)
	var res storage.EmailTokenResult
	if _, err := s.replicate(ctx, &storage.VerifyEmail{TokenHash: hash, Now: s.Now().UnixMilli()}, &res); err != nil {
		if err == errNotFound {
			return errInvalidToken
		}
		return err
	}
	if err := tokenStatusError(res.Status); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"email_verified": true})
	return nil
}

// resendVerification sends a new verification e-mail (the old link stops
// working), at most VerifyMail times per period per parent.
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	ctx := r.Context()
	p, email, err := s.parentWithEmail(ctx, a)
	if err != nil {
		return err
	}
	if p.EmailVerifiedAt != 0 {
		return errAlreadyVerified
	}
	key := s.Vault.Keyring().SecretIndex("parent", a.ID)[:16]
	if err := s.rateGate(ctx, rateVerifyMail, key); err != nil {
		return err
	}
	if err := s.rateTake(ctx, rateVerifyMail, key); err != nil {
		return err
	}
	if err := s.sendVerification(ctx, a.ID, email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
	return nil
}

func (s *Server) parentWithEmail(ctx context.Context, a storage.Actor) (storage.ParentRow, string, error) {
	var p storage.ParentRow
	err := s.fresh(ctx, func() (err error) {
		p, err = s.DB.Parent(ctx, a)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return p, "", errUnauthorized
	}
	if err != nil {
		return p, "", err
	}
	dek, err := s.Vault.FamilyKey(ctx, p.FamilyID)
	if err != nil {
		return p, "", err
	}
	email, err := storage.Unseal(dek, p.EmailSealed, storage.FieldAAD(storage.FieldEmail, p.ID))
	if err != nil {
		return p, "", err
	}
	return p, string(email), nil
}

type parentView struct {
	ID              string `json:"id"`
	Email           string `json:"email"`
	EmailVerified   bool   `json:"email_verified"`
	EmailVerifiedAt string `json:"email_verified_at,omitempty"`
	CreatedAt       string `json:"created_at"`
}

// getParent returns the parent's own account.
func (s *Server) getParent(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	p, email, err := s.parentWithEmail(r.Context(), a)
	if err != nil {
		return err
	}
	v := parentView{ID: p.ID, Email: email, EmailVerified: p.EmailVerifiedAt != 0, CreatedAt: millis(p.CreatedAt)}
	if p.EmailVerifiedAt != 0 {
		v.EmailVerifiedAt = millis(p.EmailVerifiedAt)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// resetAccepted is the one answer to every well-formed reset request.
var resetAccepted = map[string]string{"status": "accepted",
	"message": "if an account uses this address, we have sent it a link to choose a new password"}

// requestPasswordReset answers 202 the same way whether or not an account
// uses the address: both paths do the same replicated work (the state
// machine looks the address up), and the e-mail is sent in the background.
func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	email, err := validEmail(req.Email)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ipKey := s.clientKey(r)
	if err := s.rateGate(ctx, rateReset, ipKey); err != nil {
		return err
	}
	if err := s.rateTake(ctx, rateReset, ipKey); err != nil {
		return err
	}
	tok, hash := s.newEmailToken(resetPrefix)
	now := s.Now()
	body := "Hello from DaisyDog!\n\nSomeone (hopefully you) asked to reset the password of the DaisyDog account for this address."
	if link := s.mailLink("/reset-password", tok); link != "" {
		body += " To choose a new password, open this link:\n\n  " + link + "\n"
	} else {
		body += " To choose a new password, use this code:\n\n  " + tok + "\n"
	}
	body += "\nIt works once, for 30 minutes, and signs you out on every device. If you did not ask for it, ignore this e-mail: your password stays as it is.\n"
	m := mailer.Message{To: storage.NormalizeEmail(email), Subject: "Reset your DaisyDog password", Body: body, Kind: "password_reset"}
	var res storage.EmailTokenIssued
	cmd := &storage.IssueEmailToken{EmailIndex: s.Vault.Keyring().EmailIndex(email), Purpose: storage.PurposePasswordReset,
		TokenHash: hash, Now: now.UnixMilli(), ExpiresAt: now.Add(ResetTokenTTL).UnixMilli()}
	// An unknown address issues no token and queues no e-mail, with the
	// same answer.
	if err := s.replicateWithMail(ctx, cmd, m, &res, func() bool { return res.Issued }); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, resetAccepted)
	return nil
}

// confirmPasswordReset sets a new password with a reset token. Every session
// of the parent ends (refresh tokens die; access tokens are refused on every
// node) and the login lockout is cleared.
func (s *Server) confirmPasswordReset(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if !validEmailToken(req.Token, resetPrefix) {
		return errInvalidToken
	}
	ctx := r.Context()
	hash := s.emailTokenHash(req.Token)
	// Check the token before spending an argon2 hash on it; the replicated
	// command checks it again, so it stays single-use under races.
	if err := s.Repl.SyncRead(ctx); err != nil {
		return errUnavailable
	}
	info, err := s.DB.EmailToken(ctx, storage.Actor{Role: storage.RoleSystem}, hash, storage.PurposePasswordReset, s.Now().UnixMilli())
	if errors.Is(err, storage.ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return err
	}
	if err := tokenStatusError(info.Status); err != nil {
		return err
	}
	dek, err := s.Vault.FamilyKey(ctx, info.FamilyID)
	if err != nil {
		return err
	}
	email, err := storage.Unseal(dek, info.EmailSealed, storage.FieldAAD(storage.FieldEmail, info.ParentID))
	if err != nil {
		return err
	}
	if err := auth.CheckPassword(req.Password, string(email)); err != nil {
		return errInvalid(err.Error())
	}
	pwHash, err := s.Hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	var res storage.EmailTokenResult
	if _, err := s.replicate(ctx, &storage.ResetPassword{TokenHash: hash, PasswordHash: pwHash, Now: s.Now().UnixMilli()}, &res); err != nil {
		if err == errNotFound {
			return errInvalidToken
		}
		return err
	}
	if err := tokenStatusError(res.Status); err != nil {
		return err
	}
	s.log.Info("password reset; every session of the parent revoked", "parent", res.ParentID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkPassword finishes a password login step after the account lookup
// (lookupErr): an unknown account costs the same argon2id work as a known
// one, and both count as a failure for lockout and the client's limit.
func (s *Server) checkPassword(ctx context.Context, password, hash string, lookupErr error, bidx, ipKey []byte) error {
	switch {
	case errors.Is(lookupErr, storage.ErrNotFound):
		// Spend the same work as a real check so timing does not reveal the account.
		_ = s.Hasher.Verify(ctx, password, dummyHash)
		return s.loginFailed(ctx, bidx, ipKey)
	case lookupErr != nil:
		return lookupErr
	}
	if err := s.Hasher.Verify(ctx, password, hash); err != nil {
		if errors.Is(err, auth.ErrMismatch) {
			return s.loginFailed(ctx, bidx, ipKey)
		}
		return err
	}
	return nil
}
