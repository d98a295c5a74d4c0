package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	"daisydog/storage"
)

// Parents own their family's data: they can export all of it (JSON) and
// delete a child or the whole family. Deleting the family removes its data
// key, so sealed copies in the Raft log, snapshots and backups become
// unreadable too. Exports and deletions are audit-logged.

func (s *Server) deleteChild(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeJSON(w, r, smallBody, &empty); err != nil {
			return err
		}
	}
	if _, err := s.replicate(r.Context(), &storage.DeleteChild{ParentID: a.ID, ChildID: p.ByName("id"), Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteFamily needs the parent's password again: it cannot be undone.
func (s *Server) deleteFamily(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, smallBody, &req); err != nil {
		return err
	}
	ctx := r.Context()
	hash, bidx, err := s.DB.ParentPasswordHash(ctx, a)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errUnauthorized
		}
		return err
	}
	// The password is checked like a login's: one attempt at a time per
	// account, refused while the account is locked, and a wrong one counts
	// toward the lockout — a stolen access token is not a way to guess the
	// password (nor to keep the hasher busy).
	release, err := s.startCredentialCheck(ctx, bidx)
	if err != nil {
		return err
	}
	defer release()
	if err := s.Hasher.Verify(ctx, req.Password, hash); err != nil {
		if errors.Is(err, auth.ErrMismatch) {
			if _, err := s.replicate(ctx, &storage.LoginFailure{EmailIndex: bidx, Now: s.Now().UnixMilli()}, nil); err != nil {
				return err
			}
			return &apiError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "the password is incorrect"}
		}
		return err
	}
	if _, err := s.replicate(ctx, &storage.DeleteFamily{ParentID: a.ID, FamilyID: a.FamilyID, Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	s.Vault.Forget(a.FamilyID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type exportTurn struct {
	turnView
	Safety safety `json:"safety"`
}

type exportChild struct {
	childView
	Settings json.RawMessage `json:"settings,omitempty"`
	Devices  []deviceView    `json:"devices"`
	Consents []consentView   `json:"consents"`
	Turns    []exportTurn    `json:"turns"`
}

// exportFamily returns everything stored about the parent's family.
func (s *Server) exportFamily(w http.ResponseWriter, r *http.Request, _ httprouter.Params, a storage.Actor) error {
	ctx := r.Context()
	if err := s.Repl.SyncRead(ctx); err != nil {
		return errUnavailable
	}
	ex, err := s.DB.ExportFamily(ctx, a)
	if err != nil {
		return err
	}
	if _, err := s.replicate(ctx, &storage.RecordAccess{Actor: "parent:" + a.ID, What: "family_export", Target: "family:" + a.FamilyID,
		Reason: "owner export", Now: s.Now().UnixMilli()}, nil); err != nil {
		return err
	}
	dek, err := s.Vault.FamilyKey(ctx, a.FamilyID)
	if err != nil {
		return err
	}
	type parentOut struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		CreatedAt string `json:"created_at"`
	}
	var parents []parentOut
	for _, p := range ex.Parents {
		email, err := storage.Unseal(dek, p.EmailSealed, storage.FieldAAD(storage.FieldEmail, p.ID))
		if err != nil {
			return err
		}
		parents = append(parents, parentOut{ID: p.ID, Email: string(email), CreatedAt: millis(p.CreatedAt)})
	}
	children := []exportChild{}
	for _, c := range ex.Children {
		cv, err := s.childView(r, c)
		if err != nil {
			return err
		}
		ec := exportChild{childView: cv, Settings: ex.Settings[c.ID], Devices: []deviceView{}, Consents: []consentView{}, Turns: []exportTurn{}}
		for _, d := range ex.Devices[c.ID] {
			ec.Devices = append(ec.Devices, newDeviceView(d))
		}
		for _, cs := range ex.Consents[c.ID] {
			ec.Consents = append(ec.Consents, viewConsent(cs))
		}
		for _, t := range ex.Turns[c.ID] {
			msg, err := storage.Unseal(dek, t.MessageSealed, storage.FieldAAD(storage.FieldMessage, t.ID))
			if err != nil {
				return err
			}
			reply, err := storage.Unseal(dek, t.ReplySealed, storage.FieldAAD(storage.FieldReply, t.ID))
			if err != nil {
				return err
			}
			ec.Turns = append(ec.Turns, exportTurn{
				turnView: turnView{ID: t.ID, Seq: t.Seq, CreatedAt: millis(t.CreatedAt), Message: string(msg), Reply: string(reply), Intent: t.Intent},
				Safety: safety{Action: t.InAction, Categories: t.InCategories, ReplyAction: t.OutAction, ReplyCats: t.OutCategories,
					Escalated: t.Escalate, FailClosed: t.FailClosed, PolicyVersion: t.PolicyVersion},
			})
		}
		children = append(children, ec)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="daisydog-export.json"`)
	writeJSON(w, http.StatusOK, map[string]any{"family_id": a.FamilyID, "exported_at": millis(s.Now().UnixMilli()),
		"parents": parents, "children": children})
	return nil
}

func newDeviceView(d storage.DeviceRow) deviceView {
	v := deviceView{ID: d.ID, LinkedAt: millis(d.CreatedAt)}
	if d.RevokedAt != 0 {
		v.RevokedAt = millis(d.RevokedAt)
	}
	return v
}
