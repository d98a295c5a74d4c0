package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"daisydog/policies"
)

// Format is the bundle format version written in every manifest.
const Format = 1

// Size limits. A bundle travels in one Raft log entry, so its compressed
// size is bounded; the uncompressed limits guard against decompression bombs.
const (
	// MaxCompressed: the bundle rides in one log entry as base64 JSON, and
	// the cluster forwards entries of at most 4 MiB to the leader.
	MaxCompressed = 3<<20 - 64<<10 // the .ddpb file
	MaxModule     = 16 << 20       // the .wasm module
	MaxData       = 8 << 20        // the data document
	MaxVectors    = 4 << 20        // the vectors document
	maxManifest   = 64 << 10
	maxSignature  = 4 << 10
	maxTotal      = MaxModule + MaxData + MaxVectors + maxManifest + maxSignature + 64<<10
)

// Part names inside the tar stream, in the order they are written.
const (
	partManifest  = "manifest.json"
	partSignature = "signature.json"
	partModule    = "module.wasm"
	partData      = "data.json"
	partVectors   = "vectors.json"
)

// Errors. Every error from Open, Verify and Load wraps one of them.
var (
	ErrTooLarge  = errors.New("bundle: too large")
	ErrMalformed = errors.New("bundle: malformed")
	ErrSignature = errors.New("bundle: signature")
	ErrUntrusted = errors.New("bundle: signed by an untrusted key")
	ErrVectors   = errors.New("bundle: test vectors failed")
	ErrModule    = errors.New("bundle: module refused")
)

