package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loupehq/loupe"
)

// The embedded price table: pydantic/genai-prices prices/new_data/v2/data.json
// at commit 47df840a5ab10bbcffb8e5ac01b9899032245d1b (MIT, data/LICENSE).
// When updating data/data.json, update upstreamVersion and embeddedSHA256
// together (a test checks the digest).
const (
	upstreamVersion = "genai-prices@47df840a"
	embeddedSHA256  = "e0364c430e72dac6e747f15093a853bb73f20becac9e54f1f1e6ca33d72dda4d"
)

//go:embed data/data.json
var embeddedData []byte

// defaultTable parses the embedded table once, on first use. The result is
// immutable apart from its internal lookup cache.
var defaultTable = sync.OnceValues(func() (*Table, error) {
	return parseTable(embeddedData, upstreamVersion)
})

const (
	// cacheCapacity bounds the (provider, model) lookup cache of a table.
	cacheCapacity = 16384
	// maxModelLen is the longest model name matched; longer names are
	// treated as unknown without scanning the table.
	maxModelLen = 256
)

// Table is a model price table: the embedded genai-prices data plus any
// custom overrides. It is immutable and safe for concurrent use.
type Table struct {
	version    string
	costSource string // loupe.CostComputedPrefix + version

	providers []*provider          // in data order; shared between derived tables
	byID      map[string]*provider // by genai-prices provider id
	rules     []*rule              // custom overrides, in precedence order (later wins ties)

	cache *lookupCache
}

// provider is one genai-prices provider.
type provider struct {
	id            string
	modelMatch    *clause // may be nil
	providerMatch *clause // may be nil
	fallback      []*provider
	models        []model
}

// model is one genai-prices model with its (possibly time-dependent) prices.
type model struct {
	id     string
	match  clause
	prices []conditionalPrice // never empty
}

// entry is the cached match result of one (provider, model) pair.
type entry struct {
	custom  []*rule // matching overrides
	builtin *model  // matching embedded model, or nil
}

// Default returns the embedded table (parsed once; safe for concurrent use).
func Default() (*Table, error) {
	return defaultTable()
}

// Version identifies the table: "genai-prices@<commit>", followed by
// "+custom:<sha256 prefix>" for each overrides file loaded.
func (t *Table) Version() string { return t.version }

// Price computes the cost in USD of one call to model served by provider at
// time at (zero means now), for the exclusive usage buckets u: input at the
// input price, cache reads at the cache-read price and cache writes at the
// cache-write price (each the input price when the model has none), output
// at the output price and reasoning at the reasoning price (the output price
// when none). ok is false when no price is known for the model.
func (t *Table) Price(provider, model string, at time.Time, u loupe.Usage) (usd float64, ok bool) {
	e := t.lookup(provider, model)
	if e == nil {
		return 0, false
	}
	if at.IsZero() {
		at = time.Now()
	}
	p := e.pricesAt(at)
	if p == nil {
		return 0, false
	}
	return p.cost(u), true
}

// Apply prices one normalized span in place, for use as otlp.Options.Price.
// It touches only spans of billable kinds (loupe.Kind.Billable) whose
// CostSource is empty, so reported costs and wrapper spans stay as they are.
// It prices the response model, else the request model, at the span's start
// time, and sets CostUSD and CostSource to loupe.CostComputedPrefix+Version();
// when no price is known or the span records no usage it sets CostUSD 0 and
// CostSource loupe.CostUnknown.
func (t *Table) Apply(s *loupe.Span) {
	if !s.Kind.Billable() || s.CostSource != "" {
		return
	}
	s.CostUSD = 0
	s.CostSource = loupe.CostUnknown
	if s.Usage.IsZero() {
		return
	}
	at := s.Start
	if at.IsZero() {
		at = s.End
	}
	if usd, ok := t.Price(s.Provider, s.ResponseModel, at, s.Usage); ok {
		s.CostUSD, s.CostSource = usd, t.costSource
		return
	}
	if s.RequestModel == s.ResponseModel {
		return
	}
	if usd, ok := t.Price(s.Provider, s.RequestModel, at, s.Usage); ok {
		s.CostUSD, s.CostSource = usd, t.costSource
	}
}

// pricesAt returns the prices valid at time at: the custom override with the
// latest start date not after at (later rules win ties), else the embedded
// model's price at that time, else nil.
func (e *entry) pricesAt(at time.Time) *modelPrice {
	var best *rule
	for _, r := range e.custom {
		if !at.Before(r.start) && (best == nil || !r.start.Before(best.start)) {
			best = r
		}
	}
	if best != nil {
		return &best.price
	}
	if e.builtin != nil {
		return pricesAt(e.builtin.prices, at)
	}
	return nil
}

// lookup returns the match result for (providerName, modelName), cached.
func (t *Table) lookup(providerName, modelName string) *entry {
	if modelName == "" {
		return nil
	}
	k := cacheKey{providerName, modelName}
	if e, ok := t.cache.get(k); ok {
		return e
	}
	e := t.resolve(providerName, modelName)
	t.cache.put(k, e)
	return e
}

