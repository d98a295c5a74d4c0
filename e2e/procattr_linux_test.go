package e2e

import "syscall"

// childAttr makes every node process the tests start die with the test
// binary: a test binary that panics (its -timeout, a crash) cannot run its
// cleanups, and nodes left running would hold ports and CPU and skew any
// benchmark run afterwards on the same machine (seen: six nodes of a
// timed-out run still serving half an hour later).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
