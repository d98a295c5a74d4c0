package wasmtest

import "os"

// Value types.
const (
	I32 byte = 0x7f
	I64 byte = 0x7e
)

// Opcodes used by the canned modules (enough for hand-written bodies).
const (
	OpUnreachable = 0x00
	OpBlock       = 0x02
	OpLoop        = 0x03
	OpEnd         = 0x0b
	OpBr          = 0x0c
	OpBrIf        = 0x0d
	OpReturn      = 0x0f
	OpCall        = 0x10
	OpDrop        = 0x1a
	OpMemoryGrow  = 0x40
	OpLocalGet    = 0x20
	OpLocalSet    = 0x21
	OpLocalTee    = 0x22
	OpI32Load8U   = 0x2d
	OpI32Store    = 0x36
	OpI32Const    = 0x41
	OpI64Const    = 0x42
	OpI32Eq       = 0x46
	OpI32Ne       = 0x47
	OpI32Add      = 0x6a
	OpI32Sub      = 0x6b
	OpI64Or       = 0x84
	OpI64Shl      = 0x86
	OpI64ExtendU  = 0xad
	BlockEmpty    = 0x40
)

// Import is an imported entity. Kind 0 is a function (Params/Results used),
// 2 a memory (min 1 page), 3 an immutable i32 global.
type Import struct {
	Module, Name    string
	Kind            byte
	Params, Results []byte
}

// Func is a defined function. Body is the instruction sequence without the
// final end (added automatically). Locals are extra locals, one type each.
type Func struct {
	Export          string
	Params, Results []byte
	Locals          []byte
	Body            []byte
}

// Data is an active data segment in memory 0.
type Data struct {
	Offset uint32
	Bytes  []byte
}

// Module describes a module with one memory.
type Module struct {
	Imports      []Import
	Funcs        []Func
	MemoryPages  uint32 // 0 = no memory
	ExportMemory bool
	Data         []Data
}

// ULEB appends an unsigned LEB128.
func ULEB(b []byte, v uint64) []byte {
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

// SLEB appends a signed LEB128.
func SLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(b []byte, s string) []byte { return append(ULEB(b, uint64(len(s))), s...) }

func vec(b []byte, n int) []byte { return ULEB(b, uint64(n)) }

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = ULEB(out, uint64(len(body)))
	return append(out, body...)
}

func funcType(b, params, results []byte) []byte {
	b = append(b, 0x60)
	b = append(vec(b, len(params)), params...)
	return append(vec(b, len(results)), results...)
}

// Bytes encodes the module.
func (m Module) Bytes() []byte {
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

	// Types: one per imported function, then one per defined function.
	var types []byte
	nTypes := 0
	var fnImports []Import
	for _, im := range m.Imports {
		if im.Kind == 0 {
			fnImports = append(fnImports, im)
		}
	}
	types = vec(types, len(fnImports)+len(m.Funcs))
	for _, im := range fnImports {
		types = funcType(types, im.Params, im.Results)
		nTypes++
	}
	for _, f := range m.Funcs {
		types = funcType(types, f.Params, f.Results)
	}
	out = section(out, 1, types)

	if len(m.Imports) > 0 {
		imp := vec(nil, len(m.Imports))
		ti := 0
		for _, im := range m.Imports {
			imp = name(imp, im.Module)
			imp = name(imp, im.Name)
			imp = append(imp, im.Kind)
			switch im.Kind {
			case 0:
				imp = ULEB(imp, uint64(ti))
				ti++
			case 2:
				imp = append(imp, 0x00, 0x01)
			case 3:
				imp = append(imp, I32, 0x00)
			default:
				panic("wasmtest: unsupported import kind")
			}
		}
		out = section(out, 2, imp)
	}

	fs := vec(nil, len(m.Funcs))
	for i := range m.Funcs {
		fs = ULEB(fs, uint64(nTypes+i))
	}
	out = section(out, 3, fs)

	if m.MemoryPages > 0 {
		mem := vec(nil, 1)
		mem = append(mem, 0x00)
		mem = ULEB(mem, uint64(m.MemoryPages))
		out = section(out, 5, mem)
	}

	var exps []byte
	n := 0
	for i, f := range m.Funcs {
		if f.Export != "" {
			exps = name(exps, f.Export)
			exps = append(exps, 0x00)
			exps = ULEB(exps, uint64(len(fnImports)+i))
			n++
		}
	}
	if m.ExportMemory && m.MemoryPages > 0 {
		exps = name(exps, "memory")
		exps = append(exps, 0x02, 0x00)
		n++
	}
	out = section(out, 7, append(vec(nil, n), exps...))

	code := vec(nil, len(m.Funcs))
	for _, f := range m.Funcs {
		body := vec(nil, len(f.Locals))
		for _, l := range f.Locals {
			body = append(body, 0x01, l)
		}
		body = append(body, f.Body...)
		body = append(body, OpEnd)
		code = ULEB(code, uint64(len(body)))
		code = append(code, body...)
	}
	out = section(out, 10, code)

	if len(m.Data) > 0 {
		data := vec(nil, len(m.Data))
		for _, d := range m.Data {
			data = append(data, 0x00, OpI32Const)
			data = SLEB(data, int64(int32(d.Offset)))
			data = append(data, OpEnd)
			data = append(vec(data, len(d.Bytes)), d.Bytes...)
		}
		out = section(out, 11, data)
	}
	return out
}

