package duckdb

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// aggregatePlan is the plain plan: every part of the range aggregated by
// trace id, kept when the trace starts in w and has a span satisfying the
// filter (what tracePlan computed before it read single parts as they are).
func aggregatePlan(project string, w window, filter string, fargs []any, usesTrace, hasFilter bool) plan {
	lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
	var p plan
	p.ctes = append(p.ctes, "tall AS ("+fmt.Sprintf(traceAggSQL,
		`trace_parts WHERE project = ? AND start_ns >= ? AND start_ns < ?`)+")")
	p.args = append(p.args, project, lo, hi, w.from, w.to)
	if !hasFilter {
		p.ctes = append(p.ctes, `t AS (SELECT * FROM tall)`)
		return p
	}
	p.ctes = append(p.ctes, `hits AS (SELECT DISTINCT s.trace_hi, s.trace_lo FROM spans s
		JOIN tall t ON s.trace_hi = t.trace_hi AND s.trace_lo = t.trace_lo
		WHERE s.project = ? AND s.start_ns >= ? AND s.start_ns < ? AND `+filter+`)`)
	p.args = append(p.args, project, lo, hi)
	p.args = append(p.args, fargs...)
	p.ctes = append(p.ctes, `t AS (SELECT tall.* FROM tall SEMI JOIN hits h ON tall.trace_hi = h.trace_hi AND tall.trace_lo = h.trace_lo)`)
	return p
}

