package wasm

import (
	"errors"
	"fmt"
)

// Interruption by instrumentation.
//
// wazero's WithCloseOnContextDone makes compiled code leave native code and
// enter the Go runtime at every loop header to ask whether the module was
// closed. For a Go guest, whose every function body is a loop, that makes
// evaluation about nine times slower (measured: ~135µs instead of ~15µs for
// the default policy).
//
// Instead, Load rewrites the module. It adds two mutable i32 globals, $fuel
// (guest-owned) and $interrupt (host-owned, exported as interruptExport),
// and at every function entry and loop header inserts
//
//	if $fuel == 0 {
//	    $fuel = yieldEvery
//	    call sched_yield      ;; the module's own WASI import
//	    if $interrupt { unreachable }
//	}
//	$fuel = $fuel - 1
//
// The fast path is a few instructions. The slow path, every yieldEvery
// checks (microseconds), leaves native code through a host call: that is a
// point where the Go scheduler can preempt the goroutine, so a guest never
// holds up a GC stop-the-world for long (without it, a looping guest
// deadlocks the whole process: the GC waits for the guest, the timer that
// would stop the guest waits for the GC). To stop a call the host sets
// $interrupt; the guest traps at its next slow path and the instance is
// discarded. Every unbounded execution must pass loop headers or function
// entries, so every call is interruptible.
//
// Modules that do not import wasi_snapshot_preview1.sched_yield (Go's
// runtime always does), or that the rewriter cannot read (instructions of
// proposals it does not know), run on a second runtime with
// WithCloseOnContextDone instead: slower but equally bounded.

// yieldEvery is the number of checks between two exits to the host.
const yieldEvery = 2048

// interruptExport is the name of the export added by instrument.
const interruptExport = "__daisydog_interrupt"

var errUnsupported = errors.New("unsupported instruction")

// section ids in their required order.
var sectionRank = map[byte]int{
	0: -1, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13,
}

type rawSection struct {
	id   byte
	body []byte
}

// errNoYield: the module does not import sched_yield.
var errNoYield = errors.New("module does not import wasi_snapshot_preview1.sched_yield")

