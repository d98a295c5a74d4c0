package api

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

type deviceView struct {
	ID        string `json:"id"`
	LinkedAt  string `json:"linked_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	var rows []storage.DeviceRow
	err := s.fresh(r.Context(), func() (err error) {
		rows, err = s.DB.Devices(r.Context(), a, p.ByName("id"))
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	out := make([]deviceView, 0, len(rows))
	for _, d := range rows {
		v := deviceView{ID: d.ID, LinkedAt: millis(d.CreatedAt)}
		if d.RevokedAt != 0 {
			v.RevokedAt = millis(d.RevokedAt)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

// revokeDevice unlinks a child's device; its token stops working on every
// node as soon as the command is applied there.
func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request, p httprouter.Params, a storage.Actor) error {
	cmd := &storage.RevokeDevice{ParentID: a.ID, ChildID: p.ByName("id"), DeviceID: p.ByName("device"), Now: s.Now().UnixMilli()}
	if _, err := s.replicate(r.Context(), cmd, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
