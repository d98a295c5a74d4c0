package wasm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"daisydog/wasm/wasmtest"
)

// waitStats polls the module's stats until ok or 10 s pass.
func waitStats(t *testing.T, m *Module, what string, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := m.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s; stats %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// KeepWarm fills the pool in the background and replaces a discarded
// instance, so the call after a failure finds an idle instance.
func TestKeepWarmFillsAndReplaces(t *testing.T) {
	rt := newRuntime(t, Config{PoolSize: 3})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	m.KeepWarm()
	m.KeepWarm() // idempotent
	st := waitStats(t, m, "pool filled", func(s Stats) bool { return s.Idle == 3 })
	if st.Live != 3 || st.Warmed < 2 {
		t.Fatalf("after filling: %+v", st)
	}
	if _, err := m.Call(context.Background(), []byte("Trap")); !errors.Is(err, ErrTrap) {
		t.Fatalf("want ErrTrap, got %v", err)
	}
	st = waitStats(t, m, "discarded instance replaced", func(s Stats) bool { return s.Idle == 3 && s.Discarded == 1 })
	if st.Live != 3 {
		t.Fatalf("after replacement: %+v", st)
	}
	created := st.Instantiated
	for i := range 10 {
		in := fmt.Sprint("call ", i)
		if got := mustCall(t, m, in); got != in {
			t.Fatal(got)
		}
	}
	if st := m.Stats(); st.Instantiated != created || st.Live > 3 {
		t.Fatalf("calls on a warm pool instantiated more (%d -> %d) or overfilled it: %+v", created, st.Instantiated, st)
	}
}

// Closing a warming module stops the warmer and leaves nothing alive.
func TestKeepWarmClose(t *testing.T) {
	rt := newRuntime(t, Config{PoolSize: 4})
	m := load(t, rt, wasmtest.ABIModule(wasmtest.Options{}))
	m.KeepWarm()
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Live != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	if _, err := m.Call(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
}
