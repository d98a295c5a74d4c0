package rules

// tabHash hashes a key eight bytes at a time (most words take one or two
// steps; FNV-1a would take a multiplication per byte).
func tabHash(s string) uint32 {
	h := uint64(len(s)) * 0x9e3779b97f4a7c15
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = (h ^ v) * 0xbf58476d1ce4e5b9
		h ^= h >> 31
		s = s[8:]
	}
	// The tail's bytes, little-endian, without a loop (a step per byte
	// is dear in a wasm guest).
	var tail uint64
	switch len(s) {
	case 7:
		tail |= uint64(s[6]) << 48
		fallthrough
	case 6:
		tail |= uint64(s[5]) << 40
		fallthrough
	case 5:
		tail |= uint64(s[4]) << 32
		fallthrough
	case 4:
		tail |= uint64(s[3]) << 24
		fallthrough
	case 3:
		tail |= uint64(s[2]) << 16
		fallthrough
	case 2:
		tail |= uint64(s[1]) << 8
		fallthrough
	case 1:
		tail |= uint64(s[0])
	}
	h = (h ^ tail) * 0x94d049bb133111eb
	h ^= h >> 29
	return uint32(h) ^ uint32(h>>32)
}

// strTab is a read-only string-keyed table for the per-word look-ups of
// Evaluate. It answers exactly like the map it is built from, but costs a
// wasm guest much less than a Go map look-up: the hash (tabHash) is
// a plain function instead of the runtime's string hash (which has no
// hardware support in wasm), probing is a plain loop over one slice, and
// the key is compared only when the stored 32-bit hash agrees.
type strTab struct {
	slots []tabSlot
	mask  uint32
	arena string // all keys, concatenated
}

type tabSlot struct {
	hash uint32
	off  uint32 // key = arena[off : off+n-1]
	n    uint32 // key length + 1; 0 marks an empty slot
	val  int32
}

// newStrTab builds a table with the keys of m and their values.
func newStrTab[V int32 | uint32 | bool](m map[string]V) *strTab {
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t := &strTab{slots: make([]tabSlot, size), mask: uint32(size - 1)}
	var arena []byte
	for k, v := range m {
		var val int32
		switch x := any(v).(type) {
		case bool:
			if x {
				val = 1
			}
		case int32:
			val = x
		case uint32:
			val = int32(x)
		}
		h := tabHash(k)
		i := h & t.mask
		for t.slots[i].n != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = tabSlot{hash: h, off: uint32(len(arena)), n: uint32(len(k)) + 1, val: val}
		arena = append(arena, k...)
	}
	t.arena = string(arena)
	return t
}

// get returns the value stored for s and whether s is a key.
func (t *strTab) get(s string) (int32, bool) {
	return t.getH(s, tabHash(s))
}

// getH is get for a key whose tabHash h the caller has (a word looked up
// in several tables is hashed once).
func (t *strTab) getH(s string, h uint32) (int32, bool) {
	n := uint32(len(s)) + 1
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.n == 0 {
			return 0, false
		}
		if sl.hash == h && sl.n == n && t.arena[sl.off:sl.off+n-1] == s {
			return sl.val, true
		}
	}
}

// has reports whether s is a key with a non-zero value (for tables built
// from map[string]bool: whether the map holds true for s).
func (t *strTab) has(s string) bool {
	v, ok := t.get(s)
	return ok && v != 0
}
