package pricing_test

import (
	"fmt"
	"testing"

	"github.com/loupehq/loupe"
)

// BenchmarkApply prices spans whose (provider, model) is already cached, the
// steady state of the ingest path.
func BenchmarkApply(b *testing.B) {
	tb := mustDefault(b)
	spans := []loupe.Span{
		{Kind: loupe.KindLLM, Start: day2026, Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06", Usage: loupe.Usage{Input: 1200, CacheRead: 800, Output: 300}},
		{Kind: loupe.KindLLM, Start: day2026, Provider: "anthropic", RequestModel: "claude-sonnet-4-5", ResponseModel: "claude-sonnet-4-5-20250929", Usage: loupe.Usage{Input: 50, CacheRead: 9000, CacheWrite: 400, Output: 700}},
		{Kind: loupe.KindLLM, Start: day2026, Provider: "aws.bedrock", RequestModel: "us.anthropic.claude-3-5-sonnet-20240620-v1:0", Usage: loupe.Usage{Input: 900, Output: 100}},
		{Kind: loupe.KindEmbedding, Start: day2026, Provider: "openai", RequestModel: "text-embedding-3-small", Usage: loupe.Usage{Input: 500}},
	}
	for i := range spans {
		s := spans[i]
		tb.Apply(&s) // warm the cache
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := spans[i%len(spans)]
		tb.Apply(&s)
		i++
	}
}

// BenchmarkApplyParallel is BenchmarkApply from all Ps at once.
func BenchmarkApplyParallel(b *testing.B) {
	tb := mustDefault(b)
	span := loupe.Span{Kind: loupe.KindLLM, Start: day2026, Provider: "openai", ResponseModel: "gpt-4o-mini-2024-07-18", Usage: loupe.Usage{Input: 1200, Output: 300}}
	tb.Apply(&span)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := span
			s.CostSource = ""
			tb.Apply(&s)
		}
	})
}

// BenchmarkPriceMiss measures a cache miss: matching a never-seen model name
// against the whole table (worst case: no provider, unknown model).
func BenchmarkPriceMiss(b *testing.B) {
	for _, c := range []struct{ name, provider string }{{"known-provider", "openai"}, {"no-provider", ""}} {
		b.Run(c.name, func(b *testing.B) {
			tb := mustDefault(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tb.Price(c.provider, fmt.Sprintf("unknown-model-%d", i), day2026, loupe.Usage{Input: 1})
				i++
			}
		})
	}
}
