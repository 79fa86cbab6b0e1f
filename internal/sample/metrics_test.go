package sample_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

// gathered is one scrape: metric name -> label string -> value (counter,
// gauge) or, for histograms, the sample count under "count" and sum under
// "sum".
type gathered map[string]map[string]float64

func gather(t *testing.T, reg *prometheus.Registry) gathered {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := gathered{}
	for _, mf := range mfs {
		vals := map[string]float64{}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, lp := range m.GetLabel() {
				key += lp.GetName() + "=" + lp.GetValue() + ","
			}
			switch mf.GetType().String() {
			case "COUNTER":
				vals[key] = m.GetCounter().GetValue()
			case "GAUGE":
				vals[key] = m.GetGauge().GetValue()
			case "HISTOGRAM":
				vals["count"] = float64(m.GetHistogram().GetSampleCount())
				vals["sum"] = m.GetHistogram().GetSampleSum()
			}
		}
		out[mf.GetName()] = vals
	}
	return out
}

// one returns the value of an unlabelled metric.
func (g gathered) one(name string) float64 { return g[name][""] }

// logBytesOnDisk sums the sizes of the pending log files.
func logBytesOnDisk(t *testing.T, dir string) float64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "pending"))
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	return float64(total)
}

func openMetered(t *testing.T, dir string, st *memStore, clk *clock, opts sample.Options) (*sample.Sampler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Dir, opts.Policy, opts.Next, opts.Store, opts.Now = dir, sample.Production(), st, st, clk.Now
	opts.Grace, opts.Timeout, opts.Tick, opts.Registerer = 5*time.Second, 60*time.Second, time.Hour, reg
	s, err := sample.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, reg
}

func TestMetrics(t *testing.T) {
	t.Run("DecisionsPendingLagLate", func(t *testing.T) {
		st := newMemStore()
		clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		dir := t.TempDir()
		// Small log files, so decided files are deleted and the log
		// gauge must go down.
		s, reg := openMetered(t, dir, st, clk, sample.Options{LogFileBytes: 4 << 10})
		defer closeSampler(t, s)
		ctx := t.Context()
		const n = 300
		for i := range n {
			if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(i, clk.Now(), i%10 == 0, "", "v1")}); err != nil {
				t.Fatalf("Submit: %v", err)
			}
		}
		g := gather(t, reg)
		if got := g.one("loupe_sampling_pending_traces"); got != n {
			t.Errorf("pending traces = %v, want %d", got, n)
		}
		if got := g.one("loupe_sampling_pending_spans"); got != 3*n {
			t.Errorf("pending spans = %v, want %d", got, 3*n)
		}
		before := g.one("loupe_sampling_pending_log_bytes")
		if want := logBytesOnDisk(t, dir); before != want || before == 0 {
			t.Errorf("pending log bytes = %v, want %v on disk (non-zero)", before, want)
		}

		clk.Add(7 * time.Second)
		if err := s.Decide(ctx); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		g = gather(t, reg)
		if got := g.one("loupe_sampling_pending_traces"); got != 0 {
			t.Errorf("pending traces after decision = %v, want 0", got)
		}
		if got := g.one("loupe_sampling_pending_spans"); got != 0 {
			t.Errorf("pending spans after decision = %v, want 0", got)
		}
		after := g.one("loupe_sampling_pending_log_bytes")
		if want := logBytesOnDisk(t, dir); after != want || after >= before {
			t.Errorf("pending log bytes after decision = %v, want %v on disk and < %v", after, want, before)
		}
		want := map[string]float64{}
		for _, d := range st.decisions {
			want["class="+string(d.Sample.Class)+",rule="+d.Sample.Rule+","]++
		}
		if diff := cmp.Diff(want, g["loupe_sampling_decided_traces_total"]); diff != "" {
			t.Errorf("decided traces by class and rule (-store +metric):\n%s", diff)
		}
		if got := want["class=full,rule=errors,"]; got != n/10 {
			t.Errorf("error traces kept in full = %v, want %d", got, n/10)
		}
		lag := g["loupe_sampling_decision_lag_seconds"]
		if lag["count"] != n || lag["sum"] != 7*n {
			t.Errorf("decision lag count, sum = %v, %v; want %d, %d (each trace 7s)", lag["count"], lag["sum"], n, 7*n)
		}
		if got := g.one("loupe_sampling_late_spans_total"); got != 0 {
			t.Errorf("late spans = %v before any, want 0", got)
		}

		// A late span of a decided trace.
		lateSpan := makeTrace(1, clk.Now(), false, "", "v1")[0]
		lateSpan.SpanID = loupe.SpanID{9, 9, 9}
		if err := s.Submit(ctx, loupe.Batch{Spans: []loupe.Span{lateSpan}}); err != nil {
			t.Fatalf("Submit late: %v", err)
		}
		if err := s.Decide(ctx); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		g = gather(t, reg)
		if got := g.one("loupe_sampling_late_spans_total"); got != 1 {
			t.Errorf("late spans = %v, want 1", got)
		}
		if got := g["loupe_sampling_decision_lag_seconds"]["count"]; got != n {
			t.Errorf("decision lag count = %v after a late span, want %d (late spans decide nothing)", got, n)
		}
	})

	t.Run("EarlyDecisions", func(t *testing.T) {
		st := newMemStore()
		clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		s, reg := openMetered(t, t.TempDir(), st, clk, sample.Options{MaxSpans: 40})
		defer closeSampler(t, s)
		ctx := t.Context()
		for i := range 11 { // 33 spans > 3/4 of 40
			if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(i, clk.Now(), false, "", "v1")}); err != nil {
				t.Fatalf("Submit: %v", err)
			}
		}
		if got := gather(t, reg).one("loupe_sampling_decided_early_total"); got != 0 {
			t.Fatalf("early decisions = %v before a round, want 0", got)
		}
		if err := s.Decide(ctx); err != nil { // no time passed: only memory pressure decides
			t.Fatalf("Decide: %v", err)
		}
		got := gather(t, reg).one("loupe_sampling_decided_early_total")
		if want := float64(s.Stats().Early); got != want || got == 0 {
			t.Errorf("early decisions = %v, want %v (non-zero)", got, want)
		}
	})

	t.Run("Overload", func(t *testing.T) {
		st := newMemStore()
		st.fail = errors.New("store down") // nothing decided can be written, so nothing is freed
		clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		s, reg := openMetered(t, t.TempDir(), st, clk, sample.Options{MaxSpans: 6, MaxWait: 20 * time.Millisecond})
		defer closeSampler(t, s)
		ctx := t.Context()
		for i := range 2 {
			if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(i, clk.Now(), false, "", "v1")}); err != nil {
				t.Fatalf("Submit: %v", err)
			}
		}
		if got := gather(t, reg).one("loupe_sampling_overloaded_total"); got != 0 {
			t.Fatalf("overload refusals = %v before any, want 0", got)
		}
		err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(2, clk.Now(), false, "", "v1")})
		if !errors.Is(err, loupe.ErrOverloaded) {
			t.Fatalf("Submit past the limit = %v, want ErrOverloaded", err)
		}
		if got := gather(t, reg).one("loupe_sampling_overloaded_total"); got != 1 {
			t.Errorf("overload refusals = %v, want 1", got)
		}
		st.mu.Lock()
		st.fail = nil
		st.mu.Unlock()
	})
}
