package server_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/server"
)

// fakeCounterer is a reader with exact counters.
type fakeCounterer struct {
	fakeReader
	got *query.CountersRequest
}

var _ server.Counterer = (*fakeCounterer)(nil)

func (f *fakeCounterer) Counters(_ context.Context, q query.CountersRequest) (*loupe.Counters, error) {
	f.got = &q
	return &loupe.Counters{Rows: []loupe.CounterRow{{
		Group:    map[string]string{"tenant": "t1"},
		Bucket:   time.Date(2026, 6, 3, 18, 1, 0, 0, time.FixedZone("CEST", 2*3600)),
		Requests: 10, Errors: 1, ErrorRate: 0.1, InputTokens: 500, CostUSD: math.NaN(),
	}}}, nil
}

func TestCounters(t *testing.T) {
	store := &fakeCounterer{}
	h := newHandler(t, server.Options{}, &fakeIngester{}, store)
	t.Run("OK", func(t *testing.T) {
		rec := get(h, "/api/v1/counters?by=tenant,prompt.version&since=2h&interval=5m")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		q := store.got
		if len(q.By) != 2 || q.By[0].Name != "tenant" || q.By[1].Name != "prompt.version_id" ||
			q.Interval != 5*time.Minute || q.To.Sub(q.From) != 2*time.Hour || q.Project != loupe.DefaultProject {
			t.Errorf("request = %+v, want by tenant, prompt.version_id over 2h in 5m buckets", q)
		}
		var body struct {
			By     []string `json:"by"`
			Groups []struct {
				Group    map[string]string `json:"group"`
				Bucket   string            `json:"bucket"`
				Requests int64             `json:"requests"`
				CostUSD  float64           `json:"cost_usd"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %s: %v", rec.Body, err)
		}
		if len(body.Groups) != 1 || body.Groups[0].Requests != 10 || body.Groups[0].Bucket != "2026-06-03T16:01:00Z" ||
			body.Groups[0].CostUSD != 0 || strings.Join(body.By, ",") != "tenant,prompt.version_id" {
			t.Errorf("body = %s, want one UTC group with 10 requests and finite cost", rec.Body)
		}
	})
	for _, tt := range []struct{ name, query, want string }{
		{"NotADimension", "by=kind", "by"},
		{"UnknownField", "by=nope", "by"},
		{"Twice", "by=tenant,tenant", "by"},
		{"SubMinuteInterval", "interval=30s", "interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, "/api/v1/counters?"+tt.query)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("GET ?%s = %d %s, want 400 naming %s", tt.query, rec.Code, rec.Body, tt.want)
			}
		})
	}
	t.Run("NoCounters", func(t *testing.T) {
		h := newHandler(t, server.Options{}, &fakeIngester{}, &fakeReader{})
		if rec := get(h, "/api/v1/counters"); rec.Code == http.StatusOK {
			t.Errorf("GET on a store without counters = %d, want an error", rec.Code)
		}
	})
}

// TestStatsEstimates checks that the stats API says which figures are
// estimates and gives their finite bounds.
func TestStatsEstimates(t *testing.T) {
	store := &fakeStore{StatsFn: func(context.Context, query.StatsRequest) (*loupe.Stats, error) {
		return &loupe.Stats{Rows: []loupe.StatsRow{{Count: 100, Estimated: []string{"count", "p50_ms"},
			ErrorBounds: map[string]float64{"count": 12.5, "cost_usd": math.Inf(1)}}}}, nil
	}}
	h := newHandler(t, server.Options{}, &fakeIngester{}, store)
	rec := get(h, "/api/v1/stats")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET = %d %s", rec.Code, rec.Body)
	}
	var body struct {
		Groups []struct {
			Estimated   []string           `json:"estimated"`
			ErrorBounds map[string]float64 `json:"error_bounds"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if len(body.Groups) != 1 || strings.Join(body.Groups[0].Estimated, ",") != "count,p50_ms" ||
		body.Groups[0].ErrorBounds["count"] != 12.5 || body.Groups[0].ErrorBounds["cost_usd"] != 0 {
		t.Errorf("body = %s, want estimated count,p50_ms and finite bounds", rec.Body)
	}
}
