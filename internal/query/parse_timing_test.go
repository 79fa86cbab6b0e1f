package query_test

import (
	"testing"

	"github.com/loupehq/loupe/internal/query"
)

func BenchmarkParse(b *testing.B) {
	benchmarks := []struct {
		name string
		src  string
	}{
		{"Simple", `status = error`},
		{"Typical", `prompt.version_id = "prv_2026_06_03_17" and status = error and duration > 2s`},
		{"Complex", `(tenant in ("t1","t2","t3") and model ~ "gpt-4.1*" and cost > 0.01) or ` +
			`(kind = tool and tool.name = "create_refund" and not error.type = "INVALID_ARGUMENT") or ` +
			`input contains "refund" and trace.status = degraded and http.route = "/refund"`},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.src)))
			for b.Loop() {
				if _, err := query.Parse(bm.src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
