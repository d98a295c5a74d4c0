package api

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"daisydog/node/api/reqbody"
)

// Body size limits per kind of route.
const (
	smallBody = 4 << 10
	chatBody  = 8 << 10
	joinBody  = 16 << 10
)

// decodeJSON strictly decodes a JSON object body into dst (reqbody): the
// content type must be application/json, the body at most limit bytes of
// valid UTF-8, exactly one object, no unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	// MaxBytesReader closes the connection of a client that sends more
	// than it may; reqbody reads at most limit+1 bytes, which it allows.
	body := http.MaxBytesReader(w, r.Body, limit+1)
	if re := reqbody.Decode(r.Header.Get("Content-Type"), body, limit, dst); re != nil {
		return &apiError{Status: re.Status, Code: re.Code, Message: re.Message}
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
