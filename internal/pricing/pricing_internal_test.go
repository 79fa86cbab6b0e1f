package pricing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEmbeddedDataDigest(t *testing.T) {
	// The version string names the upstream commit; this pins the data to it.
	sum := sha256.Sum256(embeddedData)
	if got := hex.EncodeToString(sum[:]); got != embeddedSHA256 {
		t.Errorf("sha256(data/data.json) = %s, want %s: update upstreamVersion and embeddedSHA256 with the data", got, embeddedSHA256)
	}
	if _, err := os.Stat("data/LICENSE"); err != nil {
		t.Errorf("the genai-prices licence must ship beside its data: %v", err)
	}
}

func TestEmbeddedTableShape(t *testing.T) {
	tb, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	models := 0
	for _, p := range tb.providers {
		models += len(p.models)
	}
	if len(tb.providers) < 30 || models < 1000 {
		t.Errorf("embedded table has %d providers and %d models, want at least 30 and 1000", len(tb.providers), models)
	}
	for _, id := range []string{"openai", "anthropic", "aws", "azure", "google", "x-ai", "mistral", "groq", "deepseek"} {
		if tb.byID[id] == nil {
			t.Errorf("provider %q missing", id)
		}
	}
	if got := tb.byID["azure"].fallback; len(got) != 2 || got[0].id != "openai" || got[1].id != "anthropic" {
		t.Errorf("azure fallbacks wrong: %v", got)
	}
}

