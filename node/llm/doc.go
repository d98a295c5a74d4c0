// Package llm is the optional AI provider for Daisy: a small client for an
// OpenAI-compatible chat-completions endpoint (a local llama.cpp or Ollama
// server in a school, or a hosted one) configured by the operator.
//
// The package never decides whether a reply may be shown: it builds the
// prompt from the persona, the age tier and an already redacted message
// (nothing else about the child), enforces a strict timeout, and keeps a
// circuit breaker so a failing provider is not hammered. Anything it
// returns is checked by the caller with the output safety policy, and any
// error means "use the built-in engine": the child never sees a provider
// message. The API key is never logged or included in errors.
package llm