// I32Const returns the instruction i32.const v.
func I32Const(v int32) []byte { return SLEB([]byte{OpI32Const}, int64(v)) }

// I64Const returns the instruction i64.const v.
func I64Const(v int64) []byte { return SLEB([]byte{OpI64Const}, v) }

// Cat concatenates instruction fragments.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Scratch is where the canned modules' alloc puts every buffer.
const Scratch = 1024

// Options tune the canned ABI module.
type Options struct {
	ABIVersion  int32    // returned by policy_abi_v1 (default 1)
	InitTraps   bool     // _initialize executes unreachable
	FreeTraps   bool     // free executes unreachable
	Omit        string   // an export to leave out ("evaluate", "memory", …)
	EvaluateI32 bool     // evaluate returns i32 instead of i64 (bad signature)
	Imports     []Import // extra imports (after fd_write)
	Pages       uint32   // memory size (default 2)
	NoYield     bool     // do not import sched_yield
	InitGrows   int      // _initialize grows memory by one page this many times
}

// FdWrite is the WASI import used by the canned module's 'P' command.
var FdWrite = Import{Module: "wasi_snapshot_preview1", Name: "fd_write", Params: []byte{I32, I32, I32, I32}, Results: []byte{I32}}

// SchedYield is the WASI import the host's instrumentation calls (Go's
// runtime imports it too). Modules without it run in the slower
// close-on-context-done mode.
var SchedYield = Import{Module: "wasi_snapshot_preview1", Name: "sched_yield", Results: []byte{I32}}

// ABIModule returns an ABI v1 guest whose evaluate echoes its input,
// except when the input's first byte is a command:
//
//	'T' trap (unreachable)        'L' loop forever
//	'O' result pointer out of bounds   'Z' empty result
//	'P' write the input to stdout via WASI fd_write, then echo
//	'S' spin for a while (~10⁶ instructions), then echo
//
// alloc always returns Scratch, so inputs larger than memory minus Scratch
// make alloc's buffer fall outside memory.
func ABIModule(o Options) []byte {
	if o.ABIVersion == 0 {
		o.ABIVersion = 1
	}
	if o.Pages == 0 {
		o.Pages = 2
	}
	imports := []Import{FdWrite}
	if !o.NoYield {
		imports = append(imports, SchedYield)
	}
	imports = append(imports, o.Imports...)
	when := func(c byte, then ...[]byte) []byte {
		return Cat([]byte{OpBlock, BlockEmpty, OpLocalGet, 2}, I32Const(int32(c)),
			[]byte{OpI32Ne, OpBrIf, 0}, Cat(then...), []byte{OpEnd})
	}
	echo := []byte{OpLocalGet, 0, OpI64ExtendU}
	echo = append(echo, I64Const(32)...)
	echo = append(echo, OpI64Shl, OpLocalGet, 1, OpI64ExtendU, OpI64Or)
	evalBody := Cat(
		[]byte{OpLocalGet, 0, OpI32Load8U, 0, 0, OpLocalSet, 2},
		when('T', []byte{OpUnreachable}),
		when('L', []byte{OpLoop, BlockEmpty, OpBr, 0, OpEnd}),
		when('O', I64Const(0x7fff0000_00000010), []byte{OpReturn}),
		when('Z', I64Const(Scratch<<32), []byte{OpReturn}),
		when('P',
			I32Const(0), []byte{OpLocalGet, 0, OpI32Store, 2, 0},
			I32Const(4), []byte{OpLocalGet, 1, OpI32Store, 2, 0},
			I32Const(1), I32Const(0), I32Const(1), I32Const(8), []byte{OpCall, 0, OpDrop}),
		when('S',
			I32Const(300_000), []byte{OpLocalSet, 3},
			[]byte{OpLoop, BlockEmpty, OpLocalGet, 3}, I32Const(1),
			[]byte{OpI32Sub, OpLocalTee, 3, OpBrIf, 0, OpEnd}),
		echo,
	)
	evalResults := []byte{I64}
	if o.EvaluateI32 {
		evalResults = []byte{I32}
		evalBody = Cat([]byte{OpLocalGet, 0, OpLocalGet, 1, OpI32Add})
	}
	initBody := []byte{}
	for range o.InitGrows {
		initBody = Cat(initBody, I32Const(1), []byte{OpMemoryGrow, 0, OpDrop})
	}
	if o.InitTraps {
		initBody = []byte{OpUnreachable}
	}
	freeBody := []byte{}
	if o.FreeTraps {
		freeBody = []byte{OpUnreachable}
	}
	funcs := []Func{
		{Export: "policy_abi_v1", Results: []byte{I32}, Body: I32Const(o.ABIVersion)},
		{Export: "alloc", Params: []byte{I32}, Results: []byte{I32}, Body: I32Const(Scratch)},
		{Export: "free", Params: []byte{I32}, Body: freeBody},
		{Export: "evaluate", Params: []byte{I32, I32}, Results: evalResults, Locals: []byte{I32, I32}, Body: evalBody},
		{Export: "_initialize", Body: initBody},
	}
	exportMem := true
	for i := range funcs {
		if funcs[i].Export == o.Omit {
			funcs[i].Export = ""
		}
	}
	if o.Omit == "memory" {
		exportMem = false
	}
	return Module{Imports: imports, Funcs: funcs, MemoryPages: o.Pages, ExportMemory: exportMem}.Bytes()
}

