//go:build !linux

package node

// inBackground runs f (priorities are only lowered on Linux).
func inBackground(f func()) { f() }