// Part describes one part of the bundle in the manifest.
type Part struct {
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

func partOf(b []byte) Part {
	s := sha256.Sum256(b)
	return Part{SHA256: hex.EncodeToString(s[:]), Size: len(b)}
}

// Manifest is the signed description of a bundle.
type Manifest struct {
	Format    int    `json:"format"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	ABI       int    `json:"abi"`
	CreatedAt int64  `json:"created_at"` // Unix seconds, informational
	Module    Part   `json:"module"`
	Data      Part   `json:"data"`
	Vectors   Part   `json:"vectors"`
}

// ID is "name@version", the identity of a policy version in the cluster.
func (m Manifest) ID() string { return m.Name + "@" + m.Version }

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,47}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
)

// ValidID reports whether id has the form of a bundle ID ("name@version").
func ValidID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] == '@' {
			return nameRE.MatchString(id[:i]) && versionRE.MatchString(id[i+1:])
		}
	}
	return false
}

func (m Manifest) validate() error {
	switch {
	case m.Format != Format:
		return fmt.Errorf("%w: manifest format %d (want %d)", ErrMalformed, m.Format, Format)
	case !nameRE.MatchString(m.Name):
		return fmt.Errorf("%w: name %q must match %s", ErrMalformed, m.Name, nameRE)
	case m.Name == "default":
		return fmt.Errorf("%w: name %q is reserved for the embedded policy", ErrMalformed, m.Name)
	case !versionRE.MatchString(m.Version):
		return fmt.Errorf("%w: version %q must match %s", ErrMalformed, m.Version, versionRE)
	case m.ABI != policies.ABIVersion:
		return fmt.Errorf("%w: ABI %d (this host speaks %d)", ErrMalformed, m.ABI, policies.ABIVersion)
	}
	return nil
}

// Signature is the detached signature over the manifest's exact bytes.
type Signature struct {
	KeyID string `json:"key_id"`
	Sig   []byte `json:"sig"`
}

// Bundle is an opened (not necessarily verified) bundle.
type Bundle struct {
	Manifest    Manifest
	ManifestRaw []byte // the signed bytes
	Signature   Signature
	Module      []byte
	Data        []byte // a JSON object of named text files ("{}" when none)
	Vectors     []byte
}

// ID returns the manifest's "name@version".
func (b *Bundle) ID() string { return b.Manifest.ID() }

// KeyID identifies a signing public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Spec is what Build needs.
type Spec struct {
	Name, Version string
	Module        []byte
	Data          map[string]string // file name → content (UTF-8 text)
	Vectors       []byte
	Now           time.Time
}

// EncodeData turns named text files into the data document handed to the
// module: a JSON object with sorted keys.
func EncodeData(files map[string]string) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n, c := range files {
		if n == "" || !utf8.ValidString(n) || !utf8.ValidString(c) {
			return nil, fmt.Errorf("%w: data file %q: names and contents must be UTF-8 text", ErrMalformed, n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if files == nil {
		files = map[string]string{}
	}
	b, err := json.Marshal(files) // encoding/json sorts map keys
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	return b, nil
}

// Build assembles and signs a bundle and returns its compressed bytes. It
// checks the vectors' syntax but not the module (Load does that).
func Build(spec Spec, key ed25519.PrivateKey) ([]byte, error) {
	data, err := EncodeData(spec.Data)
	if err != nil {
		return nil, err
	}
	if _, err := policies.ParseVectors(spec.Vectors); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	m := Manifest{
		Format: Format, Name: spec.Name, Version: spec.Version, ABI: policies.ABIVersion,
		CreatedAt: spec.Now.Unix(),
		Module:    partOf(spec.Module), Data: partOf(data), Vectors: partOf(spec.Vectors),
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sig := Signature{KeyID: KeyID(key.Public().(ed25519.PublicKey)), Sig: ed25519.Sign(key, raw)}
	sigRaw, err := json.Marshal(sig)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Manifest: m, ManifestRaw: raw, Signature: sig, Module: spec.Module, Data: data, Vectors: spec.Vectors}
	if err := b.checkSizes(); err != nil {
		return nil, err
	}
	return pack([]namedPart{
		{partManifest, raw}, {partSignature, sigRaw}, {partModule, spec.Module}, {partData, data}, {partVectors, spec.Vectors},
	})
}

type namedPart struct {
	name string
	body []byte
}

func pack(parts []namedPart) ([]byte, error) {
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, p := range parts {
		if err := tw.WriteHeader(&tar.Header{Name: p.name, Mode: 0o644, Size: int64(len(p.body)), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(p.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if out.Len() > MaxCompressed {
		return nil, fmt.Errorf("%w: %d bytes compressed (limit %d)", ErrTooLarge, out.Len(), MaxCompressed)
	}
	return out.Bytes(), nil
}

func (b *Bundle) checkSizes() error {
	for _, c := range []struct {
		what  string
		n, of int
	}{{"module", len(b.Module), MaxModule}, {"data", len(b.Data), MaxData}, {"vectors", len(b.Vectors), MaxVectors}} {
		if c.n > c.of {
			return fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrTooLarge, c.what, c.n, c.of)
		}
	}
	return nil
}

// Open decompresses and parses a bundle, enforcing the size limits. It does
// not verify anything: call Verify.
func Open(compressed []byte) (*Bundle, error) {
	if len(compressed) > MaxCompressed {
		return nil, fmt.Errorf("%w: %d bytes compressed (limit %d)", ErrTooLarge, len(compressed), MaxCompressed)
	}
	zr, err := zstd.NewReader(bytes.NewReader(compressed), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxTotal+1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer zr.Close()
	limits := map[string]int{partManifest: maxManifest, partSignature: maxSignature, partModule: MaxModule, partData: MaxData, partVectors: MaxVectors}
	got := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		limit, known := limits[h.Name]
		switch {
		case !known:
			return nil, fmt.Errorf("%w: unexpected part %q", ErrMalformed, h.Name)
		case got[h.Name] != nil:
			return nil, fmt.Errorf("%w: part %q appears twice", ErrMalformed, h.Name)
		case h.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("%w: part %q is not a regular file", ErrMalformed, h.Name)
		case h.Size > int64(limit):
			return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrTooLarge, h.Name, h.Size, limit)
		}
		body, err := io.ReadAll(io.LimitReader(tr, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, h.Name, err)
		}
		got[h.Name] = body
	}
	for name := range limits {
		if got[name] == nil {
			return nil, fmt.Errorf("%w: missing part %q", ErrMalformed, name)
		}
	}
	b := &Bundle{ManifestRaw: got[partManifest], Module: got[partModule], Data: got[partData], Vectors: got[partVectors]}
	if err := strictJSON(b.ManifestRaw, &b.Manifest); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if err := strictJSON(got[partSignature], &b.Signature); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	if err := b.Manifest.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// CheckParts checks that the module, data and vectors are the ones the
// manifest describes (sizes and SHA-256). It says nothing about who signed
// the manifest: that is Verify's job.
func (b *Bundle) CheckParts() error {
	for _, c := range []struct {
		what string
		body []byte
		want Part
	}{{partModule, b.Module, b.Manifest.Module}, {partData, b.Data, b.Manifest.Data}, {partVectors, b.Vectors, b.Manifest.Vectors}} {
		if got := partOf(c.body); got != c.want {
			return fmt.Errorf("%w: %s does not match the manifest (sha256 %s…, %d bytes)", ErrSignature, c.what, got.SHA256[:12], got.Size)
		}
	}
	return nil
}

// Verify checks every part against the manifest and the signature against
// trusted (key ID → public key).
func (b *Bundle) Verify(trusted map[string]ed25519.PublicKey) error {
	if err := b.CheckParts(); err != nil {
		return err
	}
	pub, ok := trusted[b.Signature.KeyID]
	if !ok {
		return fmt.Errorf("%w: key %q is not in the cluster's trusted keys", ErrUntrusted, b.Signature.KeyID)
	}
	if len(b.Signature.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, b.ManifestRaw, b.Signature.Sig) {
		return fmt.Errorf("%w: does not verify with key %q", ErrSignature, b.Signature.KeyID)
	}
	var files map[string]string
	if err := json.Unmarshal(b.Data, &files); err != nil {
		return fmt.Errorf("%w: data is not a JSON object of text files: %v", ErrMalformed, err)
	}
	if _, err := policies.ParseVectors(b.Vectors); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// HasData reports whether the bundle carries data for its module.
func (b *Bundle) HasData() bool {
	return len(bytes.TrimSpace(b.Data)) > 0 && string(bytes.TrimSpace(b.Data)) != "{}"
}