// ConstModule returns an ABI v1 guest whose evaluate ignores its input and
// always returns result (e.g. invalid JSON, or a fixed verdict). result is
// kept in the second page, so it may be up to 64 KiB.
func ConstModule(result []byte) []byte {
	const at = 65536
	packed := int64(at)<<32 | int64(len(result))
	funcs := []Func{
		{Export: "policy_abi_v1", Results: []byte{I32}, Body: I32Const(1)},
		{Export: "alloc", Params: []byte{I32}, Results: []byte{I32}, Body: I32Const(Scratch)},
		{Export: "free", Params: []byte{I32}},
		{Export: "evaluate", Params: []byte{I32, I32}, Results: []byte{I64}, Body: I64Const(packed)},
		{Export: "_initialize"},
	}
	return Module{Imports: []Import{SchedYield}, Funcs: funcs, MemoryPages: 3, ExportMemory: true,
		Data: []Data{{Offset: at, Bytes: result}}}.Bytes()
}

// SharedCacheDir is the on-disk compilation cache that tests across packages
// share when `make unit` sets DAISYDOG_TEST_POLICY_CACHE, or "" (each test
// keeps its own). `make unit` fills it first without -race (see
// policies.TestDefaultPolicyThroughTheCompilationCache): compiling the
// default policy takes ~3 s, but ~30 s under the race detector, once per
// package otherwise. The cache is keyed by module hash and wazero version,
// so a test binary only ever loads machine code compiled from the same
// module by the same compiler.
func SharedCacheDir() string { return os.Getenv("DAISYDOG_TEST_POLICY_CACHE") }

// FlakyPolicy is an ABI v1 module that answers short inputs (up to 200
// bytes: an engine's load-time self-test) with verdict, and runs misbehave
// on longer ones (a real chat turn): a trap, an endless loop, or returning
// a bad document. Data it can point a result at: "oops" at 65536+1024,
// {"action":"party"} at 65536+2048. It imports sched_yield like a Go
// guest, so the host instruments it (interrupt check and work budget).
func FlakyPolicy(verdict string, misbehave []byte) []byte {
	const at = 65536
	body := Cat(
		[]byte{OpLocalGet, 1}, I32Const(200), []byte{0x4b /* i32.gt_u */, 0x04 /* if */, BlockEmpty},
		misbehave,
		[]byte{OpEnd},
		I64Const(int64(at)<<32|int64(len(verdict))),
	)
	return Module{
		Imports: []Import{SchedYield},
		Funcs: []Func{
			{Export: "policy_abi_v1", Results: []byte{I32}, Body: I32Const(1)},
			{Export: "alloc", Params: []byte{I32}, Results: []byte{I32}, Body: I32Const(Scratch)},
			{Export: "free", Params: []byte{I32}},
			{Export: "evaluate", Params: []byte{I32, I32}, Results: []byte{I64}, Body: body},
			{Export: "_initialize"},
		},
		MemoryPages: 3, ExportMemory: true,
		Data: []Data{
			{Offset: at, Bytes: []byte(verdict)},
			{Offset: at + 1024, Bytes: []byte("oops")},
			{Offset: at + 2048, Bytes: []byte(`{"action":"party"}`)},
		},
	}.Bytes()
}
