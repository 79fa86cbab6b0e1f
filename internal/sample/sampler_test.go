package sample_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func closeSampler(t *testing.T, s *sample.Sampler) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestSamplerKnownMix(t *testing.T) {
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := openSampler(t, t.TempDir(), st, clk, sample.Production())
	defer closeSampler(t, s)
	ctx := t.Context()

	const n = 20_000
	var wantErr, wantReq int64
	isErr := func(i int) bool { return i%33 == 0 }
	isCanary := func(i int) bool { return i%100 == 7 }
	for i := range n {
		label := ""
		if isCanary(i) {
			label = "canary"
		}
		version := "v1"
		if i == n/2 {
			version = "v2" // a new prompt version mid-stream: the first 100 of it are kept
		}
		if i > n/2 && i < n/2+150 {
			version = "v2"
		}
		if isErr(i) {
			wantErr++
		}
		wantReq++
		if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(i, clk.Now(), isErr(i), label, version)}); err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if i%1000 == 999 {
			clk.Add(6 * time.Second)
			if err := s.Decide(ctx); err != nil {
				t.Fatalf("Decide: %v", err)
			}
		}
	}
	clk.Add(6 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatalf("Decide: %v", err)
	}

	full, meta, v2 := 0, 0, 0
	for i := range n {
		id := traceID(i)
		d, ok := st.decisions[id]
		if !ok {
			t.Fatalf("trace %d: no decision", i)
		}
		spans := st.spans[id]
		if isErr(i) || isCanary(i) {
			if d.Sample.Class != loupe.SampleFull || len(spans) != 3 {
				t.Errorf("trace %d (error %v, canary %v): %v with %d spans, want full with 3", i, isErr(i), isCanary(i), d.Sample, len(spans))
			}
			continue
		}
		if d.Sample.Rule == "new_prompt_version" {
			v2++
			continue
		}
		switch d.Sample.Class {
		case loupe.SampleFull:
			full++
			if len(spans) != 3 {
				t.Errorf("trace %d full with %d spans", i, len(spans))
			}
		case loupe.SampleMetadata:
			meta++
			for _, sp := range spans {
				if sp.Payload != nil {
					t.Errorf("trace %d metadata-only span %s has a payload", i, sp.Name)
				}
			}
		case loupe.SampleDropped:
			if len(spans) != 0 {
				t.Errorf("trace %d dropped but %d spans written", i, len(spans))
			}
		}
	}
	if v2 != 200 { // the first 100 of v1 (new at start) and of v2
		t.Errorf("new prompt version: %d traces kept by its rule, want 200", v2)
	}
	normal := float64(n - int(wantErr) - 200 - 200) // about the population of the normal rule
	for _, c := range []struct {
		name string
		got  int
		rate float64
	}{{"full", full, 0.10}, {"metadata", meta, 0.10}} {
		mean := normal * c.rate
		sd := math.Sqrt(normal * c.rate * (1 - c.rate))
		if math.Abs(float64(c.got)-mean) > 4*sd+5 {
			t.Errorf("normal traffic kept %s: %d, want %.0f ± %.0f (4 sigma)", c.name, c.got, mean, 4*sd)
		}
	}
	req, errs, input, cost := st.total()
	if req != wantReq || errs != wantErr || input != 100*n || math.Abs(cost-0.001*n) > 1e-6 {
		t.Errorf("counters = %d requests, %d errors, %d input tokens, $%.4f; want %d, %d, %d, $%.4f",
			req, errs, input, cost, wantReq, wantErr, 100*n, 0.001*n)
	}
}

