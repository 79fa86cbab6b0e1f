package duckdb

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// truth is the true totals of one group.
type truth struct {
	n, errs, in, out int64
	cost             float64
}

func (a *truth) add(b truth) {
	a.n += b.n
	a.errs += b.errs
	a.in += b.in
	a.out += b.out
	a.cost += b.cost
}

// sampledMix writes n traces of a known mix through a hand-made sampler:
// errors (every 33rd trace) kept in full with weight 1, other traces kept in
// full below 10%, as metadata below 20% (weight 5), dropped otherwise, each
// with its decision and pre-sampling count. It returns the true totals by
// (tenant, model) and the number of kept traces.
func sampledMix(t *testing.T, s *Store, n int) (map[[2]string]truth, int) {
	t.Helper()
	truths := map[[2]string]truth{}
	kept := 0
	var b loupe.Batch
	for i := range n {
		var id loupe.TraceID
		binary.BigEndian.PutUint64(id[:8], uint64(i+1)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(id[8:], uint64(i+1))
		start := t0.Add(time.Duration(i) * 50 * time.Millisecond) // n=2000 spans 100 s: two minutes
		tenant := []string{"t1", "t2", "t3"}[i%3]
		model := []string{"m1", "m2"}[i%2]
		failed := i%33 == 0
		dur := time.Duration(100+i%900) * time.Millisecond
		in, out, cost := int64(100+i%50), int64(10+i%7), float64(i%11)*0.001
		root := loupe.Span{Project: "p", TraceID: id, SpanID: loupe.SpanID{7: 1}, Name: "req", Kind: loupe.KindRequest,
			Status: loupe.StatusOK, Start: start, End: start.Add(dur), Tenant: tenant, PromptVersionID: "pv" + tenant,
			Environment: "production"}
		llm := loupe.Span{Project: "p", TraceID: id, SpanID: loupe.SpanID{7: 2}, ParentSpanID: root.SpanID, Name: "llm",
			Kind: loupe.KindLLM, Status: loupe.StatusOK, Start: start, End: start.Add(dur / 2), RequestModel: model,
			Usage: loupe.Usage{Input: in, Output: out}, CostUSD: cost, Payload: &loupe.Payload{InputValue: "hello"}}
		if failed {
			root.Status = loupe.StatusError
		}
		tr := truth{n: 1, in: in, out: out, cost: cost}
		if failed {
			tr.errs = 1
		}
		g := truths[[2]string{tenant, model}]
		g.add(tr)
		truths[[2]string{tenant, model}] = g

		u := float64(binary.BigEndian.Uint64(id[:8])>>11) / (1 << 53)
		var smp loupe.Sample
		switch {
		case failed:
			smp = loupe.Sample{Class: loupe.SampleFull, Weight: 1, Rule: "errors"}
		case u < 0.1:
			smp = loupe.Sample{Class: loupe.SampleFull, Weight: 5, Rule: "normal"}
		case u < 0.2:
			smp = loupe.Sample{Class: loupe.SampleMetadata, Weight: 5, Rule: "normal"}
		default:
			smp = loupe.Sample{Class: loupe.SampleDropped, Rule: "normal"}
		}
		b.Decisions = append(b.Decisions, loupe.Decision{Project: "p", TraceID: id, Sample: smp, Decided: start})
		b.Counts = append(b.Counts, loupe.Count{Project: "p", Minute: start.Truncate(time.Minute),
			PromptVersionID: root.PromptVersionID, Model: model, Tenant: tenant, Environment: "production",
			Requests: 1, Errors: tr.errs, InputTokens: in, OutputTokens: out, CostUSD: cost})
		if smp.Class != loupe.SampleDropped {
			root.Sample, llm.Sample = smp, smp
			if smp.Class == loupe.SampleMetadata {
				llm.Payload = nil
			}
			b.Spans = append(b.Spans, root, llm)
			kept++
		}
		if len(b.Counts) == 500 {
			writeIndexed(t, s, []loupe.Batch{b})
			b = loupe.Batch{}
		}
	}
	writeIndexed(t, s, []loupe.Batch{b})
	return truths, kept
}

func mustField(t *testing.T, name string) query.Field {
	t.Helper()
	f, err := query.ParseField(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustFilter(t *testing.T, s string) query.Expr {
	t.Helper()
	if s == "" {
		return nil
	}
	e, err := query.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestStatsSampledExact checks that stats over sampled traces report the
// true totals exactly when they group and filter by counter dimensions.
func TestStatsSampledExact(t *testing.T) {
	s := openSearch(t)
	truths, kept := sampledMix(t, s, 2000)
	if kept >= 1000 || kept < 200 {
		t.Fatalf("kept %d of 2000 traces: the mix does not sample as intended", kept)
	}
	tests := []struct {
		name   string
		by     string
		filter string
		key    func(tenant, model string) (group string, ok bool)
	}{
		{"ByTenant", "tenant", "", func(te, _ string) (string, bool) { return te, true }},
		{"ByModelFiltered", "model", `tenant in ("t1", "t2")`, func(te, m string) (string, bool) { return m, te != "t3" }},
		{"ByPromptVersion", "prompt.version_id", `model = "m1"`, func(te, m string) (string, bool) { return "pv" + te, m == "m1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]truth{}
			for k, v := range truths {
				if g, ok := tt.key(k[0], k[1]); ok {
					w := want[g]
					w.add(v)
					want[g] = w
				}
			}
			f := mustField(t, tt.by)
			st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", From: t0.Add(-time.Minute), To: t0.Add(time.Hour),
				By: []query.Field{f}, Filter: mustFilter(t, tt.filter)})
			if err != nil {
				t.Fatalf("Stats() = %v", err)
			}
			if len(st.Rows) != len(want) {
				t.Fatalf("Stats() has %d groups, want %d: %+v", len(st.Rows), len(want), st.Rows)
			}
			for _, r := range st.Rows {
				w := want[r.Group[f.Name]]
				if r.Count != w.n || r.Errors != w.errs || r.InputTokens != w.in || r.OutputTokens != w.out ||
					math.Abs(r.CostUSD-w.cost) > 1e-9 {
					t.Errorf("group %s: count, errors, in, out, cost = %d %d %d %d %g, want %d %d %d %d %g (exact)",
						r.Group, r.Count, r.Errors, r.InputTokens, r.OutputTokens, r.CostUSD, w.n, w.errs, w.in, w.out, w.cost)
				}
				if !slices.Equal(r.Estimated, []string{"p50_ms", "p95_ms", "p99_ms"}) || len(r.ErrorBounds) != 0 {
					t.Errorf("group %s: estimated %v bounds %v, want only the percentiles estimated", r.Group, r.Estimated, r.ErrorBounds)
				}
				if r.P50Ms < 100 || r.P50Ms > 1000 || r.P99Ms < r.P50Ms {
					t.Errorf("group %s: p50 %g p99 %g, want weighted percentiles within the 100-1000 ms durations", r.Group, r.P50Ms, r.P99Ms)
				}
			}
		})
	}

	t.Run("Counters", func(t *testing.T) {
		c, err := s.Counters(t.Context(), query.CountersRequest{Project: "p", From: t0.Add(30 * time.Second), To: t0.Add(time.Hour),
			By: []query.Field{mustField(t, "tenant"), mustField(t, "model")}, Interval: time.Hour})
		if err != nil {
			t.Fatalf("Counters() = %v", err)
		}
		if len(c.Rows) != len(truths) || len(c.Notes) == 0 {
			t.Fatalf("Counters() = %d rows, notes %q; want %d rows and an alignment note", len(c.Rows), c.Notes, len(truths))
		}
		for _, r := range c.Rows {
			w := truths[[2]string{r.Group["tenant"], r.Group["model"]}]
			if r.Requests != w.n || r.Errors != w.errs || r.InputTokens != w.in || r.OutputTokens != w.out || math.Abs(r.CostUSD-w.cost) > 1e-9 {
				t.Errorf("counters %v = %+v, want %+v", r.Group, r, w)
			}
		}
		if _, err := s.Counters(t.Context(), query.CountersRequest{Project: "p", From: t0, To: t0.Add(time.Hour),
			By: []query.Field{mustField(t, "kind")}}); !isInvalidErr(err) {
			t.Errorf("Counters(by kind) = %v, want ErrInvalid", err)
		}
	})

	t.Run("Estimated", func(t *testing.T) {
		// A filter on a non-counter field: weighted estimates with bounds.
		var all truth
		for _, v := range truths {
			all.add(v)
		}
		st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", From: t0.Add(-time.Minute), To: t0.Add(time.Hour),
			Filter: mustFilter(t, "kind = request")})
		if err != nil {
			t.Fatalf("Stats() = %v", err)
		}
		if len(st.Rows) != 1 {
			t.Fatalf("Stats() = %+v, want one row", st.Rows)
		}
		r := st.Rows[0]
		if !slices.Contains(r.Estimated, "count") || r.ErrorBounds["count"] <= 0 {
			t.Fatalf("estimated %v bounds %v, want count estimated with a bound", r.Estimated, r.ErrorBounds)
		}
		// Errors are kept with weight 1: their total is exact; the count is
		// within 4 sigma (the bound is 1.96 sigma) of the truth.
		if r.Errors != all.errs {
			t.Errorf("errors = %d, want %d (every error kept with weight 1)", r.Errors, all.errs)
		}
		if d, lim := math.Abs(float64(r.Count-all.n)), r.ErrorBounds["count"]*4/1.96; d > lim {
			t.Errorf("count = %d, true %d: off by %g, more than 4 sigma (%g)", r.Count, all.n, d, lim)
		}
		// Positive control: the unweighted number of kept traces is far
		// outside that bound.
		if d, lim := math.Abs(float64(kept)-float64(all.n)), r.ErrorBounds["count"]*4/1.96; d <= lim {
			t.Errorf("kept count %d is within the bound %g of %d: the check could not fail", kept, lim, all.n)
		}
	})
}

