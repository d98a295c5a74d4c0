package bench

import (
	"math"
	"slices"
	"time"
)

// Latency holds latency statistics in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// summarize sorts lat in place and returns exact nearest-rank percentiles.
func summarize(lat []time.Duration) Latency {
	n := len(lat)
	if n == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var sum float64
	for _, d := range lat {
		sum += ms(d)
	}
	return Latency{
		P50:  ms(lat[rank(50, n)]),
		P95:  ms(lat[rank(95, n)]),
		P99:  ms(lat[rank(99, n)]),
		P999: ms(lat[rank(99.9, n)]),
		Max:  ms(lat[n-1]),
		Mean: sum / float64(n),
	}
}

// rank is the 0-based nearest-rank index of percentile p among n sorted values.
func rank(p float64, n int) int {
	r := int(math.Ceil(p / 100 * float64(n)))
	return min(max(r, 1), n) - 1
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
