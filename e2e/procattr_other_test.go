//go:build !linux

package e2e

import "syscall"

// childAttr: no parent-death signal outside Linux; cleanups stop the nodes.
func childAttr() *syscall.SysProcAttr { return nil }
