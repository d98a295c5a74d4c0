package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	mailer "daisydog/node/mail"
	"daisydog/storage"
)

// Parental consent (charter §6; storage/consent.go). A child profile under
// 13 cannot use any child endpoint until a parent of its family records
// consent: the parent, signed in with a verified e-mail address, consents
// to the current privacy notice (its version is part of the request, so a
// parent never consents to a notice they have not seen) and a confirmation
// e-mail goes to that address with how to withdraw ("e-mail plus"). A
// withdrawal stops the child's devices at once, on every node; a new
// consent lets them in again. Every grant and withdrawal is kept (review,
// export) and audit-logged.

var (
	errConsentRequired = &apiError{Status: http.StatusForbidden, Code: "consent_required",
		Message: "a parent must give consent in the DaisyDog console before this profile can chat"}
	errEmailUnverified = &apiError{Status: http.StatusForbidden, Code: "email_unverified",
		Message: "verify your e-mail address first: the consent is confirmed to it"}
)

func errNoticeChanged() *apiError {
	return &apiError{Status: http.StatusConflict, Code: "notice_changed",
		Message: fmt.Sprintf("the privacy notice is now version %s: read it (GET /v1/privacy) and consent to that version", PrivacyNoticeVersion)}
}

type consentView struct {
	ID            string `json:"id"`
	Method        string `json:"method"`
	NoticeVersion string `json:"notice_version"`
	GrantedAt     string `json:"granted_at"`
	GrantedBy     string `json:"granted_by"`
	RevokedAt     string `json:"revoked_at,omitempty"`
	RevokedBy     string `json:"revoked_by,omitempty"`
}

func viewConsent(r storage.ConsentRow) consentView {
	v := consentView{ID: r.ID, Method: r.Method, NoticeVersion: r.NoticeVersion, GrantedAt: millis(r.GrantedAt), GrantedBy: r.ParentID}
	if r.RevokedAt != 0 {
		v.RevokedAt, v.RevokedBy = millis(r.RevokedAt), r.RevokedBy
	}
	return v
}

// consentStatus is GET /v1/children/:id/consent.
type consentStatus struct {
	// Required: the profile is under 13, so it needs a consent in force.
	Required bool `json:"required"`
	// Active is the consent in force, if any.
	Active *consentView `json:"active"`
	// History is every consent recorded for the child, oldest first.
	History []consentView `json:"history"`
	// NoticeVersion is the privacy notice a new consent must name.
	NoticeVersion string `json:"notice_version"`
	// Methods lists the methods this service records.
	Methods []string `json:"methods"`
}

func (s *Server) consentStatus(r *http.Request, a storage.Actor, childID string) (consentStatus, error) {
	ctx := r.Context()
	var c storage.ChildRow
	err := s.fresh(ctx, func() (err error) {
		c, err = s.DB.Child(ctx, a, childID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return consentStatus{}, errNotFound
	}
	if err != nil {
		return consentStatus{}, err
	}
	rows, err := s.DB.Consents(ctx, a, childID)
	if err != nil {
		return consentStatus{}, err
	}
	st := consentStatus{Required: storage.UnderConsentAge(c.AgeTier), History: []consentView{},
		NoticeVersion: PrivacyNoticeVersion, Methods: []string{storage.ConsentEmailPlus}}
	for _, row := range rows {
		v := viewConsent(row)
		st.History = append(st.History, v)
		if row.ID == c.ConsentID {
			st.Active = &v
		}
	}
	return st, nil
}

func (s *Server) getConsent(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	st, err := s.consentStatus(r, a, p.ByName("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// grantConsent records the signed-in parent's consent for a child and
// e-mails the confirmation.
func (s *Server) grantConsent(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var req struct {
		NoticeVersion string `json:"notice_version"`
		Method        string `json:"method"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	if req.Method == "" {
		req.Method = storage.ConsentEmailPlus
	}
	if req.Method != storage.ConsentEmailPlus {
		return errInvalid(fmt.Sprintf("method must be %q (the only method this service records)", storage.ConsentEmailPlus))
	}
	if req.NoticeVersion == "" {
		return errInvalid("notice_version is required: the version of the privacy notice (GET /v1/privacy) the parent consents to")
	}
	if req.NoticeVersion != PrivacyNoticeVersion {
		return errNoticeChanged()
	}
	ctx := r.Context()
	childID := p.ByName("id")
	parent, email, err := s.parentWithEmail(ctx, a)
	if err != nil {
		return err
	}
	if parent.EmailVerifiedAt == 0 {
		return errEmailUnverified
	}
	var c storage.ChildRow
	err = s.fresh(ctx, func() (err error) {
		c, err = s.DB.Child(ctx, a, childID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	nick, err := s.childView(r, c)
	if err != nil {
		return err
	}
	now := s.Now()
	cmd := &storage.GrantConsent{ParentID: a.ID, ChildID: childID, ConsentID: newID("cs_"), Method: req.Method,
		NoticeVersion: req.NoticeVersion, Now: now.UnixMilli()}
	m := consentMail(email, nick.Nickname, childID, req.NoticeVersion, now)
	if err := s.replicateWithMail(ctx, cmd, m, nil, func() bool { return true }); err != nil {
		return err
	}
	st, err := s.consentStatus(r, a, childID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, st)
	return nil
}

// consentMail is the "plus" of e-mail plus: the parent learns, at the
// verified address, that consent was given, for which notice, and how to
// withdraw it (a parent who did not give it withdraws it there).
func consentMail(to, nickname, childID, notice string, at time.Time) mailer.Message {
	body := fmt.Sprintf("Hello from DaisyDog!\n\nOn %s you gave consent for %s (profile %s) to chat with Daisy, under privacy notice version %s.\n\n"+
		"What is collected, why and for how long is in the privacy notice (GET /v1/privacy). Nothing is shared with third parties unless you separately switch on third-party AI sharing.\n\n"+
		"You can withdraw this consent at any time in the DaisyDog console (or DELETE /v1/children/%s/consent): the child's devices stop working at once. "+
		"You can also review, export or delete everything stored about your child there.\n\n"+
		"If you did not give this consent, withdraw it and change your password.\n",
		at.UTC().Format("2 January 2006 at 15:04 UTC"), nickname, childID, notice, childID)
	return mailer.Message{To: storage.NormalizeEmail(to), Subject: "You gave consent for your child to use DaisyDog", Body: body, Kind: "consent_confirmation"}
}

// revokeConsent withdraws the consent in force: the child's devices are
// refused from the next request, on every node. Idempotent: with nothing in
// force it changes nothing (and audits nothing) and answers the status.
func (s *Server) revokeConsent(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	ctx := r.Context()
	childID := p.ByName("id")
	if _, err := s.replicate(ctx, &storage.RevokeConsent{ParentID: a.ID, ChildID: childID, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	st, err := s.consentStatus(r, a, childID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