func TestFindProvider(t *testing.T) {
	tb, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"openai": "openai", "anthropic": "anthropic", "aws.bedrock": "aws", "azure.ai.openai": "azure",
		"azure.ai.inference": "azure", "az.ai.openai": "azure", "gcp.vertex_ai": "google", "gcp.gemini": "google",
		"gcp.gen_ai": "google", "vertex_ai": "google", "x_ai": "x-ai", "xai": "x-ai", "mistral_ai": "mistral",
		"cohere": "cohere", "deepseek": "deepseek", "groq": "groq", "perplexity": "perplexity",
		"together_ai": "together", "openai.chat": "openai", "anthropic.messages": "anthropic",
		"google.generative-ai": "google", "moonshot": "moonshotai",
		"": "", "ollama": "", "ibm.watsonx.ai": "",
	}
	for name, want := range tests {
		got := ""
		if p := tb.findProvider(name); p != nil {
			got = p.id
		}
		if got != want {
			t.Errorf("findProvider(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestVariants(t *testing.T) {
	tests := map[string][]string{
		"gpt-4o":        {"gpt-4o"},
		"openai/gpt-4o": {"openai/gpt-4o", "gpt-4o"},
		"us.anthropic.claude-3-5-sonnet-20240620-v1:0": {
			"us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620-v1:0",
			"claude-3-5-sonnet-20240620", "claude-3-5-sonnet",
		},
		"claude-3-5-sonnet@20240620":   {"claude-3-5-sonnet@20240620", "claude-3-5-sonnet"},
		"gpt-4o-mini-2024-07-18":       {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		"nvidia.nemotron-nano-9b-v2:0": {"nvidia.nemotron-nano-9b-v2:0", "nemotron-nano-9b-v2:0", "nemotron-nano-9b"},
		"deepseek-v3":                  {"deepseek-v3"},
		"gpt-4-0613":                   {"gpt-4-0613"},
		"gpt-4.1":                      {"gpt-4.1"},
		"models/gemini-1.5-pro-002":    {"models/gemini-1.5-pro-002", "gemini-1.5-pro-002"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, variants(in)); diff != "" {
			t.Errorf("variants(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"gpt-4o", "gpt-4o", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"gpt-4o*", "gpt-4o-mini", true},
		{"gpt-4o*", "gpt-4", false},
		{"*-mini", "gpt-4o-mini", true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*a", "a", false},
		{"a**", "abc", true},
		{"*ab*ab", "abab", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestRateTiers(t *testing.T) {
	r := rate{set: true, base: 1, tiers: []tier{{start: 100, price: 2}, {start: 1000, price: 3}}}
	for _, c := range []struct {
		total int64
		want  float64
	}{{0, 1}, {100, 1}, {101, 2}, {1000, 2}, {1001, 3}} {
		if got := r.at(c.total); got != c.want {
			t.Errorf("rate.at(%d) = %v, want %v", c.total, got, c.want)
		}
	}
}

func TestLookupCacheBounded(t *testing.T) {
	tb, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	c := newLookupCache(64)
	for i := range 2000 {
		k := cacheKey{"openai", fmt.Sprintf("model-%d", i)}
		c.put(k, tb.resolve(k.provider, k.model))
	}
	if n := c.len(); n > 64 {
		t.Errorf("cache holds %d entries after 2000 inserts, want at most 64", n)
	}
	k := cacheKey{"openai", "gpt-4o"}
	c.put(k, tb.resolve(k.provider, k.model))
	if e, ok := c.get(k); !ok || e == nil || e.builtin == nil || e.builtin.id != "gpt-4o" {
		t.Errorf("cache get(%v) = %v, %v; want the gpt-4o entry", k, e, ok)
	}
	if e, ok := c.get(cacheKey{"openai", "model-0"}); ok && e != nil {
		t.Errorf("unknown model cached as %v, want nil", e)
	}
}

func TestParseTableErrors(t *testing.T) {
	const okModel = `{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": 1}}`
	tests := map[string]string{
		"not a list":        `{}`,
		"provider no id":    `[{"models": []}]`,
		"duplicate id":      `[{"id": "a", "models": []}, {"id": "a", "models": []}]`,
		"two-key clause":    `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m", "contains": "m"}, "prices": {}}]}]`,
		"unknown clause":    `[{"id": "a", "models": [{"id": "m", "match": {"like": "m"}, "prices": {}}]}]`,
		"empty or":          `[{"id": "a", "models": [{"id": "m", "match": {"or": []}, "prices": {}}]}]`,
		"bad regex":         `[{"id": "a", "models": [{"id": "m", "match": {"regex": "(("}, "prices": {}}]}]`,
		"bad model_match":   `[{"id": "a", "model_match": {"equals": 1}, "models": []}]`,
		"string price":      `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": "1"}}]}]`,
		"negative price":    `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": -1}}]}]`,
		"tier without base": `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": {"tiers": []}}}]}]`,
		"empty price list":  `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": []}]}]`,
		"bad start_date":    `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"start_date": "soon"}, "prices": {}}]}]}]`,
		"bad start_time":    `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {"start_time": "25:00", "end_time": "01:00:00Z"}, "prices": {}}]}]}]`,
		"empty constraint":  `[{"id": "a", "models": [{"id": "m", "match": {"equals": "m"}, "prices": [{"constraint": {}, "prices": {}}]}]}]`,
		"unknown fallback":  `[{"id": "a", "fallback_model_providers": ["b"], "models": [` + okModel + `]}]`,
	}
	for name, data := range tests {
		if _, err := parseTable([]byte(data), "test"); err == nil {
			t.Errorf("%s: parseTable(%s) = nil error, want one", name, data)
		}
	}
	if _, err := parseTable([]byte(`[{"id": "a", "models": [`+okModel+`]}]`), "test"); err != nil {
		t.Errorf("parseTable(valid) error: %v", err)
	}
}

func TestConditionalPrices(t *testing.T) {
	prices, err := parsePrices([]byte(`[
		{"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 1}},
		{"constraint": {"start_time": "22:00:00Z", "end_time": "02:00:00Z"}, "prices": {"input_mtok": 2}},
		{"constraint": {"start_time": "10:00:00+02:00", "end_time": "11:00:00"}, "prices": {"input_mtok": 3}}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		want float64
	}{
		// No constraint holds: the first price is used.
		{time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), 1},
		// Night window wrapping past midnight (later entries win).
		{time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), 2},
		{time.Date(2026, 1, 1, 1, 59, 59, 0, time.UTC), 2},
		{time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC), 1},
		// 10:00+02:00 is 08:00 UTC; 11:00 without zone is UTC.
		{time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 1, 1, 10, 59, 0, 0, time.UTC), 3},
		{time.Date(2026, 1, 1, 7, 59, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		if got := pricesAt(prices, tt.at).input.base; got != tt.want {
			t.Errorf("pricesAt(%v) input = %v, want %v", tt.at, got, tt.want)
		}
	}
}
