package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/server"
)

type noopIngester struct{}

func (noopIngester) Submit(context.Context, loupe.Batch) error { return nil }

// BenchmarkHandleTraces measures POST /v1/traces for one ~12-span support
// trace in protobuf, through the whole handler (read, decode, normalize,
// respond) with an ingester that stores nothing; DecodeOnly is the ceiling.
func BenchmarkHandleTraces(b *testing.B) {
	body := mustMarshal(b, supportTrace(12))
	for _, bc := range []struct {
		name string
		opts server.Options
		gzip bool
	}{
		{name: "Full"},
		{name: "FullGzip", gzip: true},
		{name: "DecodeOnly", opts: server.Options{DecodeOnly: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHandler(b, bc.opts, noopIngester{}, nil)
			payload, ce := body, ""
			if bc.gzip {
				payload, ce = gzipped(b, body), "gzip"
			}
			rd := bytes.NewReader(payload)
			req := httptest.NewRequest(http.MethodPost, "/v1/traces", rd)
			req.Header.Set("Content-Type", "application/x-protobuf")
			if ce != "" {
				req.Header.Set("Content-Encoding", ce)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(payload)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("POST /v1/traces = %d %q", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N*12)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