// TestStatsSampledMixedEra checks that traces stored with sampling off
// (no counters) add to the exact totals of a sampled range.
func TestStatsSampledMixedEra(t *testing.T) {
	s := openSearch(t)
	truths, _ := sampledMix(t, s, 300)
	var all truth
	for _, v := range truths {
		all.add(v)
	}
	start := t0.Add(10 * time.Minute)
	off := loupe.Span{Project: "p", TraceID: loupe.TraceID{0: 0xEE, 15: 1}, SpanID: loupe.SpanID{7: 1}, Name: "req",
		Kind: loupe.KindLLM, Status: loupe.StatusError, Start: start, End: start.Add(time.Second), Tenant: "t1",
		Usage: loupe.Usage{Input: 1000, Output: 100}, CostUSD: 1}
	writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{off}}})
	st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", From: t0.Add(-time.Minute), To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatalf("Stats() = %v", err)
	}
	if len(st.Rows) != 1 {
		t.Fatalf("Stats() = %+v, want one row", st.Rows)
	}
	r := st.Rows[0]
	if r.Count != all.n+1 || r.Errors != all.errs+1 || r.InputTokens != all.in+1000 || math.Abs(r.CostUSD-all.cost-1) > 1e-9 {
		t.Errorf("totals = %d %d %d %g, want %d %d %d %g", r.Count, r.Errors, r.InputTokens, r.CostUSD,
			all.n+1, all.errs+1, all.in+1000, all.cost+1)
	}
}
