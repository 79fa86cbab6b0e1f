package server_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/server"
)

func TestStats(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	store := &fakeStore{StatsFn: func(_ context.Context, q query.StatsRequest) (*loupe.Stats, error) {
		return &loupe.Stats{Rows: []loupe.StatsRow{
			{Group: map[string]string{"prompt.version_id": "prv_2026_06_03_17", "tenant": "tenant_431"}, Bucket: time.Date(2026, 6, 3, 18, 0, 0, 0, cest),
				Count: 120, Errors: 6, ErrorRate: 0.05, P50Ms: 130.5, P95Ms: 410, P99Ms: 1200, InputTokens: 380000, OutputTokens: 27000, CostUSD: 0.252},
			{Group: map[string]string{"prompt.version_id": "prv_2026_05_20_09", "tenant": "tenant_431"}, Bucket: time.Date(2026, 6, 3, 16, 0, 0, 0, time.UTC),
				Count: 1, P50Ms: 90, P95Ms: 90, P99Ms: math.NaN()},
		}, Notes: []string{"store note"}}, nil
	}}
	h := newHandler(t, server.Options{}, &fakeIngester{}, store)

	t.Run("OK", func(t *testing.T) {
		q := url.Values{
			"by":       {"prompt.version,tenant"},
			"q":        {"kind = llm"},
			"from":     {"2026-06-03T16:00:00Z"},
			"to":       {"2026-06-03T18:00:00Z"},
			"interval": {"1h"},
		}
		rec := get(h, "/api/v1/stats?"+q.Encode())
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		checkGolden(t, "stats.golden", rec.Body.Bytes())
		got := store.stats
		if got.Filter == nil || got.Filter.String() != "kind = llm" {
			t.Errorf("Filter = %v, want kind = llm", got.Filter)
		}
		got.Filter = nil
		pv, _ := query.ParseField("prompt.version_id")
		tenant, _ := query.ParseField("tenant")
		want := query.StatsRequest{Project: loupe.DefaultProject, From: time.Date(2026, 6, 3, 16, 0, 0, 0, time.UTC),
			To: time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC), By: []query.Field{pv, tenant}, Interval: time.Hour, Level: "trace"}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("request mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		rec := get(h, "/api/v1/stats?level=span&by=attr.http.route&by=kind")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		got := store.stats
		if d := got.To.Sub(got.From); d != 24*time.Hour || got.Interval != 0 || got.Level != "span" || got.Filter != nil {
			t.Errorf("request = %+v, want the last 24h, no interval, span level", got)
		}
		if len(got.By) != 2 || got.By[0].Scope != query.AttrScope || got.By[0].Name != "http.route" || got.By[1].Name != "kind" {
			t.Errorf("by = %+v, want attribute http.route, then kind", got.By)
		}
		var body struct {
			Level string   `json:"level"`
			By    []string `json:"by"`
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		if body.Level != "span" || !cmp.Equal(body.By, []string{"http.route", "kind"}) {
			t.Errorf("body level %q by %q, want span [http.route kind]", body.Level, body.By)
		}
	})

	t.Run("IntervalClamped", func(t *testing.T) {
		rec := get(h, "/api/v1/stats?since=24h&interval=1s")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		if got := store.stats.Interval; got != 5*time.Minute {
			t.Errorf("interval = %v, want clamped to 5m (24h / %d buckets, rounded up)", got, query.MaxBuckets)
		}
		if !strings.Contains(rec.Body.String(), `"interval 1s gives more than 1000 buckets over 1d; used 5m"`) {
			t.Errorf("body %s lacks the clamping note", rec.Body)
		}
	})

	bad := []struct {
		name, query, wantPrefix string
		wantContains            []string
	}{
		{"UnknownBy", "by=prompt.versoin", `by: unknown field "prompt.versoin"; valid fields: name, kind, status`, []string{"prompt.version_id", "tenant", "attr.KEY"}},
		{"UnknownPlainBy", "by=foo", `by: unknown field "foo"; valid fields:`, []string{"model", "trace.status"}},
		{"NotGroupable", "by=duration", `by: cannot group by duration (a duration field); valid fields:`, nil},
		{"Text", "by=input", `by: cannot group by input (a text field)`, nil},
		{"Twice", "by=env,environment", `by: field environment is given twice`, nil},
		{"TooMany", "by=name,kind,status,service,tenant", `by: 5 fields, at most 4`, nil},
		{"Level", "level=session", `level: "session" is not trace or span`, nil},
		{"Interval", "interval=often", `interval: "often" is not a positive duration`, nil},
		{"IntervalZero", "interval=0s", `interval: "0s" is not a positive duration`, nil},
		{"Since", "since=1y", `since: "1y" is not a positive duration`, nil},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, "/api/v1/stats?"+tt.query)
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if rec.Code != http.StatusBadRequest || !strings.HasPrefix(body.Error, tt.wantPrefix) {
				t.Errorf("GET ?%s = %d %s, want 400 %s...", tt.query, rec.Code, rec.Body, tt.wantPrefix)
			}
			for _, s := range tt.wantContains {
				if !strings.Contains(body.Error, s) {
					t.Errorf("error %q lacks %q", body.Error, s)
				}
			}
		})
	}

	t.Run("BadFilter", func(t *testing.T) {
		rec := get(h, "/api/v1/stats?q="+url.QueryEscape(`status = maybe`))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"position":9`) {
			t.Errorf("GET = %d %s, want 400 with position 9", rec.Code, rec.Body)
		}
	})
}
