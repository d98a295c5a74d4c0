package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Body size limits per kind of route.
const (
	smallBody = 4 << 10
	chatBody  = 8 << 10
	joinBody  = 16 << 10
)

// decodeJSON strictly decodes a JSON object body into dst: the content type
// must be application/json, the body at most limit bytes of valid UTF-8,
// exactly one object, no unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body must be at most %d bytes", limit)}
		}
		return errBadRequest("could not read request body")
	}
	if !utf8.Valid(body) {
		return errBadRequest("request body must be valid UTF-8")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return errBadRequest("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return errBadRequest(fmt.Sprintf("malformed JSON at byte %d", se.Offset))
		case errors.As(err, &te):
			return errBadRequest(fmt.Sprintf("field %q has the wrong type", te.Field))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errBadRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.EOF):
			return errBadRequest("request body is empty")
		default:
			return errBadRequest("malformed JSON")
		}
	}
	if dec.More() {
		return errBadRequest("request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("request body must hold exactly one JSON object")
	}
	return nil
}

// cleanText trims text and checks it is 1..max runes without control
// characters (newlines and tabs allowed when multiline).
func cleanText(field, s string, max int, multiline bool) (string, error) {
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", errInvalid(field + " must not be empty")
	}
	if n > max {
		return "", errInvalid(fmt.Sprintf("%s must be at most %d characters", field, max))
	}
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t'))) {
			return "", errInvalid(field + " contains characters that are not allowed")
		}
	}
	return s, nil
}