// resolve matches a provider and model name against the overrides and the
// embedded table (uncached).
func (t *Table) resolve(providerName, modelName string) *entry {
	pn := strings.ToLower(strings.TrimSpace(providerName))
	mn := strings.ToLower(strings.TrimSpace(modelName))
	if mn == "" || len(mn) > maxModelLen {
		return nil
	}
	vs := variants(mn)
	prov := t.findProvider(pn)
	ruleProv := prov
	if ruleProv == nil {
		ruleProv = t.prefixProvider(mn)
	}
	e := &entry{custom: t.matchRules(pn, ruleProv, vs), builtin: t.findModel(prov, mn, vs)}
	if len(e.custom) == 0 && e.builtin == nil {
		return nil
	}
	return e
}

// findModel finds the embedded model for the lowercased model name mn (with
// its tolerant variants vs) served by prov (nil when unknown).
//
// A known provider is searched first, with its fallback providers
// (genai-prices semantics: Azure falls back to OpenAI, Google and AWS to
// Anthropic, one step only). When the provider is unknown, or is a gateway
// that does not list the model (an OpenAI-compatible client pointed at a
// proxy), the model is searched at the provider named by a "vendor/" prefix
// of the model, then at the providers whose model_match accepts it; only a
// wholly unknown provider then falls back to the first provider, in data
// order, that lists the model.
func (t *Table) findModel(prov *provider, mn string, vs []string) *model {
	if prov != nil {
		if m := prov.find(vs, true); m != nil {
			return m
		}
	}
	if pp := t.prefixProvider(mn); pp != nil && pp != prov {
		if m := pp.find(variants(mn[strings.IndexByte(mn, '/')+1:]), true); m != nil {
			return m
		}
	}
	for _, p := range t.providers {
		if p == prov || p.modelMatch == nil || !slices.ContainsFunc(vs, p.modelMatch.match) {
			continue
		}
		if m := p.find(vs, true); m != nil {
			return m
		}
	}
	if prov != nil {
		return nil
	}
	for _, p := range t.providers {
		if m := p.find(vs, false); m != nil {
			return m
		}
	}
	return nil
}

// find returns the first model of p matching one of the variants, trying
// each variant in order against p's models and then (withFallback) against
// its fallback providers' models.
func (p *provider) find(vs []string, withFallback bool) *model {
	for _, v := range vs {
		for i := range p.models {
			if p.models[i].match.match(v) {
				return &p.models[i]
			}
		}
		if !withFallback {
			continue
		}
		for _, f := range p.fallback {
			for i := range f.models {
				if f.models[i].match.match(v) {
					return &f.models[i]
				}
			}
		}
	}
	return nil
}

// prefixProvider returns the provider named by a "vendor/" prefix of the
// lowercased model name, as in "openai/gpt-4o", or nil.
func (t *Table) prefixProvider(mn string) *provider {
	i := strings.IndexByte(mn, '/')
	if i <= 0 {
		return nil
	}
	return t.findProvider(mn[:i])
}

// findProvider maps a lowercased provider name to a table provider: OTel
// gen_ai.provider.name values (and their pre-v1.37 gen_ai.system spellings)
// first, then the genai-prices id, then each provider's provider_match rule,
// then the part before the first dot (Vercel's "openai.chat"). It returns nil
// for "" and unknown names.
func (t *Table) findProvider(name string) *provider {
	if name == "" {
		return nil
	}
	if id := otelProviderID(name); id != "" {
		if p := t.byID[id]; p != nil {
			return p
		}
	}
	if p := t.byID[name]; p != nil {
		return p
	}
	for _, p := range t.providers {
		if p.providerMatch != nil && p.providerMatch.match(name) {
			return p
		}
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return t.findProvider(name[:i])
	}
	return nil
}

// otelProviderID maps OTel GenAI provider names (SEMCONV.md §1.5) to
// genai-prices provider ids; "" when there is no explicit mapping.
func otelProviderID(name string) string {
	switch name {
	case "openai":
		return "openai"
	case "anthropic":
		return "anthropic"
	case "aws.bedrock", "bedrock", "amazon_bedrock":
		return "aws"
	case "azure.ai.openai", "azure.ai.inference", "az.ai.openai", "az.ai.inference", "azure_openai", "azure":
		return "azure"
	case "gcp.vertex_ai", "gcp.gemini", "gcp.gen_ai", "vertex_ai", "vertexai", "gemini", "google":
		return "google"
	case "x_ai", "xai":
		return "x-ai"
	case "mistral_ai", "mistralai":
		return "mistral"
	case "together_ai", "togetherai":
		return "together"
	case "fireworks_ai":
		return "fireworks"
	case "moonshot", "moonshot_ai":
		return "moonshotai"
	case "zhipu", "zhipu_ai":
		return "zhipuai"
	case "voyage", "voyage_ai":
		return "voyageai"
	}
	return ""
}