func TestSamplerLateSpanFollowsDecision(t *testing.T) {
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := openSampler(t, t.TempDir(), st, clk, sample.Production())
	defer closeSampler(t, s)
	ctx := t.Context()
	spans := makeTrace(1, clk.Now(), true, "", "v1")
	if err := s.Submit(ctx, loupe.Batch{Spans: spans[1:]}); err != nil {
		t.Fatal(err)
	}
	clk.Add(4 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.decisions) != 0 {
		t.Fatalf("decided before the grace period ended")
	}
	clk.Add(2 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if d := st.decisions[traceID(1)]; d.Sample.Class != loupe.SampleFull {
		t.Fatalf("decision = %+v, want full", d)
	}
	// The late LLM span follows the decision; its tokens are counted, the
	// request is not counted twice.
	if err := s.Submit(ctx, loupe.Batch{Spans: spans[:1]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(st.spans[traceID(1)]); got != 3 {
		t.Errorf("stored spans = %d, want 3", got)
	}
	if req, _, input, _ := st.total(); req != 1 || input != 100 {
		t.Errorf("counters = %d requests, %d input tokens; want 1, 100", req, input)
	}
	ex, err := s.Explain(ctx, loupe.DefaultProject, traceID(1))
	if err != nil || ex.State != "decided" || ex.Sample.Rule != "errors" {
		t.Errorf("Explain = %+v, %v; want decided by errors", ex, err)
	}
}

func TestSamplerTimeoutWithoutRoot(t *testing.T) {
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := openSampler(t, t.TempDir(), st, clk, sample.Production())
	defer closeSampler(t, s)
	ctx := t.Context()
	spans := makeTrace(2, clk.Now(), true, "", "v1")
	if err := s.Submit(ctx, loupe.Batch{Spans: spans[:2]}); err != nil { // no root
		t.Fatal(err)
	}
	clk.Add(59 * time.Second)
	s.Decide(ctx)
	if len(st.decisions) != 0 {
		t.Fatalf("decided before the timeout")
	}
	clk.Add(2 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.decisions[traceID(2)]; !ok {
		t.Fatalf("no decision after the timeout")
	}
}

// TestSamplerRestart checks that acknowledged spans awaiting a decision
// survive a restart (the pending log), and that a trace decided before the
// restart is not written twice.
func TestSamplerRestart(t *testing.T) {
	dir := t.TempDir()
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	ctx := t.Context()
	s := openSampler(t, dir, st, clk, sample.Production())
	if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(1, clk.Now(), true, "", "v1")}); err != nil {
		t.Fatal(err)
	}
	clk.Add(6 * time.Second)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	// Trace 2 is acknowledged, plus a late span of trace 1 whose write the
	// crash interrupts (the store fails), then the process stops.
	late := makeTrace(1, clk.Now(), true, "", "v1")[0]
	late.SpanID = loupe.SpanID{9, 9}
	if err := s.Submit(ctx, loupe.Batch{Spans: append(makeTrace(2, clk.Now(), true, "", "v1"), late)}); err != nil {
		t.Fatal(err)
	}
	closeSampler(t, s)
	if st.writes != 1 {
		t.Fatalf("writes before restart = %d, want 1", st.writes)
	}

	clk.Add(10 * time.Second)
	s = openSampler(t, dir, st, clk, sample.Production())
	defer closeSampler(t, s)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(st.spans[traceID(1)]); got != 4 {
		t.Errorf("trace 1: %d spans stored, want 4 (3 + the late one, no duplicates)", got)
	}
	if got := len(st.spans[traceID(2)]); got != 3 {
		t.Errorf("trace 2: %d spans stored, want 3", got)
	}
	if req, _, _, _ := st.total(); req != 2 {
		t.Errorf("requests counted = %d, want 2", req)
	}
	// Once everything is decided and written, the log keeps only its
	// current (empty) file.
	files, _ := filepath.Glob(filepath.Join(dir, "pending", "*.pending"))
	if len(files) != 1 {
		t.Errorf("pending log files = %v, want just the current one", files)
	}
}

func TestSamplerOverloaded(t *testing.T) {
	st := newMemStore()
	st.fail = errors.New("disk full")
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s, err := sample.New(t.Context(), sample.Options{Dir: t.TempDir(), Policy: sample.Production(), Next: st, Store: st,
		Now: clk.Now, MaxSpans: 6, MaxWait: 10 * time.Millisecond, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSampler(t, s)
	for i := range 2 {
		if err := s.Submit(t.Context(), loupe.Batch{Spans: makeTrace(i, clk.Now(), false, "", "")}); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	err = s.Submit(t.Context(), loupe.Batch{Spans: makeTrace(3, clk.Now(), false, "", "")})
	if !errors.Is(err, loupe.ErrOverloaded) {
		t.Errorf("Submit past MaxSpans = %v, want ErrOverloaded", err)
	}
}

func TestBoosts(t *testing.T) {
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	s := openSampler(t, dir, st, clk, sample.Production())
	tests := []struct {
		name string
		b    sample.Boost
		ok   bool
	}{
		{"OK", sample.Boost{Tenant: "t1", Rate: 1, Until: clk.Now().Add(time.Hour)}, true},
		{"PastExpiry", sample.Boost{Tenant: "t1", Rate: 1, Until: clk.Now().Add(-time.Second)}, false},
		{"NoSelector", sample.Boost{Rate: 1, Until: clk.Now().Add(time.Hour)}, false},
		{"BadRate", sample.Boost{Route: "/x", Rate: 1.5, Until: clk.Now().Add(time.Hour)}, false},
	}
	var id string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.AddBoost(loupe.DefaultProject, tt.b)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, loupe.ErrInvalid)) {
				t.Fatalf("AddBoost(%+v) = %v, want ok %v or ErrInvalid", tt.b, err, tt.ok)
			}
			if tt.ok {
				id = b.ID
			}
		})
	}
	// Boosted tenant t1: every normal trace kept in full.
	ctx := t.Context()
	for i := range 50 {
		if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(i, clk.Now(), false, "", "")}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(6 * time.Second)
	s.Decide(ctx)
	for i := range 50 {
		if d := st.decisions[traceID(i)]; d.Sample.Class != loupe.SampleFull || d.Sample.Rule != "boosts" || d.Sample.Weight != 1 {
			t.Fatalf("boosted trace %d: %+v, want full by boosts with weight 1", i, d.Sample)
		}
	}
	closeSampler(t, s)
	// Boosts survive a restart, expire by themselves and can be revoked.
	s = openSampler(t, dir, st, clk, sample.Production())
	defer closeSampler(t, s)
	if got := s.Boosts(loupe.DefaultProject); len(got) != 1 || got[0].ID != id {
		t.Fatalf("Boosts after restart = %+v, want %s", got, id)
	}
	if err := s.RevokeBoost(loupe.DefaultProject, "bst_nope"); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("RevokeBoost(unknown) = %v, want ErrNotFound", err)
	}
	clk.Add(2 * time.Hour)
	if got := s.Boosts(loupe.DefaultProject); len(got) != 0 {
		t.Errorf("Boosts after expiry = %+v, want none", got)
	}
}