// oracleSearch lists every trace of the range matching filter, newest
// first, with aggregatePlan; with statsPlan, with tracePlan (which
// statistics use) instead.
func oracleSearch(t *testing.T, s *Store, project string, w window, filter string, statsPlan ...bool) []loupe.TraceSummary {
	t.Helper()
	var f query.Expr
	if filter != "" {
		var err error
		if f, err = query.Parse(filter); err != nil {
			t.Fatal(err)
		}
	}
	ft := &fullText{s: s, ctx: t.Context(), project: project, w: w}
	sqlf, fargs, usesTrace, err := compileFilter(f, ft.match)
	ft.close()
	if err != nil {
		t.Fatal(err)
	}
	p := aggregatePlan(project, w, sqlf, fargs, usesTrace, f != nil)
	if len(statsPlan) > 0 && statsPlan[0] {
		p = tracePlan(project, w, sqlf, fargs, usesTrace, f != nil)
	}
	rows, err := s.db.QueryContext(t.Context(), p.with()+`SELECT trace_hi, trace_lo, start_ns, duration_ns, name, status,
	span_count, service, environment, tenant, session_id, prompt_name, prompt_version_id, model, input_tokens,
	output_tokens, cost_usd, error_count FROM t ORDER BY start_ns DESC, trace_hi DESC, trace_lo DESC`, p.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []loupe.TraceSummary
	for rows.Next() {
		var (
			tr         loupe.TraceSummary
			hi, lo     int64
			start, dur int64
			status     string
		)
		if err := rows.Scan(&hi, &lo, &start, &dur, &tr.Name, &status, &tr.SpanCount, &tr.Service,
			&tr.Environment, &tr.Tenant, &tr.SessionID, &tr.PromptName, &tr.PromptVersionID, &tr.Model,
			&tr.InputTokens, &tr.OutputTokens, &tr.CostUSD, &tr.ErrorCount); err != nil {
			t.Fatal(err)
		}
		tr.Project, tr.TraceID, tr.Start = project, traceIDOf(hi, lo), time.Unix(0, start).UTC()
		tr.Duration, tr.Status = float64(dur)/1e6, loupe.TraceStatus(status)
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// randomTraces writes n traces over about span of time, in writes of a
// few traces each; a third of the traces arrive in two or three parts, in
// any order (children first, the root last, possibly minutes later).
func randomTraces(t *testing.T, s *Store, rng *rand.Rand, n int, base time.Time, span time.Duration, idBase uint64) {
	t.Helper()
	var parts [][]loupe.Span
	for i := range n {
		id := tid(idBase + uint64(i))
		start := base.Add(time.Duration(rng.Int64N(int64(span))))
		var spans []loupe.Span
		root := loupe.Span{Project: "p", TraceID: id, SpanID: sid(idBase*100 + uint64(i)*10 + 1), Name: []string{"a", "b"}[rng.IntN(2)],
			Kind: loupe.KindAgent, Start: start, End: start.Add(time.Duration(1+rng.IntN(3000)) * time.Millisecond), Status: loupe.StatusOK,
			PromptVersionID: []string{"", "v1", "v2"}[rng.IntN(3)], Service: "svc"}
		if rng.IntN(10) == 0 {
			root.Status = loupe.StatusError
		}
		spans = append(spans, root)
		for c := range rng.IntN(4) {
			cs := start.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
			ch := loupe.Span{Project: "p", TraceID: id, SpanID: sid(idBase*100 + uint64(i)*10 + 2 + uint64(c)), ParentSpanID: root.SpanID,
				Name: "llm", Kind: loupe.KindLLM, Start: cs, End: cs.Add(time.Duration(rng.IntN(900)) * time.Millisecond), Status: loupe.StatusOK,
				ResponseModel: []string{"m1", "m2"}[rng.IntN(2)], Usage: loupe.Usage{Input: rng.Int64N(100), Output: rng.Int64N(50)},
				PromptVersionID: []string{"", "v1", "v2"}[rng.IntN(3)], Tenant: []string{"", "t1"}[rng.IntN(2)]}
			if rng.IntN(5) == 0 {
				ch.Status = loupe.StatusError
			}
			spans = append(spans, ch)
		}
		if len(spans) > 1 && rng.IntN(3) == 0 {
			// Children first, the root in a later write.
			parts = append(parts, spans[1:], spans[:1])
		} else {
			parts = append(parts, spans)
		}
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	for len(parts) > 0 {
		k := min(len(parts), 1+rng.IntN(6))
		var batch []loupe.Span
		for _, p := range parts[:k] {
			batch = append(batch, p...)
		}
		writeIndexed(t, s, []loupe.Batch{{Spans: batch}})
		parts = parts[k:]
	}
}

// TestSearchWindowsMatchOracle compares the windowed search, page by page
// and with several limits, with the plain aggregation over the range, on
// traces written in one or several parts, with filters of every scope.
func TestSearchWindowsMatchOracle(t *testing.T) {
	s := openSearch(t)
	rng := rand.New(rand.NewPCG(1, 2))
	// Dense traffic over 20 minutes, then a sparse tail over 3 hours, so
	// windows of every size hold traces.
	randomTraces(t, s, rng, 150, t0, 20*time.Minute, 1000)
	randomTraces(t, s, rng, 30, t0.Add(20*time.Minute), 3*time.Hour, 5000)
	// Traces whose failing llm span arrives in a later write and starts
	// minutes after the rest of the trace has ended: a window's span scan
	// must reach it.
	for i := range uint64(5) {
		id := tid(9000 + i)
		start := t0.Add(time.Duration(3+i) * time.Minute)
		root := loupe.Span{Project: "p", TraceID: id, SpanID: sid(900000 + i*10 + 1), Name: "late", Kind: loupe.KindAgent,
			Start: start, End: start.Add(100 * time.Millisecond), Status: loupe.StatusOK, Service: "svc"}
		late := start.Add(2 * time.Minute)
		child := loupe.Span{Project: "p", TraceID: id, SpanID: sid(900000 + i*10 + 2), ParentSpanID: root.SpanID, Name: "llm",
			Kind: loupe.KindLLM, Start: late, End: late.Add(time.Second), Status: loupe.StatusError}
		writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{root}}})
		writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{child}}})
	}
	var multi int
	if err := s.db.QueryRow(`SELECT count(*) FROM trace_parts WHERE cont`).Scan(&multi); err != nil || multi == 0 {
		t.Fatalf("cont parts = %d, %v; want some (the test needs multi-part traces)", multi, err)
	}
	ranges := []struct {
		name     string
		from, to time.Time
	}{
		{"All", t0.Add(-time.Hour), t0.Add(5 * time.Hour)},
		{"Narrow", t0.Add(5 * time.Minute), t0.Add(7 * time.Minute)},
		{"Tail", t0.Add(time.Hour), t0.Add(2 * time.Hour)},
	}
	filters := []string{"", "trace.status = degraded", "prompt.version_id = v1 and trace.status != ok",
		"prompt.version_id = v2", "kind = llm and status = error", "tenant = t1 or trace.duration > 2s", "trace.spans >= 3"}
	// Inline: the several-part traces of a window are named in the page
	// query (the default); Scan: too many to name (-1), the page query
	// finds them itself.
	for _, inline := range []struct {
		name string
		cap  int
	}{{"Inline", 0}, {"Scan", -1}} {
		s.multiCap = inline.cap
		for _, rc := range ranges {
			w := window{rc.from.UnixNano(), rc.to.UnixNano()}
			for _, f := range filters {
				want := oracleSearch(t, s, "p", w, f)
				if inline.cap == 0 {
					if diff := gocmp.Diff(want, oracleSearch(t, s, "p", w, f, true)); diff != "" {
						t.Errorf("%s/%s: the statistics plan differs from the plain aggregation (-want +got):\n%s", rc.name, f, diff)
					}
				}
				for _, limit := range []int{4, 1000} {
					t.Run(fmt.Sprintf("%s/%s/%s/%d", inline.name, rc.name, f, limit), func(t *testing.T) {
						q := query.TraceSearch{Project: "p", From: rc.from, To: rc.to, Limit: limit}
						if f != "" {
							q.Filter, _ = query.Parse(f)
						}
						var got []loupe.TraceSummary
						for pages := 0; ; pages++ {
							if pages > 1000 {
								t.Fatal("paging does not end")
							}
							p, err := s.SearchTraces(t.Context(), q)
							if err != nil {
								t.Fatal(err)
							}
							got = append(got, p.Traces...)
							if p.Next == "" {
								break
							}
							q.Cursor = p.Next
						}
						if diff := gocmp.Diff(want, got); diff != "" {
							t.Errorf("pages differ from the oracle (-want +got):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

// TestSearchAfterReopen: a trace whose parts are written before and after
// the store is reopened is still one trace with one summary.
func TestSearchAfterReopen(t *testing.T) {
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(t.Context(), Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	root := loupe.Span{Project: "p", TraceID: tid(1), SpanID: sid(1), Name: "root", Kind: loupe.KindAgent,
		Start: t0, End: t0.Add(2 * time.Second), Status: loupe.StatusOK}
	child := loupe.Span{Project: "p", TraceID: tid(1), SpanID: sid(2), ParentSpanID: sid(1), Name: "tool", Kind: loupe.KindTool,
		Start: t0.Add(time.Second), End: t0.Add(1500 * time.Millisecond), Status: loupe.StatusError}
	writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{child}}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{root}}})
	p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Traces) != 1 || p.Traces[0].SpanCount != 2 || p.Traces[0].Status != loupe.TraceDegraded || p.Traces[0].Name != "root" {
		t.Errorf("SearchTraces() = %+v, want one degraded trace \"root\" of 2 spans", p.Traces)
	}
}

// TestRecentTraces checks the cont decisions of the writer's filter.
func TestRecentTraces(t *testing.T) {
	now := time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	tests := []struct {
		name  string
		setup func(r *recentTraces)
		hi    int64
		start time.Duration
		want  bool
	}{
		{"New", nil, 1, 0, false},
		{"SamePart", func(r *recentTraces) { r.cont("p", 1, 1, at(0), at(time.Second)) }, 1, 0, true},
		{"OtherTrace", func(r *recentTraces) { r.cont("p", 2, 1, at(0), at(time.Second)) }, 1, 0, false},
		{"OtherProject", func(r *recentTraces) { r.cont("q", 1, 1, at(0), at(time.Second)) }, 1, 0, false},
		{"WithinSlack", func(r *recentTraces) { r.cont("p", 1, 1, at(0), at(time.Second)) }, 1, 4 * time.Minute, true},
		{"EarlierWithinSlack", func(r *recentTraces) { r.cont("p", 1, 1, at(4*time.Minute), at(4*time.Minute)) }, 1, 0, true},
		{"FarApart", func(r *recentTraces) {
			r.cont("p", 1, 1, at(0), at(time.Second))
			r.cont("p", 9, 1, at(10*time.Minute), at(10*time.Minute))
		}, 1, 10 * time.Minute, false},
		{"Evicted", func(r *recentTraces) {
			r.cont("p", 9, 1, at(0), at(0))
			r.cont("p", 9, 2, at(30*time.Minute), at(30*time.Minute))
		}, 1, 0, true}, // below the window: cannot tell
		{"BeforeOpen", func(r *recentTraces) { r.floor = bucketOf(at(time.Minute)) }, 1, 0, true},
		{"AfterOpen", func(r *recentTraces) { r.floor = bucketOf(at(-10 * time.Minute)) }, 1, 0, false},
		{"AheadOfClock", func(r *recentTraces) { r.cont("p", 9, 1, at(0), at(0)) }, 1, 3 * time.Hour, true},
		{"NearAhead", func(r *recentTraces) {
			r.cont("p", 9, 1, now.Add(12*time.Minute).UnixNano(), now.Add(12*time.Minute).UnixNano())
		}, 1, time.Hour + 8*time.Minute, true}, // a part ahead of the clock was not remembered
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecentTraces(0, true)
			r.now = func() time.Time { return now }
			if tt.setup != nil {
				tt.setup(r)
			}
			if got := r.cont("p", tt.hi, 1, at(tt.start), at(tt.start+time.Second)); got != tt.want {
				t.Errorf("cont(start %v) = %v, want %v", tt.start, got, tt.want)
			}
		})
	}
	// The filter stays bounded: at most recentBuckets filters.
	r := newRecentTraces(0, true)
	r.now = func() time.Time { return now }
	for i := range 100 {
		r.cont("p", int64(i), 1, at(time.Duration(i)*time.Minute), at(time.Duration(i)*time.Minute))
	}
	if len(r.buckets) > recentBuckets {
		t.Errorf("%d filters, want at most %d", len(r.buckets), recentBuckets)
	}
}
