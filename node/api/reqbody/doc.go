// Package reqbody owns the strict decoding of an API request's JSON body:
// the content type must be application/json, the body at most a limit of
// valid UTF-8 bytes, exactly one JSON object, no unknown fields.
//
// Invariants: every refusal is an *Error with a client status (400, 413
// or 415), a stable code and a message that names no decoder internals;
// nothing is decoded into the destination from a body that is refused
// before decoding (wrong type, too large, invalid UTF-8, not an object).
// It imports neither net/http nor anything of this project, so its fuzz
// target builds in seconds (a fuzz build instruments every package the
// test binary holds); node/api passes it the request's body and content
// type and turns an *Error into its own error type.
package reqbody
