package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// statsEstimatedJSON has one row estimated from samples (with bounds), one
// with exact counts from the counters but estimated percentiles, and one
// exact row.
const statsEstimatedJSON = `{"level":"trace","by":["tenant"],"groups":[
{"group":{"tenant":"t1"},"count":1210,"errors":49,"error_rate":0.0405,"p50_ms":131,"p95_ms":410,"p99_ms":1200,"input_tokens":380400,"output_tokens":27100,"cost_usd":2.52,
 "estimated":["count","errors","error_rate","p50_ms","p95_ms","p99_ms","input_tokens","output_tokens","cost_usd"],
 "error_bounds":{"count":52.4,"errors":13.1,"error_rate":0.0107,"input_tokens":16500,"output_tokens":1180.6,"cost_usd":0.11}},
{"group":{"tenant":"t2"},"count":300,"errors":3,"error_rate":0.01,"p50_ms":95,"p95_ms":300,"p99_ms":800,"input_tokens":90000,"output_tokens":7000,"cost_usd":0.61,
 "estimated":["p50_ms","p95_ms","p99_ms"]},
{"group":{"tenant":"t3"},"count":3,"errors":0,"error_rate":0,"p50_ms":0.4,"p95_ms":0.9,"p99_ms":0.9,"input_tokens":0,"output_tokens":0,"cost_usd":0}
]}`

func TestPrintStatsTableEstimated(t *testing.T) {
	var st statsAnswer
	if err := json.Unmarshal([]byte(statsEstimatedJSON), &st); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := printStatsTable(&b, &st, false, time.UTC); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	checkGoldenText(t, "stats_estimated.golden", got)
	// Whatever the golden file says: the exact row carries no mark, the
	// estimated figures do.
	for _, line := range strings.Split(got, "\n") {
		switch {
		case strings.HasPrefix(line, "t3 "):
			if strings.Contains(line, "~") {
				t.Errorf("exact row marked estimated: %q", line)
			}
		case strings.HasPrefix(line, "t2 "):
			if n := strings.Count(line, "~"); n != 3 {
				t.Errorf("row with estimated percentiles has %d marks, want 3: %q", n, line)
			}
		case strings.HasPrefix(line, "t1 "):
			if n := strings.Count(line, "~"); n != 8 {
				t.Errorf("estimated row has %d marks, want 8 (every figure): %q", n, line)
			}
		}
	}
}

func TestPrintStatsTableExactHasNoFootnote(t *testing.T) {
	var st statsAnswer
	if err := json.Unmarshal([]byte(statsJSON), &st); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := printStatsTable(&b, &st, true, time.UTC); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.Contains(got, "~") || strings.Contains(got, "estimated") {
		t.Errorf("exact stats print an estimate mark or footnote:\n%s", got)
	}
}
