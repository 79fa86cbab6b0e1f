package otlp

import (
	"strings"

	"github.com/loupehq/loupe"
)

// kind detects the span kind following SEMCONV.md §4.8, with loupe.span.kind
// (§0) first. It consumes only the explicit kind attributes; the conventions'
// classifiers (gen_ai.operation.name, openinference.span.kind, ...) carry
// more than the kind and stay in the attributes.
func (c *spanCtx) kind(name string, root bool) loupe.Kind {
	if s := c.peekStr(kLoupeSpanKind); s != "" {
		if k := loupe.Kind(strings.ToLower(s)); k.Valid() {
			c.str(kLoupeSpanKind)
			return k
		}
	}
	k := c.detectKind(name)
	switch {
	case k == loupe.KindChain && looksLikeParser(name):
		return loupe.KindParser
	case k == loupe.KindChain && root:
		return loupe.KindRequest
	case k == "" && root:
		return loupe.KindRequest
	case k == "":
		return loupe.KindSpan
	}
	return k
}

// detectKind applies the conventions' rules in order; "" when none matches.
func (c *spanCtx) detectKind(name string) loupe.Kind {
	// 1. Langfuse observation type (an explicit override).
	if t := c.peekStr(kLfType); t != "" {
		if k := langfuseKind(t); k != "" {
			c.str(kLfType)
			return k
		}
	}
	// 2. OpenInference.
	switch strings.ToUpper(c.peekStr(kOIKind)) {
	case "LLM":
		return loupe.KindLLM
	case "EMBEDDING":
		return loupe.KindEmbedding
	case "CHAIN":
		return loupe.KindChain
	case "RETRIEVER", "RERANKER":
		return loupe.KindRetrieval
	case "TOOL":
		return loupe.KindTool
	case "AGENT":
		return loupe.KindAgent
	case "GUARDRAIL":
		return loupe.KindGuardrail
	case "EVALUATOR":
		return loupe.KindEval
	case "PROMPT":
		return loupe.KindPrompt
	}
	// 3. OTel GenAI operation.
	if k := operationKind(c.peekStr(kOperation)); k != "" {
		return k
	}
	// 4. OpenLLMetry.
	switch strings.ToLower(c.peekStr(kTLKind)) {
	case "workflow", "task":
		return loupe.KindChain
	case "agent":
		return loupe.KindAgent
	case "tool":
		return loupe.KindTool
	}
	switch strings.ToLower(c.peekStr(kLLMReqType)) {
	case "chat", "completion":
		return loupe.KindLLM
	case "embedding":
		return loupe.KindEmbedding
	case "rerank":
		return loupe.KindRetrieval
	}
	if isVectorDB(c.peekStr(kDBSystem, kDBSystemName)) {
		return loupe.KindRetrieval
	}
	// 5. Vercel AI SDK legacy spans.
	op := c.peekStr(kAIOperationID)
	if op == "" && strings.HasPrefix(name, "ai.") {
		op = name
	}
	if op != "" {
		switch {
		case strings.HasSuffix(op, ".doGenerate"), strings.HasSuffix(op, ".doStream"):
			return loupe.KindLLM
		case strings.HasSuffix(op, ".doEmbed"):
			return loupe.KindEmbedding
		case op == "ai.toolCall":
			return loupe.KindTool
		case op == "ai.generateText", op == "ai.streamText", op == "ai.generateObject", op == "ai.streamObject",
			op == "ai.embed", op == "ai.embedMany":
			return loupe.KindChain
		}
	}
	// 6. Legacy OTel GenAI.
	if (c.has(kGenAISystem) && (c.has(kReqModel) || c.has(kRespModel))) ||
		c.sl.fam[famPromptN-numKeys] > 0 || c.sl.fam[famComplN-numKeys] > 0 ||
		c.has(kGenAIPrompt) || c.has(kGenAICompletion) {
		return loupe.KindLLM
	}
	// 7. Heuristics.
	switch {
	case strings.HasPrefix(name, "chat "):
		return loupe.KindLLM
	case strings.HasPrefix(name, "embeddings "):
		return loupe.KindEmbedding
	case strings.HasPrefix(name, "execute_tool "), c.has(kToolName), c.has(kToolCallID):
		return loupe.KindTool
	case c.has(kLfModel), c.has(kReqModel), c.has(kRespModel), c.has(kLLMModel), c.has(kLLMReqModel), c.has(kAIModelID), c.has(kModelName):
		return loupe.KindLLM
	case c.has(kEmbModel):
		return loupe.KindEmbedding
	case c.has(kRetrievalQuery), c.has(kRetrievalDocs), c.sl.fam[famDocs-numKeys] > 0:
		return loupe.KindRetrieval
	case c.has(kGuardrailName):
		return loupe.KindGuardrail
	case c.has(kEvalName):
		return loupe.KindEval
	}
	// 8. Parsers.
	if c.has(kParserSchema) || c.has(kParserSchema2) || looksLikeParser(name) {
		return loupe.KindParser
	}
	return ""
}

// langfuseKind maps langfuse.observation.type; "" for the generic span and
// event types, which say nothing about the kind.
func langfuseKind(t string) loupe.Kind {
	switch strings.ToLower(t) {
	case "generation":
		return loupe.KindLLM
	case "embedding":
		return loupe.KindEmbedding
	case "agent":
		return loupe.KindAgent
	case "tool":
		return loupe.KindTool
	case "chain":
		return loupe.KindChain
	case "retriever":
		return loupe.KindRetrieval
	case "guardrail":
		return loupe.KindGuardrail
	case "evaluator":
		return loupe.KindEval
	}
	return ""
}

// operationKind maps gen_ai.operation.name (SEMCONV §1.2, plus the
// non-standard names seen in the wild).
func operationKind(op string) loupe.Kind {
	switch op {
	case "chat", "generate_content", "text_completion", "completion", "generate":
		return loupe.KindLLM
	case "embeddings":
		return loupe.KindEmbedding
	case "retrieval", "rerank":
		return loupe.KindRetrieval
	case "execute_tool":
		return loupe.KindTool
	case "invoke_agent", "create_agent", "plan", "agent_step":
		return loupe.KindAgent
	case "invoke_workflow", "execute_task":
		return loupe.KindChain
	case "run_guardrail":
		return loupe.KindGuardrail
	}
	return ""
}

func isVectorDB(s string) bool {
	switch strings.ToLower(s) {
	case "pinecone", "chroma", "chromadb", "qdrant", "weaviate", "milvus", "lancedb", "marqo", "pgvector", "faiss", "vespa", "turbopuffer":
		return true
	}
	return false
}

// looksLikeParser matches parser and validation step names (LangChain's
// *OutputParser, "parse", "validate_json", ...).
func looksLikeParser(name string) bool {
	l := strings.ToLower(name)
	return strings.HasSuffix(l, "outputparser") || strings.HasPrefix(l, "parse") ||
		strings.HasPrefix(l, "validat") || strings.HasPrefix(l, "parser.")
}
