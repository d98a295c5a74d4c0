package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// The HTTP statuses of a refused body (net/http's values; this package
// does not import net/http, see the package comment).
const (
	StatusBadRequest           = 400
	StatusTooLarge             = 413
	StatusUnsupportedMediaType = 415
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
	return &Error{Status: StatusBadRequest, Code: "bad_request", Message: msg}
}

// Decode strictly decodes a JSON object body read from body, sent with
// the Content-Type contentType, into dst (see the package comment), or
// says why it refuses it. It reads at most limit+1 bytes: one more than
// allowed is enough to refuse.
func Decode(contentType string, body io.Reader, limit int64, dst any) *Error {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return &Error{Status: StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return badRequest("could not read request body")
	}
	if int64(len(b)) > limit {
		return &Error{Status: StatusTooLarge, Code: "too_large", Message: fmt.Sprintf("request body must be at most %d bytes", limit)}
	}
	if !utf8.Valid(b) {
		return badRequest("request body must be valid UTF-8")
	}
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return badRequest("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
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
