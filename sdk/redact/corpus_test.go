package redact_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe/sdk/redact"
)

// TestCorpusFalsePositives generates ids, timestamps, prices and numbers as
// they appear in span payloads and checks that none is redacted.
func TestCorpusFalsePositives(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	digits := func(n int) string {
		b := make([]byte, n)
		b[0] = byte('1' + rng.IntN(9))
		for i := 1; i < n; i++ {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	gen := map[string]func() string{
		"uuid": func() string {
			h := hex(32)
			return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		},
		"trace id": func() string { return `"trace_id":"` + hex(32) + `"` },
		"span id":  func() string { return "span " + hex(16) },
		"timestamp": func() string {
			ts := time.Unix(1_600_000_000+rng.Int64N(200_000_000), rng.Int64N(1e9)).UTC()
			return ts.Format(time.RFC3339) + " " + ts.Format(time.RFC3339Nano) + " " + ts.Format("2006-01-02 15:04:05") + " " + ts.Format("02.01.2006")
		},
		"unix time": func() string {
			s := 1_600_000_000 + rng.Int64N(200_000_000)
			return fmt.Sprintf(`{"created":%d,"ts_ms":%d,"ts_ns":%d}`, s, s*1000+rng.Int64N(1000), s*1e9+rng.Int64N(1e9))
		},
		"price": func() string {
			c := rng.IntN(1_000_000)
			return fmt.Sprintf("$%d.%02d, €%d,%03d.%02d, total=%d.%02d", c/100, c%100, c/100000+1, c%1000, c%100, c, c%100)
		},
		"order id": func() string {
			return fmt.Sprintf("ORD-%d-%06d order #%s INV-%s", 2020+rng.IntN(10), rng.IntN(1_000_000), digits(9), digits(12))
		},
		"version": func() string {
			return fmt.Sprintf("v%d.%d.%d go1.%d.%d %d.%d.%d-rc.%d", rng.IntN(10), rng.IntN(100), rng.IntN(1000),
				rng.IntN(30), rng.IntN(10), rng.IntN(10), rng.IntN(20), rng.IntN(100), rng.IntN(5))
		},
		"long number failing luhn": func() string {
			for {
				d := digits(10 + rng.IntN(7))
				if !luhnValid(d) {
					return "id " + d
				}
			}
		},
		"float": func() string {
			return fmt.Sprintf("%f %.12f %g", rng.Float64()*1000, rng.Float64(), rng.NormFloat64()*1e6)
		},
	}
	r := mustNew(t, redact.Config{})
	for name, g := range gen {
		t.Run(name, func(t *testing.T) {
			for range 2000 {
				in := g()
				if got := r.Text(in, nil); got != in {
					t.Fatalf("Text(%q) = %q, want unchanged", in, got)
				}
			}
		})
	}
}

// TestCorpusRecall generates personal data in many shapes and checks that
// all of it is redacted.
func TestCorpusRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	num := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	gen := map[string]func() string{
		"card": func() string {
			prefixes := []string{"4", "51", "55", "2221", "34", "37", "6011", "65", "3530", "62"}
			p := prefixes[rng.IntN(len(prefixes))]
			n := 16
			if p == "34" || p == "37" {
				n = 15
			}
			body := p + num(n-len(p)-1)
			for c := byte('0'); c <= '9'; c++ {
				if luhnValid(body + string(c)) {
					body += string(c)
					break
				}
			}
			if n == 16 && rng.IntN(2) == 0 {
				return body[:4] + " " + body[4:8] + " " + body[8:12] + " " + body[12:]
			}
			return body
		},
		"email": func() string {
			return fmt.Sprintf("user.%s+tag@mail%d.example.com", num(4), rng.IntN(100))
		},
		"phone": func() string {
			switch rng.IntN(4) {
			case 0:
				return fmt.Sprintf("+44 20 %s %s", num(4), num(4))
			case 1:
				return fmt.Sprintf("(%d%s) %d%s-%s", 2+rng.IntN(8), num(2), 2+rng.IntN(8), num(2), num(4))
			case 2:
				return fmt.Sprintf("+1-%d%s-%d%s-%s", 2+rng.IntN(8), num(2), 2+rng.IntN(8), num(2), num(4))
			default:
				return fmt.Sprintf("+49 30 %s%s", num(3), num(4))
			}
		},
		"aws key": func() string { return "AKIA" + strings.ToUpper(fmt.Sprintf("%016x", rng.Uint64()))[:16] },
		"github":  func() string { return fmt.Sprintf("ghp_%016x%016x%04x", rng.Uint64(), rng.Uint64(), rng.IntN(65536)) },
	}
	r := mustNew(t, redact.Config{})
	for name, g := range gen {
		t.Run(name, func(t *testing.T) {
			for range 2000 {
				v := g()
				in := "value: " + v + ", ok"
				got := r.Text(in, nil)
				if strings.Contains(got, v) || !strings.Contains(got, "[REDACTED:") {
					t.Fatalf("Text(%q) = %q, want %q redacted", in, got, v)
				}
			}
		})
	}
}

func luhnValid(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}
