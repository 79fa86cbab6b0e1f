package otlp

import "strings"

// normalizeProvider maps a provider name of any convention to the
// gen_ai.provider.name values (SEMCONV §1.5, §7.0, §7.5): old gen_ai.system
// names, OpenInference llm.system/llm.provider values, and Vercel
// "provider.api" names.
func normalizeProvider(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	for p := s; ; {
		if v := providerAlias(p); v != "" {
			return v
		}
		i := strings.LastIndexByte(p, '.')
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return s
}

// providerAlias returns the canonical name of a known provider name, "" if
// unknown.
func providerAlias(p string) string {
	switch p {
	case "openai", "anthropic", "cohere", "perplexity", "deepseek", "groq", "moonshot_ai",
		"aws.bedrock", "azure.ai.openai", "azure.ai.inference", "gcp.gen_ai", "gcp.vertex_ai", "gcp.gemini",
		"ibm.watsonx.ai", "x_ai", "mistral_ai", "ollama", "fireworks", "together_ai", "hugging_face",
		"ai21", "meta", "replicate", "openrouter", "cerebras":
		return p
	case "az.ai.openai", "azure", "azure_openai", "azure-openai", "azure.openai":
		return "azure.ai.openai"
	case "az.ai.inference", "azure.inference", "azure_ai_inference":
		return "azure.ai.inference"
	case "vertex_ai", "vertexai", "vertex", "google.vertex", "google_vertex", "google-vertex":
		return "gcp.vertex_ai"
	case "gemini", "google.generative-ai", "google_genai", "google-genai", "google", "google.genai":
		return "gcp.gemini"
	case "xai", "x-ai", "grok":
		return "x_ai"
	case "mistral", "mistralai":
		return "mistral_ai"
	case "bedrock", "aws", "amazon", "amazon-bedrock", "amazon_bedrock", "aws_bedrock", "aws-bedrock":
		return "aws.bedrock"
	case "watsonx", "ibm", "ibm_watsonx", "watsonx.ai":
		return "ibm.watsonx.ai"
	case "together", "togetherai":
		return "together_ai"
	case "huggingface", "hf":
		return "hugging_face"
	case "moonshot", "moonshotai":
		return "moonshot_ai"
	case "fireworks_ai", "fireworks-ai", "fireworksai":
		return "fireworks"
	}
	return ""
}

// normalizeFinishReason maps finish reasons to OTel's values (SEMCONV §7.4):
// stop, length, content_filter, tool_call, error; unknown values pass
// through lowercased.
func normalizeFinishReason(s string) string {
	l := strings.ToLower(strings.TrimSpace(s))
	switch l {
	case "tool_calls", "tool_use", "tool-calls", "tool_call", "function_call", "tool-call":
		return "tool_call"
	case "end_turn", "stop", "stop_sequence", "eos", "complete", "finish_reason_stop":
		return "stop"
	case "max_tokens", "length", "max_output_tokens", "model_length":
		return "length"
	case "content_filter", "content-filter", "safety", "refusal", "recitation":
		return "content_filter"
	case "error":
		return "error"
	}
	return l
}

// provider picks the span's provider by precedence (SEMCONV §4.1).
func (c *spanCtx) provider() string {
	return normalizeProvider(c.str(kProviderName, kGenAISystem, kLLMProvider, kLLMSystem, kAIModelProvider, kModelProvider))
}
