package otlp

import (
	"strings"

	"github.com/loupehq/loupe"
)

// params fills out.Params. Precedence (SEMCONV §4.1): Langfuse
// model.parameters, OTel GenAI, deprecated OTel/OpenAI, OpenInference
// invocation parameters, OpenLLMetry, Vercel ai.settings, loupe aliases.
func (c *spanCtx) params() {
	p := &c.out.Params
	lf := c.object(kLfModelParams)
	ip := c.object(kInvocationParams)
	if ip == nil {
		ip = c.object(kEmbInvocationParams)
	}
	// num reads a float from the JSON maps first (lf), then keys, then ip.
	num := func(dst **float64, lfName string, keys []attrKey, ipNames ...string) {
		if v, ok := toFloat(lf[lfName]); ok {
			*dst = ref(v)
			return
		}
		if v, ok := c.float(keys...); ok {
			*dst = ref(v)
			return
		}
		for _, n := range ipNames {
			if v, ok := toFloat(ip[n]); ok {
				*dst = ref(v)
				return
			}
		}
	}
	integer := func(dst **int64, lfNames []string, keys []attrKey, ipNames ...string) {
		for _, n := range lfNames {
			if v, ok := toInt(lf[n]); ok {
				*dst = ref(v)
				return
			}
		}
		if v, ok := c.int(keys...); ok {
			*dst = ref(v)
			return
		}
		for _, n := range ipNames {
			if v, ok := toInt(ip[n]); ok {
				*dst = ref(v)
				return
			}
		}
	}
	num(&p.Temperature, "temperature", []attrKey{kTemperature, kAISetTemperature, kModelTemperature}, "temperature")
	num(&p.TopP, "top_p", []attrKey{kTopP, kAISetTopP}, "top_p")
	num(&p.TopK, "top_k", []attrKey{kTopK, kLLMTopK, kAISetTopK}, "top_k")
	num(&p.FrequencyPenalty, "frequency_penalty", []attrKey{kFreqPen, kAISetFreqPen}, "frequency_penalty")
	num(&p.PresencePenalty, "presence_penalty", []attrKey{kPresPen, kAISetPresPen}, "presence_penalty")
	integer(&p.MaxTokens, []string{"max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens"},
		[]attrKey{kMaxTokens, kAISetMaxOut, kAISetMaxTokens, kModelMaxOut},
		"max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens", "max_new_tokens")
	integer(&p.Seed, []string{"seed"}, []attrKey{kSeed, kOpenAISeed, kAISetSeed}, "seed")

	if b, ok := toBool(lf["stream"]); ok {
		p.Stream = ref(b)
	} else if v := c.take(kStream); v != nil {
		if b, ok := toBool(scalar(v)); ok {
			p.Stream = ref(b)
		}
	} else if v := c.take(kLLMStreaming); v != nil {
		if b, ok := toBool(scalar(v)); ok {
			p.Stream = ref(b)
		}
	} else if b, ok := toBool(ip["stream"]); ok {
		p.Stream = ref(b)
	}

	switch {
	case lf["stop"] != nil:
		p.StopSequences = stringList(lf["stop"])
	case c.has(kStop):
		p.StopSequences = stringList(anyValue(c.take(kStop)))
	case c.has(kLLMStop):
		p.StopSequences = stringList(structured(c.take(kLLMStop)))
	case c.has(kAISetStop):
		p.StopSequences = stringList(structured(c.take(kAISetStop)))
	case ip["stop"] != nil:
		p.StopSequences = stringList(ip["stop"])
	}

	switch {
	case lf["response_format"] != nil:
		p.ResponseFormat = responseFormat(lf["response_format"])
	case c.has(kOutputType):
		p.ResponseFormat = responseFormat(c.str(kOutputType))
	case c.has(kOpenAIRespFormat):
		p.ResponseFormat = responseFormat(structured(c.take(kOpenAIRespFormat)))
	case ip["response_format"] != nil:
		p.ResponseFormat = responseFormat(ip["response_format"])
	case c.has(kAISetOutput):
		switch c.str(kAISetOutput) {
		case "object", "array", "enum", "no-schema":
			p.ResponseFormat = "json"
		}
	}

	switch {
	case lf["tool_choice"] != nil:
		p.ToolChoice = toolChoice(lf["tool_choice"])
	case c.has(kToolChoice):
		p.ToolChoice = toolChoice(structured(c.take(kToolChoice)))
	case ip["tool_choice"] != nil:
		p.ToolChoice = toolChoice(ip["tool_choice"])
	case c.has(kAIToolChoice):
		p.ToolChoice = toolChoice(structured(c.take(kAIToolChoice)))
	}

	if v, ok := c.float(kLoupeTimeout); ok {
		p.TimeoutMs = ref(v)
	} else if v, ok := toFloat(ip["timeout"]); ok { // OpenAI clients: seconds
		v *= 1000
		p.TimeoutMs = ref(v)
	} else if v, ok := toFloat(ip["timeout_ms"]); ok {
		p.TimeoutMs = ref(v)
	}
}

