package pricing_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/pricing"
)

func mustDefault(tb testing.TB) *pricing.Table {
	tb.Helper()
	t, err := pricing.Default()
	if err != nil {
		tb.Fatalf("Default() error: %v", err)
	}
	return t
}

func mustOverrides(tb testing.TB, t *pricing.Table, file string) *pricing.Table {
	tb.Helper()
	ot, err := t.WithOverrides(strings.NewReader(file))
	if err != nil {
		tb.Fatalf("WithOverrides() error: %v", err)
	}
	return ot
}

// near reports whether two USD amounts agree to 1e-9 relative precision.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want))
}

var (
	day2026 = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	mtok    = int64(1_000_000)
)

// Expected prices are worked out by hand from data/data.json (USD per million
// tokens) and quoted in each case.
func TestPrice(t *testing.T) {
	tb := mustDefault(t)
	tests := []struct {
		name, provider, model string
		at                    time.Time
		u                     loupe.Usage
		want                  float64
		wantOK                bool
	}{
		{
			// gpt-4o: input 2.5, cache_read 1.25, output 10; reasoning at output.
			name: "openai gpt-4o all buckets", provider: "openai", model: "gpt-4o", at: day2026,
			u:    loupe.Usage{Input: 1000, CacheRead: 2000, Output: 500, Reasoning: 100},
			want: (1000*2.5 + 2000*1.25 + 500*10 + 100*10) / 1e6, wantOK: true,
		},
		{
			// gpt-4o-mini: input 0.15, output 0.6 (dated snapshot listed upstream).
			name: "dated snapshot", provider: "openai", model: "gpt-4o-mini-2024-07-18", at: day2026,
			u: loupe.Usage{Input: mtok, Output: mtok}, want: 0.15 + 0.6, wantOK: true,
		},
		{
			// claude-3-5-sonnet: input 3, cache_write 3.75, cache_read 0.3, output 15.
			name: "anthropic cache read and write", provider: "anthropic", model: "claude-3-5-sonnet-20241022", at: day2026,
			u:    loupe.Usage{Input: 100, CacheRead: 1000, CacheWrite: 2000, Output: 300},
			want: (100*3 + 1000*0.3 + 2000*3.75 + 300*15) / 1e6, wantOK: true,
		},
		{
			// gpt-4 has no cache prices: cache read and write at input 30.
			name: "cache read at input price when none", provider: "openai", model: "gpt-4", at: day2026,
			u: loupe.Usage{CacheRead: 1000, CacheWrite: 1000}, want: 2000 * 30 / 1e6, wantOK: true,
		},
		{
			name: "embedding", provider: "openai", model: "text-embedding-3-small", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 0.02, wantOK: true,
		},
		{
			// o3 cost input 10, output 40 until 2025-06-10, then 2 and 8.
			name: "o3 before price change", provider: "openai", model: "o3", at: time.Date(2025, 6, 9, 23, 59, 59, 0, time.UTC),
			u: loupe.Usage{Input: mtok, Output: mtok}, want: 10 + 40, wantOK: true,
		},
		{
			name: "o3 after price change", provider: "openai", model: "o3", at: time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC),
			u: loupe.Usage{Input: mtok, Output: mtok}, want: 2 + 8, wantOK: true,
		},
		{
			name: "o3 price change judged in UTC", provider: "openai", model: "o3",
			at: time.Date(2025, 6, 10, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), // 2025-06-09T23:00Z
			u:  loupe.Usage{Input: mtok}, want: 10, wantOK: true,
		},
		{
			// deepseek-chat: standard price (input 0.27) between 00:30 and 16:30 UTC, else 0.135.
			name: "deepseek standard hours", provider: "deepseek", model: "deepseek-chat", at: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
			u: loupe.Usage{Input: mtok}, want: 0.27, wantOK: true,
		},
		{
			name: "deepseek off-peak", provider: "deepseek", model: "deepseek-chat", at: time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC),
			u: loupe.Usage{Input: mtok}, want: 0.135, wantOK: true,
		},
		{
			// gpt-5.4: input 2.5 -> 5, output 15 -> 22.5 above 272k input tokens.
			name: "tier below threshold", provider: "openai", model: "gpt-5.4", at: day2026,
			u: loupe.Usage{Input: 100_000, Output: 1000}, want: (100_000*2.5 + 1000*15) / 1e6, wantOK: true,
		},
		{
			name: "tier above threshold prices all tokens", provider: "openai", model: "gpt-5.4", at: day2026,
			u: loupe.Usage{Input: 300_000, Output: 1000}, want: (300_000*5 + 1000*22.5) / 1e6, wantOK: true,
		},
		{
			// cache_read 0.25 -> 0.5; the tier counts cached input too.
			name: "tier counts cached input", provider: "openai", model: "gpt-5.4", at: day2026,
			u: loupe.Usage{Input: 200_000, CacheRead: 100_000}, want: (200_000*5 + 100_000*0.5) / 1e6, wantOK: true,
		},
		{
			// perplexity sonar: input 1, output 1, plus 12 USD per thousand requests.
			name: "per-request price", provider: "perplexity", model: "sonar", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 1 + 0.012, wantOK: true,
		},
		{
			// sonar-deep-research: output 8, output_reasoning 3.
			name: "reasoning price", provider: "perplexity", model: "sonar-deep-research", at: day2026,
			u: loupe.Usage{Output: mtok, Reasoning: mtok}, want: 8 + 3, wantOK: true,
		},
		{
			name: "case-insensitive", provider: "OpenAI", model: "GPT-4o", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2.5, wantOK: true,
		},
		{
			name: "vendor prefix", provider: "openai", model: "openai/gpt-4o", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2.5, wantOK: true,
		},
		{
			name: "vendor prefix without provider", model: "openai/gpt-4o-mini", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 0.15, wantOK: true,
		},
		{
			name: "unknown dated snapshot falls back to base model", provider: "openai", model: "gpt-4o-2099-01-01", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2.5, wantOK: true,
		},
		{
			// aws meta.llama3-1-8b-instruct: input 0.22, output 0.22.
			name: "bedrock cross-region id", provider: "aws.bedrock", model: "us.meta.llama3-1-8b-instruct-v1:0", at: day2026,
			u: loupe.Usage{Input: mtok, Output: mtok}, want: 0.44, wantOK: true,
		},
		{
			name: "bedrock id at anthropic", provider: "anthropic", model: "us.anthropic.claude-3-5-sonnet-20240620-v1:0", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 3, wantOK: true,
		},
		{
			// google gemini-2.5-flash: input 0.3.
			name: "vertex version suffix", provider: "gcp.vertex_ai", model: "gemini-2.5-flash@001", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 0.3, wantOK: true,
		},
		{
			name: "vertex claude", provider: "gcp.vertex_ai", model: "claude-3-5-sonnet-v2@20241022", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 3, wantOK: true,
		},
		{
			// azure lists no gpt-4o and falls back to openai's.
			name: "azure falls back to openai", provider: "azure.ai.openai", model: "gpt-4o", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2.5, wantOK: true,
		},
		{
			// x-ai grok-3: input 3.
			name: "otel x_ai", provider: "x_ai", model: "grok-3", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 3, wantOK: true,
		},
		{
			// mistral mistral-large: input 2.
			name: "otel mistral_ai", provider: "mistral_ai", model: "mistral-large-latest", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2, wantOK: true,
		},
		{
			name: "vercel provider suffix", provider: "openai.chat", model: "gpt-4o", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 2.5, wantOK: true,
		},
		{
			// groq llama-3.1-8b-instant: input 0.05; no provider matches by model_match.
			name: "no provider: search across providers", model: "llama-3.1-8b-instant", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 0.05, wantOK: true,
		},
		{
			name: "no provider: model_match picks anthropic", model: "claude-3-5-sonnet-20241022", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 3, wantOK: true,
		},
		{
			name: "gateway: openai client with anthropic model", provider: "openai", model: "anthropic/claude-3-5-sonnet-20241022", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 3, wantOK: true,
		},
		{
			name: "zero usage", provider: "openai", model: "gpt-4o", at: day2026, want: 0, wantOK: true,
		},
		{
			name: "negative buckets count as zero", provider: "openai", model: "gpt-4o", at: day2026,
			u: loupe.Usage{Input: -5, Output: mtok}, want: 10, wantOK: true,
		},
		{name: "unknown model", provider: "openai", model: "no-such-model", at: day2026, u: loupe.Usage{Input: 1}},
		{name: "unknown model without provider", model: "no-such-model", at: day2026, u: loupe.Usage{Input: 1}},
		{
			// A provider that does not list the model falls back to the provider
			// whose model_match accepts it (clients of OpenAI-compatible gateways).
			name: "gateway: model_match provider", provider: "groq", model: "gpt-4o-mini", at: day2026,
			u: loupe.Usage{Input: mtok}, want: 0.15, wantOK: true,
		},
		// But a known provider's span is never priced from an arbitrary other
		// provider's list (llama-3.1-8b-instant is only at groq).
		{name: "known provider does not serve the model", provider: "openai", model: "llama-3.1-8b-instant", at: day2026, u: loupe.Usage{Input: 1}},
		{name: "empty model", provider: "openai", at: day2026, u: loupe.Usage{Input: 1}},
		{name: "huge model name", provider: "openai", model: "gpt-4o" + strings.Repeat("x", 1000), at: day2026, u: loupe.Usage{Input: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second call is served from the cache
				got, ok := tb.Price(tt.provider, tt.model, tt.at, tt.u)
				if ok != tt.wantOK || !near(got, tt.want) {
					t.Fatalf("Price(%q, %q, %v, %+v) = %v, %v; want %v, %v",
						tt.provider, tt.model, tt.at, tt.u, got, ok, tt.want, tt.wantOK)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	tb := mustDefault(t)
	if got, want := tb.Version(), "genai-prices@47df840a"; got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
	tb2, err := pricing.Default()
	if err != nil || tb2 != tb {
		t.Errorf("second Default() = %p, %v; want the same table %p", tb2, err, tb)
	}
}

func TestApply(t *testing.T) {
	tb := mustDefault(t)
	computed := loupe.CostComputedPrefix + tb.Version()
	start := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	base := func(mod func(s *loupe.Span)) loupe.Span {
		s := loupe.Span{
			Kind: loupe.KindLLM, Start: start, End: start.Add(time.Second),
			Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
			Usage: loupe.Usage{Input: mtok, Output: mtok},
		}
		mod(&s)
		return s
	}
	tests := []struct {
		name           string
		span           loupe.Span
		wantCost       float64
		wantCostSource string
	}{
		{
			name:     "llm span",
			span:     base(func(*loupe.Span) {}),
			wantCost: 2.5 + 10, wantCostSource: computed,
		},
		{
			name:     "response model wins",
			span:     base(func(s *loupe.Span) { s.ResponseModel = "gpt-4o-mini-2024-07-18" }),
			wantCost: 0.15 + 0.6, wantCostSource: computed,
		},
		{
			name:     "request model when response model unknown",
			span:     base(func(s *loupe.Span) { s.ResponseModel = "some-router-alias" }),
			wantCost: 2.5 + 10, wantCostSource: computed,
		},
		{
			name:     "request model when no response model",
			span:     base(func(s *loupe.Span) { s.ResponseModel = "" }),
			wantCost: 2.5 + 10, wantCostSource: computed,
		},
		{
			name: "embedding span",
			span: base(func(s *loupe.Span) {
				s.Kind, s.RequestModel, s.ResponseModel = loupe.KindEmbedding, "text-embedding-3-small", ""
				s.Usage = loupe.Usage{Input: mtok}
			}),
			wantCost: 0.02, wantCostSource: computed,
		},
		{
			name: "priced at span start",
			span: base(func(s *loupe.Span) {
				s.RequestModel, s.ResponseModel = "o3", "o3-2025-04-16"
				s.Start = time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
				s.End = s.Start.Add(time.Second)
			}),
			wantCost: 10 + 40, wantCostSource: computed,
		},
		{
			name:     "unknown model",
			span:     base(func(s *loupe.Span) { s.RequestModel, s.ResponseModel = "my-finetune", "my-finetune-v2" }),
			wantCost: 0, wantCostSource: loupe.CostUnknown,
		},
		{
			name:     "no model",
			span:     base(func(s *loupe.Span) { s.RequestModel, s.ResponseModel = "", "" }),
			wantCost: 0, wantCostSource: loupe.CostUnknown,
		},
		{
			name:     "no usage",
			span:     base(func(s *loupe.Span) { s.Usage = loupe.Usage{} }),
			wantCost: 0, wantCostSource: loupe.CostUnknown,
		},
		{
			name:     "reported cost kept",
			span:     base(func(s *loupe.Span) { s.CostUSD, s.CostSource = 1.23, loupe.CostReported }),
			wantCost: 1.23, wantCostSource: loupe.CostReported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.span
			tb.Apply(&s)
			if !near(s.CostUSD, tt.wantCost) || s.CostSource != tt.wantCostSource {
				t.Errorf("Apply: cost %v source %q, want %v %q", s.CostUSD, s.CostSource, tt.wantCost, tt.wantCostSource)
			}
			// Apply changes nothing but the cost fields.
			want := tt.span
			want.CostUSD, want.CostSource = s.CostUSD, s.CostSource
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("Apply changed other fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyNonBillableUntouched(t *testing.T) {
	tb := mustDefault(t)
	for _, k := range loupe.Kinds {
		if k.Billable() {
			continue
		}
		t.Run(string(k), func(t *testing.T) {
			s := loupe.Span{
				Kind: k, Start: day2026, End: day2026, Provider: "openai", RequestModel: "gpt-4o",
				Usage: loupe.Usage{Input: mtok, Output: mtok}, // aggregate usage of a wrapper span
			}
			want := s
			tb.Apply(&s)
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("Apply(%s span) changed it (-want +got):\n%s", k, diff)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	tb := mustDefault(t)
	const file = `{
  "models": [
    {"provider": "openai", "match": "gpt-4o", "input_mtok": 1, "output_mtok": 2},
    {"match": "acme-*", "input_mtok": 0.5, "cache_read_mtok": 0.1, "output_mtok": 1.5, "reasoning_mtok": 3},
    {"provider": "anthropic", "match": "claude-3-5-sonnet*", "start_date": "2026-03-01", "input_mtok": 100, "output_mtok": 100},
    {"provider": "aws.bedrock", "match": "internal-model", "input_mtok": 7, "output_mtok": 7}
  ]
}`
	ot := mustOverrides(t, tb, file)

	if got := ot.Version(); !strings.HasPrefix(got, tb.Version()+"+custom:") || len(got) != len(tb.Version())+len("+custom:")+12 {
		t.Errorf("Version() = %q, want %q followed by 12 hex digits", got, tb.Version()+"+custom:")
	}
	if again := mustOverrides(t, tb, file); again.Version() != ot.Version() {
		t.Errorf("same file gives versions %q and %q, want equal", ot.Version(), again.Version())
	}
	if other := mustOverrides(t, tb, `{"models":[{"match":"x","input_mtok":1}]}`); other.Version() == ot.Version() {
		t.Errorf("different files give the same version %q", ot.Version())
	}

	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, provider, model string
		at                    time.Time
		u                     loupe.Usage
		want                  float64
	}{
		{"override wins over embedded", "openai", "gpt-4o", day2026, loupe.Usage{Input: mtok, Output: mtok}, 1 + 2},
		{"override matches name variants", "openai", "openai/gpt-4o", day2026, loupe.Usage{Input: mtok}, 1},
		{"override is provider-specific", "azure.ai.openai", "gpt-4o", day2026, loupe.Usage{Input: mtok}, 2.5},
		{"other models keep embedded prices", "openai", "gpt-4o-mini", day2026, loupe.Usage{Input: mtok}, 0.15},
		{"glob, any provider, new model", "", "ACME-large-2", day2026, loupe.Usage{Input: mtok, CacheRead: mtok, Output: mtok, Reasoning: mtok}, 0.5 + 0.1 + 1.5 + 3},
		{"cache write defaults to input price", "acme", "acme-small", day2026, loupe.Usage{CacheWrite: mtok}, 0.5},
		{"before start_date: embedded price", "anthropic", "claude-3-5-sonnet-20241022", march.Add(-time.Second), loupe.Usage{Input: mtok}, 3},
		{"from start_date: override", "anthropic", "claude-3-5-sonnet-20241022", march, loupe.Usage{Input: mtok}, 100},
		{"provider given by OTel name", "aws.bedrock", "internal-model", day2026, loupe.Usage{Input: mtok}, 7},
		{"provider given by table id", "aws", "internal-model", day2026, loupe.Usage{Input: mtok}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ot.Price(tt.provider, tt.model, tt.at, tt.u)
			if !ok || !near(got, tt.want) {
				t.Errorf("Price(%q, %q) = %v, %v; want %v, true", tt.provider, tt.model, got, ok, tt.want)
			}
		})
	}

	t.Run("rule for another provider does not apply", func(t *testing.T) {
		if got, ok := ot.Price("openai", "internal-model", day2026, loupe.Usage{Input: mtok}); ok {
			t.Errorf("Price(openai, internal-model) = %v, true; want no price", got)
		}
	})
	t.Run("base table unchanged", func(t *testing.T) {
		if got, _ := tb.Price("openai", "gpt-4o", day2026, loupe.Usage{Input: mtok}); !near(got, 2.5) {
			t.Errorf("embedded Price(openai, gpt-4o) = %v after WithOverrides, want 2.5", got)
		}
	})
	t.Run("apply uses the override version", func(t *testing.T) {
		s := loupe.Span{Kind: loupe.KindLLM, Start: day2026, Provider: "openai", ResponseModel: "gpt-4o", Usage: loupe.Usage{Input: mtok}}
		ot.Apply(&s)
		if want := loupe.CostComputedPrefix + ot.Version(); s.CostSource != want || !near(s.CostUSD, 1) {
			t.Errorf("Apply: cost %v source %q, want 1 %q", s.CostUSD, s.CostSource, want)
		}
	})
	t.Run("latest start_date wins, later file on top", func(t *testing.T) {
		layered := mustOverrides(t, ot, `{"models": [
			{"provider": "openai", "match": "gpt-4o", "start_date": "2026-06-01", "input_mtok": 4},
			{"provider": "openai", "match": "gpt-4o", "input_mtok": 3}
		]}`)
		if !strings.HasPrefix(layered.Version(), ot.Version()+"+custom:") {
			t.Errorf("Version() = %q, want prefix %q", layered.Version(), ot.Version()+"+custom:")
		}
		for _, c := range []struct {
			at   time.Time
			want float64
		}{{day2026, 3}, {time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 4}} {
			if got, _ := layered.Price("openai", "gpt-4o", c.at, loupe.Usage{Input: mtok}); !near(got, c.want) {
				t.Errorf("Price(openai, gpt-4o, %v) = %v, want %v", c.at, got, c.want)
			}
		}
	})
}

func TestOverridesInvalid(t *testing.T) {
	tb := mustDefault(t)
	tests := []struct {
		name, file string
		want       []string // substrings of the error
	}{
		{"empty", "  \n", []string{"empty file"}},
		{"not an object", `[]`, []string{"line 1, column 1", `want "{"`}},
		{"syntax error", "{\n  \"models\": [\n    {\"match\": \"x\",, }\n  ]\n}", []string{"line 3", "invalid character"}},
		{"truncated", `{"models": [{"match": "x", "input_mtok": 1}`, []string{"unexpected end of file"}},
		{"unknown top-level field", "{\n  \"prices\": []\n}", []string{"line 2, column 3", `unknown field "prices"`}},
		{"duplicate models", `{"models": [{"match":"x","input_mtok":1}], "models": []}`, []string{`duplicate field "models"`}},
		{"unknown model field", "{\"models\": [\n  {\"match\": \"x\", \"input_mtok\": 1},\n  {\"match\": \"y\", \"inputmtok\": 1}\n]}",
			[]string{"models[1]", "line 3, column 3", `unknown field "inputmtok"`}},
		{"wrong type", "{\"models\": [\n  {\"match\": \"x\", \"input_mtok\": \"cheap\"}\n]}",
			[]string{"models[0]", "line 2", `field "input_mtok"`, "string"}},
		{"missing match", `{"models": [{"input_mtok": 1}]}`, []string{"models[0]", `"match" is required`}},
		{"no price", `{"models": [{"match": "x", "cache_read_mtok": 1}]}`, []string{"models[0]", "input_mtok"}},
		{"negative price", `{"models": [{"match": "x", "input_mtok": 1, "output_mtok": -2}]}`, []string{"models[0]", "output_mtok -2"}},
		{"absurd price", `{"models": [{"match": "x", "input_mtok": 1e308}]}`, []string{"models[0]", "input_mtok 1e+308"}},
		{"bad date", "{\"models\": [\n  {\"match\": \"x\", \"input_mtok\": 1, \"start_date\": \"01/02/2026\"}\n]}",
			[]string{"models[0]", "line 2, column 3", "start_date", "YYYY-MM-DD"}},
		{"no models", `{"models": []}`, []string{"no prices"}},
		{"trailing data", `{"models": [{"match": "x", "input_mtok": 1}]} {}`, []string{"line 1, column 47", "after the top-level object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tb.WithOverrides(strings.NewReader(tt.file))
			if err == nil {
				t.Fatalf("WithOverrides(%q) = %v, nil; want an error", tt.file, got.Version())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("WithOverrides(%q) error %q, want it to contain %q", tt.file, err, w)
				}
			}
		})
	}
}

func TestLoadOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	if err := os.WriteFile(path, []byte(`{"models": [{"match": "gpt-4o", "input_mtok": 9}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ot, err := pricing.LoadOverrides(path)
	if err != nil {
		t.Fatalf("LoadOverrides(%q) error: %v", path, err)
	}
	if got, _ := ot.Price("openai", "gpt-4o", day2026, loupe.Usage{Input: mtok}); !near(got, 9) {
		t.Errorf("Price after LoadOverrides = %v, want 9", got)
	}
	if _, err := pricing.LoadOverrides(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("LoadOverrides(missing file) = nil error, want one")
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"models": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pricing.LoadOverrides(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadOverrides(bad) error = %v, want one naming %s", err, bad)
	}
}

func TestConcurrentUse(t *testing.T) {
	tb := mustDefault(t)
	models := []string{"gpt-4o", "gpt-4o-mini", "o3", "claude-3-5-sonnet-20241022", "unknown-model", "openai/gpt-4o"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				m := models[(g+i)%len(models)]
				s := loupe.Span{Kind: loupe.KindLLM, Start: day2026, ResponseModel: m, Usage: loupe.Usage{Input: 10}}
				tb.Apply(&s)
				if s.CostSource == "" {
					t.Errorf("Apply(%s) left CostSource empty", m)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzWithOverrides(f *testing.F) {
	tb := mustDefault(f)
	f.Add(`{"models": [{"provider": "openai", "match": "gpt-4o*", "start_date": "2026-01-01", "input_mtok": 1, "output_mtok": 2}]}`)
	f.Add(`{"models": [{"match": "*", "input_mtok": 0}]}`)
	f.Add(`{"models": [{"match": "a**b", "output_mtok": 1e308}]}`)
	f.Add(`{"models": []}`)
	f.Add(`{`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, file string) {
		ot, err := tb.WithOverrides(strings.NewReader(file))
		if err != nil {
			return
		}
		if !strings.HasPrefix(ot.Version(), tb.Version()+"+custom:") {
			t.Errorf("Version() = %q", ot.Version())
		}
		usd, _ := ot.Price("openai", "gpt-4o-mini", day2026, loupe.Usage{Input: 1000, Output: 1000})
		if usd < 0 || math.IsNaN(usd) {
			t.Errorf("Price = %v, want a non-negative number", usd)
		}
	})
}

func FuzzPrice(f *testing.F) {
	tb := mustDefault(f)
	f.Add("openai", "gpt-4o-2024-08-06")
	f.Add("", "us.anthropic.claude-3-5-sonnet-20240620-v1:0")
	f.Add("gcp.vertex_ai", "claude-3-5-sonnet@20240620")
	f.Add("x.y.z", "a/b/c@:-v1:0-2024-01-01")
	f.Fuzz(func(t *testing.T, provider, model string) {
		usd, ok := tb.Price(provider, model, day2026, loupe.Usage{Input: 1000, Output: 1000})
		if usd < 0 || math.IsNaN(usd) || (!ok && usd != 0) {
			t.Errorf("Price(%q, %q) = %v, %v", provider, model, usd, ok)
		}
	})
}
