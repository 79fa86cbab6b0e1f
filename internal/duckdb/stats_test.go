package duckdb

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

func TestStats(t *testing.T) {
	s := openSearch(t)
	writeIndexed(t, s, []loupe.Batch{{Spans: fixture()}})
	field := func(name string) query.Field {
		f, err := query.ParseField(name)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	approx := cmpopts.EquateApprox(0, 1e-9)
	tests := []struct {
		name   string
		q      query.StatsRequest
		filter string
		want   []loupe.StatsRow
	}{
		{"TraceByPromptVersion", query.StatsRequest{By: []query.Field{field("prompt.version")}}, "", []loupe.StatsRow{
			{Group: map[string]string{"prompt.version_id": "p1"}, Count: 2, Errors: 1, ErrorRate: 0.5,
				P50Ms: 1750, P95Ms: 500 + 0.95*2500, P99Ms: 500 + 0.99*2500, InputTokens: 150, OutputTokens: 30, CostUSD: 0.015},
			{Group: map[string]string{"prompt.version_id": "p2"}, Count: 2, Errors: 2, ErrorRate: 1,
				P50Ms: 900, P95Ms: 800 + 0.95*200, P99Ms: 800 + 0.99*200},
		}},
		{"SpanByKindFiltered", query.StatsRequest{Level: "span", By: []query.Field{field("kind")}}, "kind = llm", []loupe.StatsRow{
			{Group: map[string]string{"kind": "llm"}, Count: 3, Errors: 1, ErrorRate: 1.0 / 3,
				P50Ms: 400, P95Ms: 400 + 0.9*1600, P99Ms: 400 + 0.98*1600, InputTokens: 150, OutputTokens: 30, CostUSD: 0.015},
		}},
		{"TraceByAttr", query.StatsRequest{By: []query.Field{field("http.route")}}, "trace.status = error", []loupe.StatsRow{
			{Group: map[string]string{"http.route": "/x"}, Count: 1, Errors: 1, ErrorRate: 1,
				P50Ms: 500, P95Ms: 500, P99Ms: 500, InputTokens: 50, OutputTokens: 10, CostUSD: 0.005},
		}},
		{"Buckets", query.StatsRequest{Interval: 2 * time.Second, To: t0.Add(10 * time.Second)}, "", []loupe.StatsRow{
			{Bucket: t0, Count: 2, Errors: 1, ErrorRate: 0.5, P50Ms: 2000, P95Ms: 1000 + 0.95*2000, P99Ms: 1000 + 0.99*2000, InputTokens: 100, OutputTokens: 20, CostUSD: 0.01},
			{Bucket: t0.Add(2 * time.Second), Count: 2, Errors: 2, ErrorRate: 1, P50Ms: 650, P95Ms: 500 + 0.95*300, P99Ms: 500 + 0.99*300, InputTokens: 50, OutputTokens: 10, CostUSD: 0.005},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Project, q.From = "p", t0
			if q.To.IsZero() {
				q.To = t0.Add(time.Hour)
			}
			if tc.filter != "" {
				f, err := query.Parse(tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				q.Filter = f
			}
			got, err := s.Stats(t.Context(), q)
			if err != nil {
				t.Fatalf("Stats() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got.Rows, approx); diff != "" {
				t.Errorf("Stats() rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatsClamps(t *testing.T) {
	s := openSearch(t)
	st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", From: t0.Add(-24 * time.Hour), To: t0, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Notes) != 1 || st.Level != "trace" {
		t.Errorf("notes = %q level %q, want one interval note, trace", st.Notes, st.Level)
	}
	if _, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", From: t0, To: t0.Add(time.Hour), Level: "bogus"}); err == nil || !isInvalidErr(err) {
		t.Errorf("Stats(level bogus) = %v, want ErrInvalid", err)
	}

}

func isInvalidErr(err error) bool { return errors.Is(err, loupe.ErrInvalid) }
