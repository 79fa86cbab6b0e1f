package sample_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/sample"
)

// TestKnownMixDuckDB is the acceptance test against the real store
// and pipeline: 100k traces, 3% errors, canary label on 1%, a new prompt
// version mid-stream. Every error and canary trace is kept in full, normal
// traffic within 4 sigma of its rates, metadata-only traces have no
// payload, and the exact counters equal the true totals.
func TestKnownMixDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("100k traces through DuckDB")
	}
	ctx := t.Context()
	dir := t.TempDir()
	store, err := duckdb.Open(ctx, duckdb.Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pipe := ingest.New(store, ingest.Options{})
	defer pipe.Close(context.Background())
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	s, err := sample.New(ctx, sample.Options{Dir: filepath.Join(dir, "sampling"), Policy: sample.Production(),
		Next: pipe, Store: store, Now: clk.Now, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSampler(t, s)

	const n = 100_000
	isErr := func(i int) bool { return i%100 < 3 }
	isCanary := func(i int) bool { return i%100 == 50 }
	version := func(i int) string {
		if i >= n/2 {
			return "v2"
		}
		return "v1"
	}
	var wantReq, wantErr, wantInput int64
	var batch []loupe.Span
	for i := range n {
		label := ""
		if isCanary(i) {
			label = "canary"
		}
		batch = append(batch, makeTrace(i, clk.Now(), isErr(i), label, version(i))...)
		wantReq++
		wantInput += 100
		if isErr(i) {
			wantErr++
		}
		if len(batch) >= 300 {
			if err := s.Submit(ctx, loupe.Batch{Spans: batch}); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
		if i%5000 == 4999 {
			clk.Add(6 * time.Second)
			if err := s.Decide(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk.Add(6 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}

	ids := make([]loupe.TraceID, n)
	for i := range n {
		ids[i] = traceID(i)
	}
	decs := make(map[loupe.TraceID]loupe.Decision, n)
	for lo := 0; lo < n; lo += 1000 {
		m, err := store.Decisions(ctx, loupe.DefaultProject, ids[lo:min(lo+1000, n)])
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			decs[k] = v
		}
	}
	if len(decs) != n {
		t.Fatalf("decisions stored = %d, want %d", len(decs), n)
	}
	var full, meta, normal int
	checked := map[loupe.SampleClass]int{}
	for i := range n {
		d := decs[traceID(i)]
		if isErr(i) || isCanary(i) {
			if d.Sample.Class != loupe.SampleFull {
				t.Fatalf("trace %d (error %v, canary %v) = %+v, want full", i, isErr(i), isCanary(i), d.Sample)
			}
		}
		if d.Sample.Rule == "normal" {
			normal++
			switch d.Sample.Class {
			case loupe.SampleFull:
				full++
			case loupe.SampleMetadata:
				meta++
			}
		}
		// Read back a sample of traces of each class from the store.
		if checked[d.Sample.Class] < 100 && (i%7 == 0 || isErr(i)) {
			checked[d.Sample.Class]++
			tr, err := store.Trace(ctx, loupe.DefaultProject, traceID(i))
			switch d.Sample.Class {
			case loupe.SampleDropped:
				if err == nil {
					t.Errorf("dropped trace %d has %d spans stored", i, len(tr.Spans))
				}
			case loupe.SampleFull, loupe.SampleMetadata:
				if err != nil || len(tr.Spans) != 3 {
					t.Fatalf("trace %d (%s): %v, want 3 spans", i, d.Sample.Class, err)
				}
				for _, sp := range tr.Spans {
					if hasPayload := sp.Payload != nil; hasPayload != (d.Sample.Class == loupe.SampleFull && sp.Kind == loupe.KindLLM) {
						t.Errorf("trace %d (%s) span %s payload %v", i, d.Sample.Class, sp.Name, sp.Payload)
					}
					if sp.Sample.Class != d.Sample.Class {
						t.Errorf("trace %d span %s sample %+v, want class %s", i, sp.Name, sp.Sample, d.Sample.Class)
					}
				}
			}
		}
	}
	for _, c := range []struct {
		name string
		got  int
	}{{"full", full}, {"metadata", meta}} {
		mean, sd := float64(normal)*0.1, math.Sqrt(float64(normal)*0.1*0.9)
		if math.Abs(float64(c.got)-mean) > 4*sd {
			t.Errorf("normal traffic kept %s: %d of %d, want %.0f ± %.0f", c.name, c.got, normal, mean, 4*sd)
		}
	}
	t.Logf("normal traffic: %d traces, %d full, %d metadata-only", normal, full, meta)

	cs, err := store.Counters(ctx, query.CountersRequest{Project: loupe.DefaultProject, From: start.Add(-time.Hour), To: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var req, errs, input int64
	var cost float64
	for _, r := range cs.Rows {
		req, errs, input, cost = req+r.Requests, errs+r.Errors, input+r.InputTokens, cost+r.CostUSD
	}
	if req != wantReq || errs != wantErr || input != wantInput || math.Abs(cost-0.001*n) > 1e-6 {
		t.Errorf("counters = %d requests, %d errors, %d input tokens, $%.6f; want %d, %d, %d, $%.6f",
			req, errs, input, cost, wantReq, wantErr, wantInput, 0.001*n)
	}
	seg, _ := dirBytes(filepath.Join(dir, "db", duckdb.PayloadDir))
	t.Logf("payload segment bytes: %d", seg)
}

func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
