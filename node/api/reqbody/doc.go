// Package reqbody owns the strict decoding of an API request's JSON body:
// the content type must be application/json, the body at most a limit of
// valid UTF-8 bytes, exactly one JSON object, no unknown fields.
//
// Invariants: every refusal is an *Error with a client status (400, 413
// or 415), a stable code and a message that names no decoder internals;
// nothing is decoded into the destination from a body that is refused
// before decoding (wrong type, too large, invalid UTF-8, not an object).
// It depends on the standard library only, so its fuzz target builds in
// seconds (node/api wraps it in its own error type).
package reqbody
