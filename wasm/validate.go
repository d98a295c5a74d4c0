package wasm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// wasiModule is the only module a guest may import from.
const wasiModule = "wasi_snapshot_preview1"

// ABIVersion is the policy ABI this host implements.
const ABIVersion = 1

// Export names of ABI v1.
const (
	exportMemory     = "memory"
	exportABI        = "policy_abi_v1"
	exportAlloc      = "alloc"
	exportFree       = "free"
	exportEvaluate   = "evaluate"
	exportInitialize = "_initialize"
)

var i32, i64 = api.ValueTypeI32, api.ValueTypeI64

// requiredExports lists ABI v1 function exports and their signatures.
var requiredExports = []struct {
	name            string
	params, results []api.ValueType
}{
	{exportABI, nil, []api.ValueType{i32}},
	{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
	{exportFree, []api.ValueType{i32}, nil},
	{exportEvaluate, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	{exportInitialize, nil, nil},
}

// importEntry is one entry of a module's import section.
type importEntry struct {
	module, name string
	kind         byte // 0 func, 1 table, 2 memory, 3 global, 4 tag
}

func (e importEntry) String() string {
	kinds := [...]string{"function", "table", "memory", "global", "tag"}
	k := "unknown"
	if int(e.kind) < len(kinds) {
		k = kinds[e.kind]
	}
	return fmt.Sprintf("%q.%q (%s)", e.module, e.name, k)
}

var errMalformed = errors.New("malformed binary")

// splitSections splits a WebAssembly binary into its sections, checking
// the header and every section's framing.
func splitSections(b []byte) ([]rawSection, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errMalformed
	}
	var secs []rawSection
	r := reader{b: b, pos: 8}
	for r.pos < len(b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		end := r.pos + int(size)
		if end > len(b) || end < r.pos {
			return nil, errMalformed
		}
		secs = append(secs, rawSection{id: id, body: b[r.pos:end]})
		r.pos = end
	}
	return secs, nil
}

// parseImports reads the import section of a WebAssembly binary. It
// handles every import kind, so that a forbidden table, memory or global
// import is named in the error just like a function.
func parseImports(b []byte) ([]importEntry, error) {
	secs, err := splitSections(b)
	if err != nil {
		return nil, err
	}
	return importsOf(secs)
}

// importsOf decodes the (first) import section among secs.
func importsOf(secs []rawSection) ([]importEntry, error) {
	for _, s := range secs {
		if s.id != 2 {
			continue
		}
		sec := reader{b: s.body}
		n, err := sec.u32()
		if err != nil {
			return nil, err
		}
		var out []importEntry
		for i := uint32(0); i < n; i++ {
			mod, err := sec.name()
			if err != nil {
				return nil, err
			}
			name, err := sec.name()
			if err != nil {
				return nil, err
			}
			kind, err := sec.byte()
			if err != nil {
				return nil, err
			}
			if err := sec.skipImportDesc(kind); err != nil {
				return nil, err
			}
			out = append(out, importEntry{module: mod, name: name, kind: kind})
		}
		return out, nil
	}
	return nil, nil
}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errMalformed
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// u64 reads an unsigned LEB128 of at most 10 bytes.
func (r *reader) u64() (uint64, error) {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errMalformed
}

func (r *reader) u32() (uint32, error) {
	v, err := r.u64()
	if err != nil || v > 0xffffffff {
		return 0, errMalformed
	}
	return uint32(v), nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil || r.pos+int(n) > len(r.b) {
		return "", errMalformed
	}
	s := string(r.b[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s, nil
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u64(); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.u64(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) skipImportDesc(kind byte) error {
	switch kind {
	case 0: // function: type index
		_, err := r.u32()
		return err
	case 1: // table: reftype + limits
		if _, err := r.byte(); err != nil {
			return err
		}
		return r.limits()
	case 2: // memory: limits
		return r.limits()
	case 3: // global: valtype + mutability
		if _, err := r.byte(); err != nil {
			return err
		}
		_, err := r.byte()
		return err
	case 4: // tag (exception handling): attribute + type index
		if _, err := r.byte(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	}
	return errMalformed
}

// checkImports refuses every import that is not a wasi_snapshot_preview1
// function, naming each offender.
func checkImports(wasmBytes []byte) error {
	imports, err := parseImports(wasmBytes)
	if err != nil {
		return fmt.Errorf("%w: reading import section: %v", ErrInvalidModule, err)
	}
	var bad []string
	for _, im := range imports {
		if im.module != wasiModule || im.kind != 0 {
			bad = append(bad, im.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %w: %s; only functions from %q may be imported",
			ErrInvalidModule, ErrForbiddenImport, strings.Join(bad, ", "), wasiModule)
	}
	return nil
}

// checkExports verifies the ABI v1 exports and their signatures.
func checkExports(c wazero.CompiledModule) error {
	if _, ok := c.ExportedMemories()[exportMemory]; !ok {
		return fmt.Errorf("%w: missing export %q (memory)", ErrInvalidModule, exportMemory)
	}
	fns := c.ExportedFunctions()
	for _, want := range requiredExports {
		def, ok := fns[want.name]
		if !ok {
			return fmt.Errorf("%w: missing export %q", ErrInvalidModule, want.name)
		}
		if !sameTypes(def.ParamTypes(), want.params) || !sameTypes(def.ResultTypes(), want.results) {
			return fmt.Errorf("%w: export %q has signature %s, want %s", ErrInvalidModule, want.name,
				sig(def.ParamTypes(), def.ResultTypes()), sig(want.params, want.results))
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// #nosec G602 -- len(a) == len(b) is checked above
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sig(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ",")
	}
	return "(" + names(params) + ")->(" + names(results) + ")"
}
