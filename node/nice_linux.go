package node

import (
	"runtime"
	"syscall"
)

// inBackground runs f on a fresh OS thread with a lower scheduling
// priority (nice 10) and waits for it. Compiling a new policy module takes
// seconds of CPU; at a lower priority it does not push chat latency up on
// a busy node. The thread is never unlocked, so it exits with f's
// goroutine and no other goroutine runs at the lowered priority.
func inBackground(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 10)
		f()
	}()
	<-done
}
