package bundle

import (
	"encoding/base64"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Repack re-packs an opened bundle as is (tests tamper with its parts).
func Repack(t *testing.T, b *Bundle) []byte {
	t.Helper()
	sig := []byte(`{"key_id":"` + b.Signature.KeyID + `","sig":"` + b64(b.Signature.Sig) + `"}`)
	raw, err := pack([]namedPart{{partManifest, b.ManifestRaw}, {partSignature, sig}, {partModule, b.Module}, {partData, b.Data}, {partVectors, b.Vectors}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
