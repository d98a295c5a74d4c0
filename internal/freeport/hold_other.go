//go:build !linux

package freeport

// Hold does nothing off Linux (the port stays open to a collision).
func Hold(addr string) (release func(), err error) { return func() {}, nil }