// variants returns the lowercased model name followed by progressively
// relaxed forms (SEMCONV.md §7.8), without duplicates:
//
//	openai/gpt-4o                                  -> gpt-4o
//	us.anthropic.claude-3-5-sonnet-20240620-v1:0   -> claude-3-5-sonnet-20240620-v1:0 -> claude-3-5-sonnet-20240620 -> claude-3-5-sonnet
//	claude-3-5-sonnet@20240620                     -> claude-3-5-sonnet
//	gpt-4o-2099-01-01                              -> gpt-4o
//
// The table's own rules are always tried on the exact name first.
func variants(m string) []string {
	vs := make([]string, 1, 5)
	vs[0] = m
	cur := m
	add := func(s string) {
		if s != cur && s != "" {
			cur = s
			if !slices.Contains(vs, s) {
				vs = append(vs, s)
			}
		}
	}
	if i := strings.LastIndexByte(cur, '/'); i >= 0 {
		add(cur[i+1:])
	}
	add(stripBedrockPrefix(cur))
	add(stripVersionSuffix(cur))
	add(stripDateSuffix(cur))
	return vs
}

// stripBedrockPrefix removes an AWS Bedrock cross-region inference prefix
// ("us.", "global.", ...) and a vendor prefix ("anthropic.", "meta.", ...).
func stripBedrockPrefix(s string) string {
	for _, p := range [...]string{"us.", "eu.", "apac.", "au.", "jp.", "ca.", "us-gov.", "global."} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	for _, p := range [...]string{"anthropic.", "amazon.", "meta.", "mistral.", "cohere.", "ai21.",
		"deepseek.", "openai.", "qwen.", "writer.", "google.", "nvidia."} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest
		}
	}
	return s
}

// stripVersionSuffix removes a Vertex "@version" suffix and a Bedrock
// "-v1:0" (or ":0") suffix.
func stripVersionSuffix(s string) string {
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && allDigits(s[i+1:]) {
		s = s[:i]
		if j := strings.LastIndex(s, "-v"); j > 0 && allDigits(s[j+2:]) {
			s = s[:j]
		}
	}
	return s
}

// stripDateSuffix removes a dated snapshot suffix: -YYYY-MM-DD or -YYYYMMDD.
func stripDateSuffix(s string) string {
	if n := len(s); n > 11 && s[n-11] == '-' && s[n-6] == '-' && s[n-3] == '-' &&
		allDigits(s[n-10:n-6]) && allDigits(s[n-5:n-3]) && allDigits(s[n-2:]) {
		return s[:n-11]
	}
	if n := len(s); n > 9 && s[n-9] == '-' && allDigits(s[n-8:]) && (s[n-8] == '1' || s[n-8] == '2') {
		return s[:n-9]
	}
	return s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseTable parses a genai-prices v2 data file (a list of providers).
func parseTable(data []byte, version string) (*Table, error) {
	var raw []struct {
		ID                     string          `json:"id"`
		ModelMatch             json.RawMessage `json:"model_match"`
		ProviderMatch          json.RawMessage `json:"provider_match"`
		FallbackModelProviders []string        `json:"fallback_model_providers"`
		Models                 []struct {
			ID     string          `json:"id"`
			Match  json.RawMessage `json:"match"`
			Prices json.RawMessage `json:"prices"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse price table: %w", err)
	}
	t := &Table{
		version:    version,
		costSource: loupe.CostComputedPrefix + version,
		byID:       make(map[string]*provider, len(raw)),
		cache:      newLookupCache(cacheCapacity),
	}
	for _, rp := range raw {
		p := &provider{id: rp.ID}
		if p.id == "" {
			return nil, fmt.Errorf("parse price table: provider without id")
		}
		if _, dup := t.byID[p.id]; dup {
			return nil, fmt.Errorf("parse price table: duplicate provider %q", p.id)
		}
		for _, m := range [...]struct {
			raw json.RawMessage
			dst **clause
		}{{rp.ModelMatch, &p.modelMatch}, {rp.ProviderMatch, &p.providerMatch}} {
			if len(m.raw) == 0 || string(m.raw) == "null" {
				continue
			}
			c, err := parseClause(m.raw)
			if err != nil {
				return nil, fmt.Errorf("parse price table: provider %q: %w", p.id, err)
			}
			*m.dst = &c
		}
		p.models = make([]model, 0, len(rp.Models))
		for _, rm := range rp.Models {
			c, err := parseClause(rm.Match)
			if err != nil {
				return nil, fmt.Errorf("parse price table: model %s/%s: %w", p.id, rm.ID, err)
			}
			prices, err := parsePrices(rm.Prices)
			if err != nil {
				return nil, fmt.Errorf("parse price table: model %s/%s: %w", p.id, rm.ID, err)
			}
			p.models = append(p.models, model{id: rm.ID, match: c, prices: prices})
		}
		t.providers = append(t.providers, p)
		t.byID[p.id] = p
	}
	for i, rp := range raw {
		for _, id := range rp.FallbackModelProviders {
			f := t.byID[id]
			if f == nil {
				return nil, fmt.Errorf("parse price table: provider %q: unknown fallback provider %q", rp.ID, id)
			}
			t.providers[i].fallback = append(t.providers[i].fallback, f)
		}
	}
	return t, nil
}
