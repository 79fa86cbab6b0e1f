package loupe_test

import (
	"slices"
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

func TestTraceModel(t *testing.T) {
	t0 := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	span := func(kind loupe.Kind, start time.Duration, req, resp string) loupe.Span {
		return loupe.Span{Kind: kind, Start: t0.Add(start), RequestModel: req, ResponseModel: resp}
	}
	tests := []struct {
		name  string
		spans []loupe.Span
		want  string
	}{
		{"Empty", nil, ""},
		{"NoLLM", []loupe.Span{span(loupe.KindRequest, 0, "root-model", "")}, ""},
		{"RootRequestModelIgnored", []loupe.Span{
			span(loupe.KindRequest, 0, "root-model", ""),
			span(loupe.KindLLM, time.Millisecond, "gpt-4.1-mini", ""),
		}, "gpt-4.1-mini"},
		{"ResponseModelFirst", []loupe.Span{
			span(loupe.KindLLM, 0, "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
		}, "gpt-4.1-mini-2025-04-14"},
		{"EarliestLLM", []loupe.Span{
			span(loupe.KindLLM, 30*time.Millisecond, "late", ""),
			span(loupe.KindLLM, 10*time.Millisecond, "", "early"),
		}, "early"},
		{"SkipsLLMWithoutModel", []loupe.Span{
			span(loupe.KindLLM, 0, "", ""),
			span(loupe.KindLLM, 5*time.Millisecond, "second", ""),
		}, "second"},
		{"TieSmallestModel", []loupe.Span{
			span(loupe.KindLLM, 0, "b-model", ""),
			span(loupe.KindLLM, 0, "a-model", ""),
		}, "a-model"},
		{"EmbeddingIgnored", []loupe.Span{
			span(loupe.KindEmbedding, 0, "text-embedding-3-small", ""),
			span(loupe.KindLLM, time.Second, "gpt-4.1", ""),
		}, "gpt-4.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loupe.TraceModel(tt.spans); got != tt.want {
				t.Errorf("TraceModel = %q, want %q", got, tt.want)
			}
			// Order does not matter, and neither does splitting the spans
			// into parts merged afterwards.
			rev := slices.Clone(tt.spans)
			slices.Reverse(rev)
			if got := loupe.TraceModel(rev); got != tt.want {
				t.Errorf("TraceModel(reversed) = %q, want %q", got, tt.want)
			}
			for cut := range len(rev) + 1 {
				var a, b loupe.ModelChoice
				for i := range rev[:cut] {
					a.Offer(&rev[i])
				}
				for i := range rev[cut:] {
					b.Offer(&rev[cut+i])
				}
				b.Merge(a)
				if b.Model != tt.want {
					t.Errorf("parts split at %d merged = %q, want %q", cut, b.Model, tt.want)
				}
			}
		})
	}
}
