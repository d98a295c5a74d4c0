package raftcluster

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"
)

func testKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t testing.TB, key []byte, meta uint64, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewSealWriter(&out, key, meta)
	if err != nil {
		t.Fatalf("NewSealWriter: %v", err)
	}
	// Write in uneven pieces so chunk boundaries do not line up with writes.
	for p := data; len(p) > 0; {
		n := min(len(p), 7919)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}
	return out.Bytes()
}

// unseal returns the meta value and the content, or the first error.
func unseal(sealed, key []byte) (uint64, []byte, error) {
	meta, r, err := ReadSealHeader(bytes.NewReader(sealed), key)
	if err != nil {
		return 0, nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	return meta, data, err
}

type sealedChunk struct {
	off   int // offset of the length prefix
	size  int // ciphertext length
	final bool
}

func (c sealedChunk) end() int { return c.off + 4 + c.size }

// parseChunks splits a well-formed sealed stream into its chunks.
func parseChunks(t testing.TB, sealed []byte) []sealedChunk {
	t.Helper()
	var out []sealedChunk
	off := headerSize
	for off < len(sealed) {
		n := binary.BigEndian.Uint32(sealed[off:])
		c := sealedChunk{off: off, size: int(n &^ finalBit), final: n&finalBit != 0}
		out = append(out, c)
		off = c.end()
	}
	if off != len(sealed) || len(out) == 0 || !out[len(out)-1].final {
		t.Fatalf("malformed sealed stream: %d chunks, ends at %d of %d", len(out), off, len(sealed))
	}
	return out
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealRoundTrip(t *testing.T) {
	key := testKey(t)
	sizes := []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 1 << 20}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randomBytes(t, size)
			meta := uint64(0xDD5EA1<<32) + uint64(size)
			sealed := seal(t, key, meta, data)
			if string(sealed[:8]) != sealMagic {
				t.Fatalf("stream starts with %q", sealed[:8])
			}
			chunks := parseChunks(t, sealed)
			for _, c := range chunks[:len(chunks)-1] {
				if c.final || c.size != chunkSize+16 {
					t.Fatalf("non-final chunk %+v, want full size %d", c, chunkSize+16)
				}
			}
			gotMeta, got, err := unseal(sealed, key)
			if err != nil {
				t.Fatalf("unseal: %v", err)
			}
			if gotMeta != meta {
				t.Fatalf("meta = %#x, want %#x", gotMeta, meta)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("content differs: got %d bytes, want %d", len(got), len(data))
			}
		})
	}
}

func TestSealHidesPlaintext(t *testing.T) {
	marker := []byte("MARKER-sealed-7f3a9c-plaintext")
	data := bytes.Repeat(marker, 10000) // compressible: exercises zstd, not only raw blocks
	sealed := seal(t, testKey(t), 1, data)
	if bytes.Contains(sealed, marker) || bytes.Contains(sealed, marker[:12]) {
		t.Fatal("sealed stream contains the plaintext marker")
	}
	if len(sealed) > len(data)/10 {
		t.Fatalf("sealed %d bytes of compressible data into %d bytes: not compressed", len(data), len(sealed))
	}
}

func TestSealMetaReadableWithWrongKey(t *testing.T) {
	sealed := seal(t, testKey(t), 424242, randomBytes(t, 3*chunkSize))
	meta, r, err := ReadSealHeader(bytes.NewReader(sealed), testKey(t))
	if err != nil {
		t.Fatalf("ReadSealHeader with another key: %v (the meta must be readable)", err)
	}
	if meta != 424242 {
		t.Fatalf("meta = %d, want 424242", meta)
	}
	_, err = io.ReadAll(r)
	if !errors.Is(err, ErrSealed) {
		t.Fatalf("reading with the wrong key: err = %v, want ErrSealed", err)
	}
}

func TestSealBadKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealWriter(io.Discard, make([]byte, n), 0); err == nil {
			t.Errorf("NewSealWriter accepted a %d-byte key", n)
		}
	}
}

func TestSealHeaderErrors(t *testing.T) {
	key := testKey(t)
	good := seal(t, key, 7, []byte("hello"))
	badMagic := bytes.Clone(good)
	copy(badMagic, "DDSEAL02")
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short header", good[:headerSize-1]},
		{"bad magic", badMagic},
		{"not sealed at all", bytes.Repeat([]byte("x"), 100)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadSealHeader(bytes.NewReader(tc.in), key)
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("err = %v, want ErrSealed", err)
			}
		})
	}
}

// TestSealTamperEveryByte flips each byte of a small stream in turn.
func TestSealTamperEveryByte(t *testing.T) {
	key := testKey(t)
	data := randomBytes(t, 300)
	sealed := seal(t, key, 99, data)
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= mask
			meta, got, err := unseal(bad, key)
			if err == nil {
				t.Fatalf("flipping byte %d (mask %#x) went unnoticed (meta %d, %d bytes, equal=%v)", i, mask, meta, len(got), bytes.Equal(got, data))
			}
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("flipping byte %d: err = %v, want ErrSealed", i, err)
			}
		}
	}
}