func TestHashDeterministicAndUniform(t *testing.T) {
	const n = 100_000
	in := 0
	for i := range n {
		id := traceID(i) // sequential ids: the hash must still spread them
		u := sample.Hash(id)
		if u != sample.Hash(id) || u < 0 || u >= 1 {
			t.Fatalf("Hash(%s) = %v: not deterministic or out of [0,1)", id, u)
		}
		if u < 0.1 {
			in++
		}
	}
	sd := math.Sqrt(n * 0.1 * 0.9)
	if math.Abs(float64(in)-n*0.1) > 4*sd {
		t.Errorf("%d of %d hashes < 0.1, want %v ± %.0f", in, n, n*0.1, 4*sd)
	}
}

func TestPendingLogSurvivesTornTail(t *testing.T) {
	dir := t.TempDir()
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := openSampler(t, dir, st, clk, sample.Production())
	if err := s.Submit(t.Context(), loupe.Batch{Spans: makeTrace(5, clk.Now(), true, "", "")}); err != nil {
		t.Fatal(err)
	}
	closeSampler(t, s)
	files, _ := filepath.Glob(filepath.Join(dir, "pending", "*.pending"))
	f, err := os.OpenFile(files[len(files)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 1, 0, 1, 2}) // a torn header: never acknowledged
	f.Close()
	clk.Add(10 * time.Second)
	s = openSampler(t, dir, st, clk, sample.Production())
	defer closeSampler(t, s)
	if err := s.Decide(t.Context()); err != nil {
		t.Fatal(err)
	}
	sp := st.spans[traceID(5)]
	if len(sp) != 3 {
		t.Fatalf("spans after replay = %d, want 3", len(sp))
	}
	for _, x := range sp {
		if x.Name == "tool" {
			if _, ok := x.Attributes["n"].(int64); !ok {
				t.Errorf("attribute n = %T after replay, want int64", x.Attributes["n"])
			}
			if _, ok := x.Attributes["f"].(float64); !ok {
				t.Errorf("attribute f = %T after replay, want float64", x.Attributes["f"])
			}
		}
	}
}