// instrument returns a copy of a (validated) module binary with the
// interrupt global and checks added.
func instrument(b []byte) ([]byte, error) {
	secs, err := splitSections(b)
	if err != nil {
		return nil, err
	}
	for _, sec := range secs {
		if _, ok := sectionRank[sec.id]; !ok {
			return nil, fmt.Errorf("%w: section %d", errUnsupported, sec.id)
		}
	}

	// Index of the new global = imported globals + defined globals.
	imports, err := importsOf(secs)
	if err != nil {
		return nil, err
	}
	var globalIdx, fnIdx uint32
	yieldIdx := int64(-1)
	for _, im := range imports {
		switch im.kind {
		case 0:
			if im.module == wasiModule && im.name == "sched_yield" && yieldIdx < 0 {
				yieldIdx = int64(fnIdx)
			}
			fnIdx++
		case 3:
			globalIdx++
		}
	}
	if yieldIdx < 0 {
		return nil, errNoYield
	}
	for _, sec := range secs {
		if sec.id == 6 {
			sr := reader{b: sec.body}
			n, err := sr.u32()
			if err != nil {
				return nil, err
			}
			globalIdx += n
		}
	}
	// $fuel = globalIdx, $interrupt = globalIdx+1; both mut i32 = 0.
	fuelIdx, intrIdx := globalIdx, globalIdx+1
	newGlobals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b}
	haveGlobal, haveExport := false, false
	for i := range secs {
		switch secs[i].id {
		case 6:
			sr := reader{b: secs[i].body}
			n, _ := sr.u32()
			body := appendULEB(nil, uint64(n+2))
			body = append(body, secs[i].body[sr.pos:]...)
			secs[i].body = append(body, newGlobals...)
			haveGlobal = true
		case 10:
			code, err := instrumentCode(secs[i].body, checkCode(fuelIdx, intrIdx, uint32(yieldIdx)))
			if err != nil {
				return nil, err
			}
			secs[i].body = code
		}
	}
	for i := range secs {
		if secs[i].id != 7 {
			continue
		}
		sr := reader{b: secs[i].body}
		n, err := sr.u32()
		if err != nil {
			return nil, err
		}
		entries := sr.pos
		// Refuse a module that already uses our export name.
		for k := uint32(0); k < n; k++ {
			name, err := sr.name()
			if err != nil {
				return nil, err
			}
			if name == interruptExport {
				return nil, fmt.Errorf("export %q is reserved", interruptExport)
			}
			if _, err := sr.byte(); err != nil {
				return nil, err
			}
			if _, err := sr.u32(); err != nil {
				return nil, err
			}
		}
		body := appendULEB(nil, uint64(n+1))
		body = append(body, secs[i].body[entries:]...)
		body = appendName(body, interruptExport)
		body = append(body, 0x03)
		secs[i].body = appendULEB(body, uint64(intrIdx))
		haveExport = true
	}
	if !haveGlobal {
		secs = insertSection(secs, rawSection{id: 6, body: append([]byte{0x02}, newGlobals...)})
	}
	if !haveExport {
		body := appendName([]byte{0x01}, interruptExport)
		body = append(body, 0x03)
		secs = insertSection(secs, rawSection{id: 7, body: appendULEB(body, uint64(intrIdx))})
	}

	out := append([]byte(nil), b[:8]...)
	for _, s := range secs {
		if s.id == 0 && isDebugSection(s.body) {
			continue // DWARF refers to code offsets that moved
		}
		out = append(out, s.id)
		out = appendULEB(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

func isDebugSection(body []byte) bool {
	r := reader{b: body}
	name, err := r.name()
	return err == nil && len(name) >= 7 && name[:7] == ".debug_"
}

// insertSection puts s before the first section that must follow it.
func insertSection(secs []rawSection, s rawSection) []rawSection {
	rank := sectionRank[s.id]
	for i, x := range secs {
		if x.id != 0 && sectionRank[x.id] > rank {
			return append(secs[:i:i], append([]rawSection{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendULEB(b, uint64(len(s))), s...)
}

// checkCode returns the instructions inserted at every check point.
func checkCode(fuel, intr, yield uint32) []byte {
	var c []byte
	c = appendULEB(append(c, 0x23), uint64(fuel)) // global.get $fuel
	c = append(c, 0x45, 0x04, 0x40)               // i32.eqz  if
	c = append(c, 0x41)                           //   i32.const yieldEvery
	c = appendSLEB(c, yieldEvery)
	c = appendULEB(append(c, 0x24), uint64(fuel))  //   global.set $fuel
	c = appendULEB(append(c, 0x10), uint64(yield)) //   call sched_yield
	c = append(c, 0x1a)                            //   drop
	c = appendULEB(append(c, 0x23), uint64(intr))  //   global.get $interrupt
	c = append(c, 0x04, 0x40, 0x00, 0x0b)          //   if unreachable end
	c = append(c, 0x0b)                            // end
	c = appendULEB(append(c, 0x23), uint64(fuel))  // global.get $fuel
	c = append(c, 0x41, 0x01, 0x6b)                // i32.const 1  i32.sub
	c = appendULEB(append(c, 0x24), uint64(fuel))  // global.set $fuel
	return c
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// instrumentCode rewrites the code section, inserting check at every
// function entry and loop header.
func instrumentCode(sec []byte, check []byte) ([]byte, error) {
	r := reader{b: sec}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendULEB(make([]byte, 0, len(sec)+len(sec)/8), uint64(n))
	var body []byte
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		end := r.pos + int(size)
		if end > len(sec) {
			return nil, errMalformed
		}
		body, err = instrumentBody(body[:0], sec[r.pos:end], check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendULEB(out, uint64(len(body)))
		out = append(out, body...)
		r.pos = end
	}
	if r.pos != len(sec) {
		return nil, errMalformed
	}
	return out, nil
}

// instrumentBody copies one function body, adding check at entry and after
// every loop instruction.
func instrumentBody(out, body, check []byte) ([]byte, error) {
	r := reader{b: body}
	// locals: vec of (count, valtype)
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
	}
	out = append(out, body[:r.pos]...)
	out = append(out, check...)
	for r.pos < len(body) {
		start := r.pos
		op, _ := r.byte()
		if err := r.skipImmediates(op); err != nil {
			return nil, fmt.Errorf("opcode %#x at %d: %w", op, start, err)
		}
		out = append(out, body[start:r.pos]...)
		if op == 0x03 { // loop
			out = append(out, check...)
		}
	}
	return out, nil
}

func (r *reader) skipN(n int) error {
	if r.pos+n > len(r.b) {
		return errMalformed
	}
	r.pos += n
	return nil
}

func (r *reader) skipULEBs(n int) error {
	for i := 0; i < n; i++ {
		if _, err := r.u64(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) blockType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return nil
	}
	r.pos--
	_, err = r.u64() // s33 type index (encoded like a LEB of ≤5 bytes)
	return err
}

func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multi-memory: memory index follows
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.u64()
	return err
}

// skipImmediates advances past the immediates of op.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0b || op == 0x0f ||
		op == 0x1a || op == 0x1b || op == 0xd1 || (op >= 0x45 && op <= 0xc4):
		return nil
	case op == 0x02 || op == 0x03 || op == 0x04:
		return r.blockType()
	case op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 || op == 0xd2 ||
		(op >= 0x20 && op <= 0x26):
		return r.skipULEBs(1)
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return err
		}
		return r.skipULEBs(int(n) + 1)
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		return r.skipULEBs(2)
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return err
		}
		return r.skipN(int(n))
	case op >= 0x28 && op <= 0x3e:
		return r.memarg()
	case op == 0x3f || op == 0x40:
		return r.skipULEBs(1)
	case op == 0x41 || op == 0x42:
		return r.skipULEBs(1)
	case op == 0x43:
		return r.skipN(4)
	case op == 0x44:
		return r.skipN(8)
	case op == 0xd0: // ref.null heaptype
		return r.skipN(1)
	case op == 0xfc:
		sub, err := r.u32()
		if err != nil {
			return err
		}
		switch {
		case sub <= 7:
			return nil
		case sub == 8 || sub == 10 || sub == 12 || sub == 14:
			return r.skipULEBs(2)
		case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17):
			return r.skipULEBs(1)
		}
		return fmt.Errorf("%w: 0xfc %d", errUnsupported, sub)
	case op == 0xfd:
		sub, err := r.u32()
		if err != nil {
			return err
		}
		switch {
		case sub <= 11 || sub == 92 || sub == 93:
			return r.memarg()
		case sub == 12 || sub == 13:
			return r.skipN(16)
		case sub >= 21 && sub <= 34:
			return r.skipN(1)
		case sub >= 84 && sub <= 91:
			if err := r.memarg(); err != nil {
				return err
			}
			return r.skipN(1)
		case sub <= 0x113:
			return nil
		}
		return fmt.Errorf("%w: 0xfd %d", errUnsupported, sub)
	}
	return fmt.Errorf("%w: %#x", errUnsupported, op)
}
