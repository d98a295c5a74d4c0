package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is a refused body: the HTTP status to answer with, a stable code
// and a message for the client.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

// DecodeJSON strictly decodes r's JSON object body into dst (see the
// package comment), or says why it refuses it; w is only used to close an
// oversized body's connection (http.MaxBytesReader).
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) *Error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body must be at most %d bytes", limit)}
		}
		return badRequest("could not read request body")
	}
	if !utf8.Valid(body) {
		return badRequest("request body must be valid UTF-8")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return badRequest("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest(fmt.Sprintf("malformed JSON at byte %d", se.Offset))
		case errors.As(err, &te):
			return badRequest(fmt.Sprintf("field %q has the wrong type", te.Field))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.EOF):
			return badRequest("request body is empty")
		default:
			return badRequest("malformed JSON")
		}
	}
	if dec.More() {
		return badRequest("request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body must hold exactly one JSON object")
	}
	return nil
}
