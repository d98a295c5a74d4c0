// Package api owns DaisyDog's HTTPS API: routing, the middleware every request
// passes (security headers, body limits, strict JSON, authentication), the
// error envelope, and the request flows (sign-up, login, e-mail verification,
// password reset, children, device linking, the chat turn pipeline, history),
// the staff routes (moderation, the dashboard's data), the embedded web pages
// (/ui/: the parent console and the staff dashboard) and the OpenAPI document
// of all of it (openapi.go, built from the route table).
//
// Invariants:
//   - Every state change is a typed command sent through the Replicator;
//     handlers never write to the database directly.
//   - All non-determinism (IDs, time, random reply choice, policy verdicts,
//     encryption nonces) is decided here, before the command is replicated.
//   - Every chat turn passes the active policy twice (the child's message and
//     Daisy's reply) before anything is stored; if the policy fails, the turn
//     fails closed with a safe reply and a recorded safety event.
//   - Error bodies are {"error":{"code","message"}} and never carry internal
//     detail; personal data (messages, nicknames, e-mail) is never logged.
//   - No response reveals whether an e-mail address has an account (login
//     and password reset answer alike; reset does the same replicated work).
//   - Brute-force limits that must hold across the cluster (sign-up,
//     password reset, failed logins, failed link redemptions per client
//     network; login lockout per address) are replicated counters, checked
//     before any work is done; client IPs are only ever stored as keyed hashes.
//   - E-mails a parent waits for are replicated with the change they are
//     about (mailout.go); none is sent from memory unless the cluster cannot
//     apply the outbox yet (a rolling upgrade).
//   - Every route is in the OpenAPI document, and the API tests check their
//     successful answers against it.
package api
