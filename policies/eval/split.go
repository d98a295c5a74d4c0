package eval

import (
	"fmt"
	"hash/fnv"
)

// Halves of a labelled file for the generalisation guard: a case belongs
// to HalfTune or HalfCheck by a hash of its id, so the split is stable
// across runs and independent of the file's order. Tune rules on one half
// and keep a change only if the other half agrees.
const (
	HalfAll   = ""
	HalfTune  = "tune"
	HalfCheck = "check"
)

// CaseHalf returns HalfTune or HalfCheck for a case id (FNV-1a, low bit).
func CaseHalf(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	if h.Sum32()&1 == 0 {
		return HalfTune
	}
	return HalfCheck
}

// SplitHalf keeps the cases of one half ("" keeps all).
func SplitHalf(cases []Case, half string) ([]Case, error) {
	switch half {
	case HalfAll:
		return cases, nil
	case HalfTune, HalfCheck:
	default:
		return nil, fmt.Errorf("eval: unknown half %q (want %q or %q)", half, HalfTune, HalfCheck)
	}
	out := make([]Case, 0, len(cases)/2+1)
	for _, c := range cases {
		if CaseHalf(c.ID) == half {
			out = append(out, c)
		}
	}
	return out, nil
}
