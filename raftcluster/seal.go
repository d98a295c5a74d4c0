package raftcluster

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"
)

// Sealed stream format (snapshots, backups):
//
//	magic "DDSEAL01" | u64 meta | 16-byte nonce prefix
//	then chunks: u32 (len | finalBit) | XChaCha20-Poly1305(chunk)
//
// The chunk nonce is prefix || u64 counter; the associated data is the header
// plus a final-chunk flag, so chunks cannot be reordered, dropped or truncated.
// The plaintext inside is a zstd stream.
const (
	sealMagic  = "DDSEAL01"
	chunkSize  = 64 << 10
	finalBit   = 1 << 31
	headerSize = 8 + 8 + 16
)

// ErrSealed is returned when a sealed stream fails authentication or is malformed.
var ErrSealed = errors.New("raftcluster: sealed stream failed authentication")

type sealWriter struct {
	w       io.Writer
	aead    cipher.AEAD
	header  []byte
	prefix  []byte
	counter uint64
	buf     []byte
	closed  bool
}

// NewSealWriter returns a writer that zstd-compresses and seals everything
// written to it. meta is authenticated and readable without the key (e.g. the
// snapshot's applied index). Close must be called to write the final chunk.
func NewSealWriter(w io.Writer, key []byte, meta uint64) (io.WriteCloser, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	h := make([]byte, headerSize)
	copy(h, sealMagic)
	binary.BigEndian.PutUint64(h[8:], meta)
	if _, err := rand.Read(h[16:]); err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	sw := &sealWriter{w: w, aead: aead, header: h, prefix: h[16:], buf: make([]byte, 0, chunkSize)}
	zw, err := zstd.NewWriter(sw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &zstdSeal{zw: zw, sw: sw}, nil
}

type zstdSeal struct {
	zw *zstd.Encoder
	sw *sealWriter
}

func (z *zstdSeal) Write(p []byte) (int, error) { return z.zw.Write(p) }
func (z *zstdSeal) Close() error {
	if err := z.zw.Close(); err != nil {
		return err
	}
	return z.sw.Close()
}

func (s *sealWriter) nonce() []byte {
	n := make([]byte, 24)
	copy(n, s.prefix)
	binary.BigEndian.PutUint64(n[16:], s.counter)
	s.counter++
	return n
}

func (s *sealWriter) aad(final bool) []byte {
	a := append([]byte{}, s.header...)
	if final {
		return append(a, 1)
	}
	return append(a, 0)
}

func (s *sealWriter) flush(final bool) error {
	ct := s.aead.Seal(nil, s.nonce(), s.buf, s.aad(final))
	var l [4]byte
	n := uint32(len(ct))
	if final {
		n |= finalBit
	}
	binary.BigEndian.PutUint32(l[:], n)
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	_, err := s.w.Write(ct)
	s.buf = s.buf[:0]
	return err
}

func (s *sealWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+n]
		p = p[n:]
		if len(s.buf) == cap(s.buf) {
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
	}
	return total, nil
}

func (s *sealWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush(true)
}

// ReadSealHeader reads the header and returns the meta value and a reader of
// the decrypted, decompressed content. Authentication failures surface as
// ErrSealed from Read.
func ReadSealHeader(r io.Reader, key []byte) (uint64, io.ReadCloser, error) {
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(r, h); err != nil {
		return 0, nil, fmt.Errorf("%w: short header", ErrSealed)
	}
	if string(h[:8]) != sealMagic {
		return 0, nil, fmt.Errorf("%w: bad magic", ErrSealed)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return 0, nil, err
	}
	or := &openReader{r: r, aead: aead, sw: sealWriter{header: h, prefix: h[16:]}}
	zr, err := zstd.NewReader(or, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return 0, nil, err
	}
	return binary.BigEndian.Uint64(h[8:]), zr.IOReadCloser(), nil
}

type openReader struct {
	r    io.Reader
	aead cipher.AEAD
	sw   sealWriter // reuses nonce/aad bookkeeping
	buf  []byte
	done bool
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		if o.done {
			return 0, io.EOF
		}
		var l [4]byte
		if _, err := io.ReadFull(o.r, l[:]); err != nil {
			return 0, fmt.Errorf("%w: truncated", ErrSealed)
		}
		n := binary.BigEndian.Uint32(l[:])
		final := n&finalBit != 0
		n &^= finalBit
		if n > chunkSize+uint32(o.aead.Overhead()) {
			return 0, fmt.Errorf("%w: chunk too large", ErrSealed)
		}
		ct := make([]byte, n)
		if _, err := io.ReadFull(o.r, ct); err != nil {
			return 0, fmt.Errorf("%w: truncated", ErrSealed)
		}
		pt, err := o.aead.Open(ct[:0], o.sw.nonce(), ct, o.sw.aad(final))
		if err != nil {
			return 0, ErrSealed
		}
		o.buf = pt
		o.done = final
		if final {
			var extra [1]byte
			if n, _ := io.ReadFull(o.r, extra[:]); n != 0 {
				return 0, fmt.Errorf("%w: data after the final chunk", ErrSealed)
			}
		}
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}
