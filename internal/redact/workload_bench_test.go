package redact_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
)

// workloadBatches returns nreq standard-workload requests (bench/workload,
// 10 traces of 12 spans each) normalized as the server does, one batch per
// request, and the bytes of their JSON form (a proxy for the text scanned).
func workloadBatches(tb testing.TB, seed uint64, nreq int) ([]loupe.Batch, int, int) {
	tb.Helper()
	g := benchwl.New(seed)
	norm := otlp.NewNormalizer(otlp.Options{})
	start := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	var out []loupe.Batch
	spans, size := 0, 0
	for i := range nreq {
		ss, rej := norm.Traces(loupe.DefaultProject, g.Request(10, start.Add(time.Duration(i)*time.Second)), nil)
		if rej.Count > 0 {
			tb.Fatalf("normalizer rejected %d spans: %s", rej.Count, rej.Message)
		}
		b := loupe.Batch{Spans: ss}
		js, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		spans += len(ss)
		size += len(js)
		out = append(out, b)
	}
	return out, spans, size
}

// BenchmarkRedactWorkload measures Engine.Batch, default rules, over the
// standard workload's spans: every canonical string, attribute and payload
// (system prompt, retrieved snippets, messages with personal data, tool
// calls). Each iteration redacts one fresh request of 120 spans; pools of
// fresh requests are normalized with the timer stopped. MB/s is over the
// spans' JSON size.
//
//	go test -run='^$' -bench=RedactWorkload -benchtime=2000x ./internal/redact
func BenchmarkRedactWorkload(b *testing.B) {
	const pool = 100
	e := mustOpen(b, "")
	batches, spans, size := workloadBatches(b, 1, pool)
	b.SetBytes(int64(size / pool))
	b.ReportAllocs()
	seed, i := uint64(1), 0
	n := 0
	for b.Loop() {
		if i == len(batches) {
			b.StopTimer()
			seed++
			batches, _, _ = workloadBatches(b, seed, pool)
			i = 0
			b.StartTimer()
		}
		e.Batch(&batches[i])
		i++
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*spans/pool), "ns/span")
}

// BenchmarkRedactWorkloadRedacted is the same batches after redaction: the
// clean path (nothing left to find), which must not allocate.
func BenchmarkRedactWorkloadRedacted(b *testing.B) {
	e := mustOpen(b, "")
	batches, spans, size := workloadBatches(b, 1, 20)
	for i := range batches {
		e.Batch(&batches[i])
	}
	b.SetBytes(int64(size / len(batches)))
	b.ReportAllocs()
	i, n := 0, 0
	for b.Loop() {
		e.Batch(&batches[i%len(batches)])
		i++
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*spans/len(batches)), "ns/span")
}
