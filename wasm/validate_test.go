package wasm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importModule wraps one import entry (without module and field names) in a
// module whose import section holds just that entry, named "m"."n".
func importModule(desc ...byte) []byte {
	entry := append([]byte{1, 'm', 1, 'n'}, desc...)
	body := append([]byte{1}, entry...)
	return append([]byte("\x00asm\x01\x00\x00\x00\x02"), append([]byte{byte(len(body))}, body...)...)
}

// TestParseImportKinds: every import kind is decoded (so a forbidden one is
// named), and each truncated or unknown descriptor is refused as malformed
// rather than read past the section.
func TestParseImportKinds(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		kind byte // wanted kind; 0xff = want errMalformed
	}{
		{"function", importModule(0, 0), 0},
		{"table with min", importModule(1, 0x70, 0, 1), 1},
		{"table with min and max", importModule(1, 0x70, 1, 1, 2), 1},
		{"memory with min and max", importModule(2, 1, 1, 2), 2},
		{"global", importModule(3, 0x7f, 0), 3},
		{"tag", importModule(4, 0, 0), 4},
		{"function without type index", importModule(0), 0xff},
		{"table without reftype", importModule(1), 0xff},
		{"table without limits flags", importModule(1, 0x70), 0xff},
		{"table without min", importModule(1, 0x70, 0), 0xff},
		{"table without max", importModule(1, 0x70, 1, 1), 0xff},
		{"memory without limits", importModule(2), 0xff},
		{"global without valtype", importModule(3), 0xff},
		{"global without mutability", importModule(3, 0x7f), 0xff},
		{"tag without attribute", importModule(4), 0xff},
		{"tag without type index", importModule(4, 0), 0xff},
		{"unknown kind", importModule(5, 0), 0xff},
		{"over-long LEB type index", importModule(0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0xff},
		{"type index above 32 bits", importModule(0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0xff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ims, err := parseImports(tc.b)
			if tc.kind == 0xff {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("parseImports = %+v, %v; want errMalformed", ims, err)
				}
				if err := checkImports(tc.b); !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "import section") {
					t.Fatalf("checkImports = %v, want an invalid-module error about the import section", err)
				}
				return
			}
			if err != nil || len(ims) != 1 || ims[0].module != "m" || ims[0].name != "n" || ims[0].kind != tc.kind {
				t.Fatalf("parseImports = %+v, %v; want one import m.n of kind %d", ims, err, tc.kind)
			}
			// Not a WASI function: refused, and named with its kind.
			err = checkImports(tc.b)
			if !errors.Is(err, ErrForbiddenImport) || !strings.Contains(err.Error(), ims[0].String()) {
				t.Fatalf("checkImports = %v, want ErrForbiddenImport naming %s", err, ims[0])
			}
		})
	}
	if got := (importEntry{module: "m", name: "n", kind: 9}).String(); got != `"m"."n" (unknown)` {
		t.Fatalf("String of an unknown kind = %s", got)
	}
}

// TestSplitSectionsFraming: a section that claims more bytes than the
// module has, or whose size is not a valid LEB, is refused.
func TestSplitSectionsFraming(t *testing.T) {
	hdr := "\x00asm\x01\x00\x00\x00"
	for name, b := range map[string]string{
		"size past the end":   hdr + "\x01\x05\x00",
		"size LEB cut short":  hdr + "\x01\x80",
		"header only, no id":  "\x00asm\x01\x00",
		"wrong magic":         "\x00wsm\x01\x00\x00\x00",
		"size LEB over 32bit": hdr + "\x01\x80\x80\x80\x80\x10",
	} {
		if secs, err := splitSections([]byte(b)); !errors.Is(err, errMalformed) {
			t.Errorf("%s: splitSections = %+v, %v; want errMalformed", name, secs, err)
		}
	}
	secs, err := splitSections([]byte(hdr + "\x00\x02ab\x0b\x00"))
	if err != nil || len(secs) != 2 || secs[0].id != 0 || string(secs[0].body) != "ab" || secs[1].id != 11 || len(secs[1].body) != 0 {
		t.Fatalf("splitSections of two sections = %+v, %v", secs, err)
	}
}

// TestNewRuntimeCacheDirError: a cache directory that cannot be created is
// reported with its path.
func TestNewRuntimeCacheDirError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "cache")
	rt, err := NewRuntime(context.Background(), Config{CacheDir: dir})
	if err == nil {
		rt.Close(context.Background())
		t.Fatal("NewRuntime with a cache dir under a file succeeded")
	}
	if !strings.Contains(err.Error(), "compilation cache") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("NewRuntime = %v, want the cache dir named", err)
	}
}
