// Package pricing computes the cost of model calls from a price table.
//
// The table embeds the price data of pydantic/genai-prices (MIT licence,
// data/LICENSE): providers with provider_match and model_match rules, models
// with match rules (equals, starts_with, ends_with, contains, regex, or,
// and) and prices in USD per million tokens, flat or tiered on the call's
// input size, and time-dependent through conditional prices. Matching
// follows the upstream semantics: names are compared lowercased, a provider
// is found by id then by provider_match, a model is the first of its
// provider's models whose rule matches (then one step of
// fallback_model_providers), and the conditional price valid at the call's
// start time is the last one whose constraint holds.
//
// On top of that, lookups tolerate the names loupe sees in spans: OTel
// provider names (aws.bedrock, gcp.vertex_ai, x_ai, ...) map to table
// providers; model names are also tried without a "vendor/" prefix, without
// Bedrock region and vendor prefixes ("us.anthropic."), without "@version"
// and "-v1:0" suffixes and without a dated-snapshot suffix. With no or an
// unknown provider, the model is looked up across providers, preferring the
// provider named by a "vendor/" prefix, then those whose model_match accepts
// the model. Results are cached per (provider, model) in a bounded cache,
// so Table.Apply on the ingest path costs a map lookup and a few
// multiplications.
//
// # Custom prices
//
// Table.WithOverrides (and LoadOverrides) read custom prices that take
// precedence over the embedded ones. The file is JSON:
//
//	{
//	  "models": [
//	    {
//	      "provider": "openai",
//	      "match": "gpt-4o-mini*",
//	      "start_date": "2026-01-01",
//	      "input_mtok": 0.15,
//	      "cache_read_mtok": 0.075,
//	      "cache_write_mtok": 0.15,
//	      "output_mtok": 0.6,
//	      "reasoning_mtok": 0.6
//	    }
//	  ]
//	}
//
// Fields of a model entry:
//   - match (required): the model name, case-insensitive; '*' matches any
//     run of characters. It is tested against the same tolerant name
//     variants as the embedded rules ("openai/gpt-4o-mini" matches
//     "gpt-4o-mini").
//   - provider: the provider name as spans carry it (OTel names such as
//     "aws.bedrock" or genai-prices ids such as "aws"); empty matches any
//     provider.
//   - start_date: YYYY-MM-DD (UTC); the price applies to calls starting on or
//     after that day. Without it the price always applies.
//   - input_mtok, cache_read_mtok, cache_write_mtok, output_mtok,
//     reasoning_mtok: USD per million tokens, non-negative. At least one of
//     input_mtok and output_mtok is required. Cache prices default to the
//     input price and the reasoning price to the output price.
//
// Among the custom entries that match a call, the one with the latest
// start_date not after the call's start wins (on a tie, the later entry);
// when none applies, the embedded price is used. Unknown fields, trailing
// data, bad dates and negative prices are refused with their line and
// column.
package pricing
