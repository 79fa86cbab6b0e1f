package duckdb

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
)

// workloadPool returns the spans of nreq standard-workload requests (bench/
// workload, 10 traces each) normalized as the server does, grouped as one
// batch per request, and the OTLP protobuf bytes of those requests.
func workloadPool(tb testing.TB, seed uint64, nreq int) (batches []loupe.Batch, spans, otlpBytes int) {
	tb.Helper()
	g := benchwl.New(seed)
	norm := otlp.NewNormalizer(otlp.Options{})
	start := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	for i := range nreq {
		req := g.Request(10, start.Add(time.Duration(i)*time.Second))
		b, err := proto.Marshal(req)
		if err != nil {
			tb.Fatal(err)
		}
		otlpBytes += len(b)
		ss, rej := norm.Traces(loupe.DefaultProject, req, nil)
		if rej.Count > 0 {
			tb.Fatalf("normalizer rejected %d spans: %s", rej.Count, rej.Message)
		}
		spans += len(ss)
		batches = append(batches, loupe.Batch{Spans: ss})
	}
	return batches, spans, otlpBytes
}

// dirBytes returns the bytes of the regular files under dir.
func dirBytes(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkWriteWorkload measures Write with the real workload (bench/
// workload requests normalized by internal/otlp, 10 traces of 12 spans per
// request) in group commits of 40 requests (4,800 spans), the size the
// ingest pipeline reaches under load. Each request is prepared (Prepare, as
// the pipeline does in the submitters' goroutines) and the group written
// with WritePrepared. It reports wall spans/s, CPU µs per span of the whole
// process (rusage: DuckDB's threads included, the final checkpoint of Close
// included), the wall µs per span of WritePrepared alone (the serialized
// part: the pipeline's writer goroutine), and the data directory's bytes
// after Close against the OTLP protobuf bytes of the same requests.
// LOUPE_BENCH_PERWRITE=N writes groups of N requests instead, to measure
// the fixed cost of a write (15 requests is the server's mean group at
// concurrency 32).
//
//	go test -run='^$' -bench=WriteWorkload -benchtime=100x ./internal/duckdb
func BenchmarkWriteWorkload(b *testing.B) {
	perWrite := 40 // requests
	if v := os.Getenv("LOUPE_BENCH_PERWRITE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("LOUPE_BENCH_PERWRITE=%q: want a positive number of requests", v)
		}
		perWrite = n
	}
	pool, poolSpans, poolOTLP := workloadPool(b, 1, max(8*40, 3*perWrite))
	dir := b.TempDir()
	s, err := Open(b.Context(), Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if q := os.Getenv("LOUPE_BENCH_SQL"); q != "" { // compare settings, e.g. "SET checkpoint_threshold = '256MB'"
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			b.Fatalf("LOUPE_BENCH_SQL: %v", err)
		}
	}
	// LOUPE_BENCH_NOFTS=1 skips full-text indexing, to measure its cost.
	s.fts.off = os.Getenv("LOUPE_BENCH_NOFTS") != ""
	b.ReportAllocs()
	written, writes, cycle := 0, 0, 0
	var serial, serialCPU time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	preps := make([]any, perWrite)
	cpu0, t0 := cpuTime(), time.Now()
	for b.Loop() {
		off := (writes % (len(pool) / perWrite)) * perWrite
		if off == 0 && writes > 0 {
			cycle++ // new trace ids for the next pass over the pool
			for i := range pool {
				for j := range pool[i].Spans {
					pool[i].Spans[j].TraceID[0] ^= byte(cycle)
					pool[i].Spans[j].TraceID[1] ^= byte(cycle >> 8)
				}
			}
		}
		chunk := pool[off : off+perWrite]
		for i := range chunk {
			if preps[i], err = s.Prepare(chunk[i]); err != nil {
				b.Fatal(err)
			}
		}
		ts, tc := time.Now(), threadCPUTime()
		if err := s.WritePrepared(ctx, preps); err != nil {
			b.Fatal(err)
		}
		serial += time.Since(ts)
		serialCPU += threadCPUTime() - tc
		for i := range chunk {
			written += len(chunk[i].Spans)
		}
		writes++
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	b.ReportMetric(float64(written)/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(written), "cpu-µs/span")
	b.ReportMetric(float64(serial.Microseconds())/float64(written), "write-µs/span")
	b.ReportMetric(float64(serialCPU.Microseconds())/float64(written), "write-cpu-µs/span")
	otlpBytes := float64(poolOTLP) / float64(poolSpans) * float64(written)
	disk := dirBytes(b, dir)
	b.ReportMetric(float64(dirBytes(b, filepath.Join(dir, PayloadDir)))/float64(written), "payload-B/span")
	b.ReportMetric(float64(disk)/float64(written), "disk-B/span")
	b.ReportMetric(otlpBytes/float64(written), "otlp-B/span")
	b.ReportMetric(float64(disk)/otlpBytes, "disk/otlp")
}
