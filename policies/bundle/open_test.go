package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"daisydog/policies"
)

// tarEntry is one raw tar header + body for hand-made archives.
type tarEntry struct {
	name string
	typ  byte
	body []byte
	size int64 // declared size when > len(body) is wanted; 0 = len(body)
}

func packEntries(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == tar.TypeSymlink {
			h.Linkname, h.Size = "elsewhere", 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if len(e.body) > 0 && e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// validParts returns the five parts of a correctly signed bundle.
func validParts(t *testing.T) (map[string][]byte, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vec, err := json.Marshal(policies.VectorFile{ABI: 1, Policy: "p", Vectors: []policies.Vector{{Name: "v",
		Input:  policies.Input{Text: "hi", Direction: "in", AgeTier: "5-8"},
		Expect: policies.Expectation{Action: "allow", Categories: []string{}}}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Build(Spec{Name: "p", Version: "1", Module: []byte("\x00asm-not-checked-here"), Vectors: vec, Now: time.Unix(1, 0)}, priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := json.Marshal(b.Signature)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{partManifest: b.ManifestRaw, partSignature: sig, partModule: b.Module, partData: b.Data, partVectors: b.Vectors}, pub
}

func entriesOf(parts map[string][]byte, skip string) []tarEntry {
	var out []tarEntry
	for _, name := range []string{partManifest, partSignature, partModule, partData, partVectors} {
		if name != skip {
			out = append(out, tarEntry{name: name, typ: tar.TypeReg, body: parts[name]})
		}
	}
	return out
}

func TestOpenRefusesMalformedArchives(t *testing.T) {
	parts, pub := validParts(t)
	if b, err := Open(packEntries(t, entriesOf(parts, ""))); err != nil {
		t.Fatalf("hand-packed valid bundle: %v", err)
	} else if err := b.Verify(map[string]ed25519.PublicKey{KeyID(pub): pub}); err != nil {
		t.Fatalf("hand-packed valid bundle does not verify: %v", err)
	}
	withManifest := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(parts[partManifest], &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := map[string][]byte{}
		for k, v := range parts {
			p[k] = v
		}
		p[partManifest] = raw
		return packEntries(t, entriesOf(p, ""))
	}
	replace := func(name string, body []byte) []byte {
		var es []tarEntry
		for _, e := range entriesOf(parts, "") {
			if e.name == name {
				e.body = body
			}
			es = append(es, e)
		}
		return packEntries(t, es)
	}
	zstdOf := func(b []byte) []byte {
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(b, nil)
	}
	tests := []struct {
		name string
		raw  []byte
		want error
		msg  string
	}{
		{"unexpected part", packEntries(t, append(entriesOf(parts, ""), tarEntry{name: "run.sh", typ: tar.TypeReg, body: []byte("x")})), ErrMalformed, `unexpected part "run.sh"`},
		{"part twice", packEntries(t, append(entriesOf(parts, ""), tarEntry{name: partData, typ: tar.TypeReg, body: []byte("{}")})), ErrMalformed, "appears twice"},
		{"symlink part", packEntries(t, append(entriesOf(parts, partData), tarEntry{name: partData, typ: tar.TypeSymlink})), ErrMalformed, "not a regular file"},
		{"missing part", packEntries(t, entriesOf(parts, partVectors)), ErrMalformed, `missing part "vectors.json"`},
		{"oversized signature", replace(partSignature, make([]byte, maxSignature+1)), ErrTooLarge, "signature.json"},
		{"manifest with an unknown field", withManifest(func(m map[string]any) { m["run"] = "rm -rf /" }), ErrMalformed, "manifest"},
		{"manifest with trailing data", replace(partManifest, append(append([]byte{}, parts[partManifest]...), []byte(" {}")...)), ErrMalformed, "trailing data"},
		{"signature not JSON", replace(partSignature, []byte("sig")), ErrMalformed, "signature"},
		{"wrong format", withManifest(func(m map[string]any) { m["format"] = 99 }), ErrMalformed, "manifest format 99"},
		{"wrong ABI", withManifest(func(m map[string]any) { m["abi"] = 7 }), ErrMalformed, "ABI 7"},
		{"reserved name", withManifest(func(m map[string]any) { m["name"] = "default" }), ErrMalformed, "reserved"},
		{"zstd of something that is not tar", zstdOf([]byte(strings.Repeat("not a tar archive ", 64))), ErrMalformed, ""},
		{"not zstd", []byte("PK\x03\x04 zip?"), ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open(tc.raw)
			if err == nil {
				t.Fatalf("opened: %+v", b.Manifest)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	parts, pub := validParts(t)
	trusted := map[string]ed25519.PublicKey{KeyID(pub): pub}
	open := func(t *testing.T) *Bundle {
		b, err := Open(packEntries(t, entriesOf(parts, "")))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		mutate func(b *Bundle)
		want   error
		msg    string
	}{
		{"short signature", func(b *Bundle) { b.Signature.Sig = b.Signature.Sig[:10] }, ErrSignature, "does not verify"},
		{"vectors swapped", func(b *Bundle) { b.Vectors = []byte(`{}`) }, ErrSignature, "vectors.json does not match"},
		{"unknown key", func(b *Bundle) { b.Signature.KeyID = "0000000000000000" }, ErrUntrusted, "0000000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			tc.mutate(b)
			err := b.Verify(trusted)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	if b := open(t); b.HasData() {
		t.Fatal("a bundle without data files reports data")
	}
}

func TestEncodeDataRefusesNonText(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"empty name":         {"": "x"},
		"binary content":     {"a.txt": "\xff\xfe"},
		"binary file name":   {"\xff.txt": "x"},
		"one bad among good": {"a.txt": "ok", "b.txt": "\xc3"},
	} {
		if _, err := EncodeData(files); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	b, err := EncodeData(nil)
	if err != nil || string(b) != "{}" {
		t.Fatalf("EncodeData(nil) = %q, %v", b, err)
	}
	b, err = EncodeData(map[string]string{"z.txt": "1", "a.txt": "2"})
	if err != nil || string(b) != `{"a.txt":"2","z.txt":"1"}` {
		t.Fatalf("EncodeData = %q, %v (keys must be sorted)", b, err)
	}
}

func TestParseKeysRefusals(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	privCases := map[string][]byte{
		"not PEM":          []byte("hello"),
		"public key block": block(pemPublic, ecPub),
		"garbage DER":      block(pemPrivate, []byte{1, 2, 3}),
		"ECDSA key":        block(pemPrivate, ecPriv),
	}
	for name, b := range privCases {
		if _, err := ParsePrivateKey(b); err == nil {
			t.Errorf("ParsePrivateKey(%s) accepted", name)
		}
	}
	pubCases := map[string][]byte{
		"not PEM":           []byte("hello"),
		"private key block": block(pemPrivate, ecPriv),
		"garbage DER":       block(pemPublic, []byte{1, 2, 3}),
		"ECDSA key":         block(pemPublic, ecPub),
	}
	for name, b := range pubCases {
		if _, err := ParsePublicKey(b); err == nil {
			t.Errorf("ParsePublicKey(%s) accepted", name)
		}
	}
	if _, err := ParsePrivateKey(block(pemPrivate, ecPriv)); err == nil || !strings.Contains(err.Error(), "not Ed25519") {
		t.Fatalf("ECDSA private key: %v", err)
	}
	if _, err := ParsePublicKey(block(pemPublic, ecPub)); err == nil || !strings.Contains(err.Error(), "not Ed25519") {
		t.Fatalf("ECDSA public key: %v", err)
	}
}