// stringList converts a string or list value to []string.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		if d, ok := maybeJSON(x); ok {
			return stringList(d)
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := scalarString(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// responseFormat reduces a response format (a string, or OpenAI's
// {"type": ...} object) to its type.
func responseFormat(v any) string {
	switch x := v.(type) {
	case string:
		if d, ok := maybeJSON(x); ok {
			return responseFormat(d)
		}
		return strings.ToLower(x)
	case map[string]any:
		if t, ok := x["type"].(string); ok {
			return strings.ToLower(t)
		}
		if _, ok := x["json_schema"]; ok {
			return "json_schema"
		}
	}
	return ""
}

// toolChoice reduces a tool choice (a string, OpenAI's {"type":"function",
// "function":{"name"}}, Anthropic's {"type":"tool","name"} or Vercel's
// {"type":"tool","toolName"}) to auto, none, required or a tool name.
func toolChoice(v any) string {
	switch x := v.(type) {
	case string:
		if d, ok := maybeJSON(x); ok {
			return toolChoice(d)
		}
		if x == "any" { // Anthropic
			return "required"
		}
		return x
	case map[string]any:
		if f, ok := x["function"].(map[string]any); ok {
			if n, ok := f["name"].(string); ok && n != "" {
				return n
			}
		}
		for _, k := range []string{"toolName", "name"} {
			if n, ok := x[k].(string); ok && n != "" {
				return n
			}
		}
		if t, ok := x["type"].(string); ok {
			return toolChoice(t)
		}
	}
	return ""
}

// usage reads token counts and makes them exclusive (SEMCONV §7.7): OTel,
// OpenInference and Vercel inputs include cached tokens and outputs include
// reasoning tokens; Langfuse usage_details are already exclusive; a raw
// Anthropic-style input smaller than its cache counts is exclusive too.
func (c *spanCtx) usage() loupe.Usage {
	if m := c.object(kLfUsage); m != nil {
		return langfuseUsage(m)
	}
	var u loupe.Usage
	in, hasIn := c.int(kInTok, kPromptTok, kOIPromptTok, kAIInTok, kAIPromptTok, kAITokens)
	out, hasOut := c.int(kOutTok, kComplTok, kOIComplTok, kAIOutTok, kAIComplTok)
	u.CacheRead, _ = c.int(kCacheRead, kCacheRead2, kOICacheRead, kAICacheRead, kAICached)
	u.CacheWrite, _ = c.int(kCacheWrite, kCacheCreation, kCacheCreation2, kOICacheWrite, kAICacheWrite)
	u.Reasoning, _ = c.int(kReasoning, kReasoning2, kLLMReasoning, kOIReasoning, kAIReasoning, kAIOutReasoning)
	totalKeys := []attrKey{kOITotal, kTotal, kLLMTotal, kAITotal}
	var total int64
	var totalKey attrKey
	for _, k := range totalKeys {
		if v, ok := toInt(scalar(c.val(k))); ok {
			total, totalKey = v, k
			break
		}
	}
	if !hasOut && hasIn && totalKey != kNone && total >= in {
		out, hasOut = total-in, true
	}

	if v, ok := c.int(kAINoCache); ok {
		u.Input = v
	} else if in < u.CacheRead+u.CacheWrite {
		u.Input = in // already exclusive (raw Anthropic usage)
	} else {
		u.Input = in - u.CacheRead - u.CacheWrite
	}
	if v, ok := c.int(kAIOutText); ok {
		u.Output = v
	} else if out < u.Reasoning {
		u.Output = out
	} else {
		u.Output = out - u.Reasoning
	}
	u = nonNegative(u)
	// The total is redundant when it agrees with the buckets (inclusive
	// total = exclusive sum); otherwise keep it as an attribute.
	if totalKey != kNone && total == u.Total() {
		for _, k := range totalKeys {
			if v, ok := toInt(scalar(c.val(k))); ok && v == total {
				c.take(k)
			}
		}
	}
	return u
}

func nonNegative(u loupe.Usage) loupe.Usage {
	for _, p := range []*int64{&u.Input, &u.CacheRead, &u.CacheWrite, &u.Output, &u.Reasoning} {
		if *p < 0 {
			*p = 0
		}
	}
	return u
}

// langfuseUsage reads Langfuse usage_details, already exclusive. Unknown
// input_* / output_* types (audio, ...) count in Input / Output.
func langfuseUsage(m map[string]any) loupe.Usage {
	var u loupe.Usage
	for k, v := range m {
		n, ok := toInt(v)
		if !ok {
			continue
		}
		switch {
		case k == "total":
		case k == "input_cached_tokens", k == "input_cache_read", k == "cache_read_input_tokens", k == "input_cached":
			u.CacheRead += n
		case strings.HasPrefix(k, "input_cache_creation"), strings.HasPrefix(k, "input_cache_write"), k == "cache_creation_input_tokens":
			u.CacheWrite += n
		case k == "output_reasoning_tokens", k == "output_reasoning", k == "reasoning_tokens":
			u.Reasoning += n
		case k == "input", k == "prompt_tokens", k == "input_tokens", strings.HasPrefix(k, "input"):
			u.Input += n
		case k == "output", k == "completion_tokens", k == "output_tokens", strings.HasPrefix(k, "output"):
			u.Output += n
		}
	}
	return nonNegative(u)
}

// cost records a producer-reported cost on billable spans. Wrapper spans'
// aggregate costs stay attributes so they are never counted twice.
func (c *spanCtx) cost() {
	if !c.out.Kind.Billable() {
		return
	}
	if m := c.object(kLfCost); m != nil {
		if t, ok := toFloat(m["total"]); ok {
			c.out.CostUSD = t
		} else {
			for _, v := range m {
				if f, ok := toFloat(v); ok {
					c.out.CostUSD += f
				}
			}
		}
		c.out.CostSource = loupe.CostReported
		return
	}
	if v, ok := c.float(kUsageCost, kOICost); ok {
		c.out.CostUSD = v
		c.out.CostSource = loupe.CostReported
	}
}

// finishReason sets the first finish reason, normalized (SEMCONV §7.4).
func (c *spanCtx) finishReason() {
	if v := c.val(kFinishReasons); v != nil {
		if l := stringList(structured(v)); len(l) > 0 {
			c.take(kFinishReasons)
			c.out.FinishReason = normalizeFinishReason(l[0])
			return
		}
	}
	c.out.FinishReason = normalizeFinishReason(c.str(kOIFinish, kLLMRespFinish, kAIFinish, kGenAIFinish))
}

// ref returns a pointer to a copy of v. Taking &v of a variable declared in
// an if statement makes it escape, so it would be allocated on every call
// even when the branch is not taken; ref allocates only when called.
func ref[T any](v T) *T { return &v }