func TestSealTamperMultiChunk(t *testing.T) {
	key := testKey(t)
	data := randomBytes(t, 3*chunkSize+1234)
	sealed := seal(t, key, 5, data)
	chunks := parseChunks(t, sealed)
	if len(chunks) != 4 {
		t.Fatalf("got %d chunks, want 4", len(chunks))
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	var positions []int
	for i := 0; i < headerSize; i++ {
		positions = append(positions, i)
	}
	for _, c := range chunks {
		positions = append(positions, c.off, c.off+1, c.off+2, c.off+3, // length prefix incl. final bit
			c.off+4, c.off+4+c.size/2, c.end()-17, c.end()-1) // body start, middle, last body byte, tag
		for range 8 {
			positions = append(positions, c.off+4+rng.IntN(c.size))
		}
	}
	for _, pos := range positions {
		bad := bytes.Clone(sealed)
		bad[pos] ^= 0x20
		_, _, err := unseal(bad, key)
		if !errors.Is(err, ErrSealed) {
			t.Errorf("flipped byte %d: err = %v, want ErrSealed", pos, err)
		}
	}
}

func TestSealTruncationAndReordering(t *testing.T) {
	key := testKey(t)
	data := randomBytes(t, 3*chunkSize+1234)
	sealed := seal(t, key, 5, data)
	ch := parseChunks(t, sealed)
	last := ch[len(ch)-1]

	swapped := bytes.Clone(sealed[:ch[0].off])
	swapped = append(swapped, sealed[ch[1].off:ch[1].end()]...)
	swapped = append(swapped, sealed[ch[0].off:ch[0].end()]...)
	swapped = append(swapped, sealed[ch[2].off:]...)

	replayed := bytes.Clone(sealed[:ch[1].off])
	replayed = append(replayed, sealed[ch[0].off:ch[0].end()]...) // chunk 0 again in place of chunk 1
	replayed = append(replayed, sealed[ch[2].off:]...)

	// Cut after chunk 1 and mark it final: the final flag is authenticated.
	fakeFinal := bytes.Clone(sealed[:ch[1].end()])
	binary.BigEndian.PutUint32(fakeFinal[ch[1].off:], uint32(ch[1].size)|finalBit)

	// Clear the final bit of the last chunk.
	notFinal := bytes.Clone(sealed)
	binary.BigEndian.PutUint32(notFinal[last.off:], uint32(last.size))

	// Splice a chunk from another stream under the same key.
	other := seal(t, key, 5, data)
	oc := parseChunks(t, other)
	spliced := bytes.Clone(sealed[:ch[1].off])
	spliced = append(spliced, other[oc[1].off:oc[1].end()]...)
	spliced = append(spliced, sealed[ch[2].off:]...)

	// Another stream's header in front of this stream's chunks.
	otherHeader := append(bytes.Clone(other[:headerSize]), sealed[headerSize:]...)

	cases := []struct {
		name string
		in   []byte
	}{
		{"header only", sealed[:headerSize]},
		{"drop final chunk", sealed[:last.off]},
		{"drop last two chunks", sealed[:ch[len(ch)-2].off]},
		{"cut in a length prefix", sealed[:ch[1].off+2]},
		{"cut mid chunk", sealed[:ch[1].off+4+ch[1].size/2]},
		{"cut mid final chunk", sealed[:last.off+4+last.size/2]},
		{"cut last byte", sealed[:len(sealed)-1]},
		{"swap chunks 0 and 1", swapped},
		{"replay chunk 0", replayed},
		{"early final flag", fakeFinal},
		{"final flag cleared", notFinal},
		{"chunk from another stream", spliced},
		{"header from another stream", otherHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := unseal(tc.in, key)
			if err == nil {
				t.Fatalf("accepted (%d of %d bytes returned)", len(got), len(data))
			}
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("err = %v, want ErrSealed", err)
			}
		})
	}
}

// TestSealChunkAlignedFinal covers a compressed stream that is an exact
// multiple of the chunk size: the final chunk is empty but still present and
// authenticated, so dropping it must still be detected.
func TestSealChunkAlignedFinal(t *testing.T) {
	key := testKey(t)
	base := randomBytes(t, chunkSize+64)
	var sealed []byte
	var data []byte
	for n := chunkSize - 256; n <= chunkSize; n++ {
		s := seal(t, key, 1, base[:n])
		ch := parseChunks(t, s)
		if len(ch) == 2 && ch[1].size == 16 {
			sealed, data = s, base[:n]
			break
		}
	}
	if sealed == nil {
		t.Fatal("found no plaintext size whose compressed stream fills exactly one chunk")
	}
	_, got, err := unseal(sealed, key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("aligned stream: err = %v, equal = %v", err, bytes.Equal(got, data))
	}
	ch := parseChunks(t, sealed)
	if _, _, err := unseal(sealed[:ch[1].off], key); !errors.Is(err, ErrSealed) {
		t.Fatalf("dropping the empty final chunk: err = %v, want ErrSealed", err)
	}
}
