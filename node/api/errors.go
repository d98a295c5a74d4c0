package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// apiError is an error with an HTTP status and a client-safe message.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds; set for 503
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errBadRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}
func errInvalid(msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: msg}
}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing, invalid or expired token"}
	errForbidden    = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this account may not do that"}
	errNotFound     = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	errUnavailable  = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the cluster cannot take writes right now; retry shortly", RetryAfter: 2}
	// errUpgrading: the write is of a kind some server's older binary
	// cannot apply yet (raftcluster.ErrNotUpgraded); nothing was written.
	errUpgrading = &apiError{Status: http.StatusServiceUnavailable, Code: "upgrade_in_progress", Message: "not every server runs a version that can do this yet; retry once the upgrade is finished", RetryAfter: 60}
	errAmbiguous = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the write could not be confirmed; check before retrying", RetryAfter: 2}
	// errClientLeft: the request's context was canceled by its client
	// (499, nginx's "client closed request"; see errClientGone for turns).
	errClientLeft = &apiError{Status: 499, Code: "client_closed_request", Message: "the request was canceled"}
	errInternal   = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	errBadLogin   = &apiError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "e-mail or password is incorrect"}
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the error envelope; unknown errors become a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away (closed the app, canceled the request)
		// while the node worked on it: nobody reads the answer, and it is
		// not a server error. What was already replicated stays.
		s.log.Debug("request canceled by the client", "method", r.Method, "route", routeOf(r))
		ae = errClientLeft
	default:
		s.log.Error("request failed", "method", r.Method, "route", routeOf(r), "err", err)
		ae = errInternal
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	var b errorBody
	b.Error.Code, b.Error.Message = ae.Code, ae.Message
	writeJSON(w, ae.Status, b)
}
