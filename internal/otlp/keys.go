// Code generated from the mapping tables of shared/SEMCONV.md; edit by hand.

package otlp

// attrKey identifies an attribute key normalization reads. Looking every
// attribute up once in a table and switching on the result keeps
// normalization a single pass over the attributes.
type attrKey uint16

// Attribute keys; kNone (0) is every key not listed.
const (
	kNone                attrKey = iota
	kLoupeSpanKind               // loupe.span.kind
	kLfType                      // langfuse.observation.type
	kProviderName                // gen_ai.provider.name
	kGenAISystem                 // gen_ai.system
	kLLMProvider                 // llm.provider
	kLLMSystem                   // llm.system
	kAIModelProvider             // ai.model.provider
	kModelProvider               // model.provider
	kLfModel                     // langfuse.observation.model.name
	kReqModel                    // gen_ai.request.model
	kLLMReqModel                 // llm.request.model_name
	kLLMModel                    // llm.model_name
	kAIModelID                   // ai.model.id
	kModelName                   // model.name
	kEmbModel                    // embedding.model_name
	kRerankModel                 // reranker.model_name
	kRespModel                   // gen_ai.response.model
	kLLMRespModel                // llm.response.model_name
	kAIRespModel                 // ai.response.model
	kTemperature                 // gen_ai.request.temperature
	kTopP                        // gen_ai.request.top_p
	kTopK                        // gen_ai.request.top_k
	kMaxTokens                   // gen_ai.request.max_tokens
	kSeed                        // gen_ai.request.seed
	kFreqPen                     // gen_ai.request.frequency_penalty
	kPresPen                     // gen_ai.request.presence_penalty
	kStream                      // gen_ai.request.stream
	kStop                        // gen_ai.request.stop_sequences
	kToolChoice                  // gen_ai.request.tool_choice
	kOpenAISeed                  // gen_ai.openai.request.seed
	kOpenAIRespFormat            // gen_ai.openai.request.response_format
	kOutputType                  // gen_ai.output.type
	kInvocationParams            // llm.invocation_parameters
	kEmbInvocationParams         // embedding.invocation_parameters
	kLLMTopK                     // llm.top_k
	kLLMStop                     // llm.chat.stop_sequences
	kLLMStreaming                // llm.is_streaming
	kModelTemperature            // model.temperature
	kModelMaxOut                 // model.max_output_tokens
	kLfModelParams               // langfuse.observation.model.parameters
	kAISetMaxOut                 // ai.settings.maxOutputTokens
	kAISetMaxTokens              // ai.settings.maxTokens
	kAISetTemperature            // ai.settings.temperature
	kAISetTopP                   // ai.settings.topP
	kAISetTopK                   // ai.settings.topK
	kAISetSeed                   // ai.settings.seed
	kAISetFreqPen                // ai.settings.frequencyPenalty
	kAISetPresPen                // ai.settings.presencePenalty
	kAISetStop                   // ai.settings.stopSequences
	kAISetOutput                 // ai.settings.output
	kAIToolChoice                // ai.prompt.toolChoice
	kLoupeTimeout                // loupe.request.timeout_ms
	kInTok                       // gen_ai.usage.input_tokens
	kPromptTok                   // gen_ai.usage.prompt_tokens
	kOIPromptTok                 // llm.token_count.prompt
	kAIInTok                     // ai.usage.inputTokens
	kAIPromptTok                 // ai.usage.promptTokens
	kAITokens                    // ai.usage.tokens
	kOutTok                      // gen_ai.usage.output_tokens
	kComplTok                    // gen_ai.usage.completion_tokens
	kOIComplTok                  // llm.token_count.completion
	kAIOutTok                    // ai.usage.outputTokens
	kAIComplTok                  // ai.usage.completionTokens
	kCacheRead                   // gen_ai.usage.cache_read.input_tokens
	kCacheRead2                  // gen_ai.usage.cache_read_input_tokens
	kOICacheRead                 // llm.token_count.prompt_details.cache_read
	kAICacheRead                 // ai.usage.inputTokenDetails.cacheReadTokens
	kAICached                    // ai.usage.cachedInputTokens
	kCacheWrite                  // gen_ai.usage.cache_write.input_tokens
	kCacheCreation               // gen_ai.usage.cache_creation.input_tokens
	kCacheCreation2              // gen_ai.usage.cache_creation_input_tokens
	kOICacheWrite                // llm.token_count.prompt_details.cache_write
	kAICacheWrite                // ai.usage.inputTokenDetails.cacheWriteTokens
	kAINoCache                   // ai.usage.inputTokenDetails.noCacheTokens
	kReasoning                   // gen_ai.usage.reasoning.output_tokens
	kReasoning2                  // gen_ai.usage.reasoning_tokens
	kLLMReasoning                // llm.usage.reasoning_tokens
	kOIReasoning                 // llm.token_count.completion_details.reasoning
	kAIReasoning                 // ai.usage.reasoningTokens
	kAIOutReasoning              // ai.usage.outputTokenDetails.reasoningTokens
	kAIOutText                   // ai.usage.outputTokenDetails.textTokens
	kOITotal                     // llm.token_count.total
	kTotal                       // gen_ai.usage.total_tokens
	kLLMTotal                    // llm.usage.total_tokens
	kAITotal                     // ai.usage.totalTokens
	kLfUsage                     // langfuse.observation.usage_details
	kOICost                      // llm.cost.total
	kUsageCost                   // gen_ai.usage.cost
	kLfCost                      // langfuse.observation.cost_details
	kFinishReasons               // gen_ai.response.finish_reasons
	kOIFinish                    // llm.finish_reason
	kLLMRespFinish               // llm.response.finish_reason
	kAIFinish                    // ai.response.finishReason
	kGenAIFinish                 // gen_ai.finishReason
	kStatusLevel                 // langfuse.observation.level
	kLfStatusMsg                 // langfuse.observation.status_message
	kErrorType                   // error.type
	kToolErrorCode               // tool.error_code
	kToolErrorMsg                // tool.error_message
	kService                     // service.name
	kEnvName                     // deployment.environment.name
	kLfEnv                       // langfuse.environment
	kEnvOld                      // deployment.environment
	kAppEnv                      // app.environment
	kLoupeDeploy                 // loupe.deployment.id
	kDeployID                    // deployment.id
	kLfRelease                   // langfuse.release
	kLfVersion                   // langfuse.version
	kServiceVersion              // service.version
	kLoupeTenant                 // loupe.tenant
	kAppTenant                   // app.tenant_id
	kTenantID                    // tenant.id
	kLoupeRoute                  // loupe.route
	kAppRoute                    // app.route
	kHTTPRoute                   // http.route
	kLfSession                   // langfuse.session.id
	kSessionID                   // session.id
	kConversation                // gen_ai.conversation.id
	kTLSession                   // traceloop.association.properties.session_id
	kAIMetaSession               // ai.telemetry.metadata.sessionId
	kAICtxSession                // ai.settings.runtimeContext.sessionId
	kLfUser                      // langfuse.user.id
	kUserID                      // user.id
	kUserIDHash                  // user.id_hash
	kEndUser                     // enduser.id
	kTLUser                      // traceloop.association.properties.user_id
	kGenAIUser                   // gen_ai.user
	kLLMUser                     // llm.user
	kAIMetaUser                  // ai.telemetry.metadata.userId
	kAICtxUser                   // ai.settings.runtimeContext.userId
	kLoupePromptName             // loupe.prompt.name
	kPromptName                  // prompt.name
	kLfObsPromptName             // langfuse.observation.prompt.name
	kLfPromptName                // langfuse.prompt.name
	kGenAIPromptName             // gen_ai.prompt.name
	kTLPromptKey                 // traceloop.prompt.key
	kLoupePromptVersion          // loupe.prompt.version_id
	kPromptVersionID             // prompt.version_id
	kPromptVersion               // prompt.version
	kLfObsPromptVersion          // langfuse.observation.prompt.version
	kLfPromptVersion             // langfuse.prompt.version
	kGenAIPromptVersion          // gen_ai.prompt.version
	kOITemplateVersion           // llm.prompt_template.version
	kTLPromptVersion             // traceloop.prompt.version
	kTLPromptHash                // traceloop.prompt.version_hash
	kAIMetaLfPrompt              // ai.telemetry.metadata.langfusePrompt
	kLoupeRelease                // loupe.prompt.release_label
	kPromptRelease               // prompt.release_label
	kTLPromptVersionName         // traceloop.prompt.version_name
	kToolName                    // gen_ai.tool.name
	kOIToolName                  // tool.name
	kAIToolName                  // ai.toolCall.name
	kTLEntityName                // traceloop.entity.name
	kToolArgs                    // gen_ai.tool.call.arguments
	kToolArgsRedacted            // tool.arguments_redacted
	kAIToolArgs                  // ai.toolCall.args
	kToolResult                  // gen_ai.tool.call.result
	kAIToolResult                // ai.toolCall.result
	kDataSource                  // gen_ai.data_source.id
	kRetrievalIndex              // retrieval.index
	kDBCollection                // db.collection.name
	kRetrievalQuery              // gen_ai.retrieval.query.text
	kRerankQuery                 // reranker.query
	kRetrievalDocs               // gen_ai.retrieval.documents
	kRetrievalResults            // retrieval.results
	kRetrievalDocIDs             // retrieval.document_ids
	kInputMessages               // gen_ai.input.messages
	kOutputMessages              // gen_ai.output.messages
	kSystemInstructions          // gen_ai.system_instructions
	kGenAIPrompt                 // gen_ai.prompt
	kGenAICompletion             // gen_ai.completion
	kAIPromptMessages            // ai.prompt.messages
	kAIPrompt                    // ai.prompt
	kAIRespText                  // ai.response.text
	kAIRespToolCalls             // ai.response.toolCalls
	kAIRespObject                // ai.response.object
	kAIRespReasoning             // ai.response.reasoning
	kAIRespReasoningText         // ai.response.reasoningText
	kInputValue                  // input.value
	kOutputValue                 // output.value
	kTLInput                     // traceloop.entity.input
	kTLOutput                    // traceloop.entity.output
	kLfInput                     // langfuse.observation.input
	kLfOutput                    // langfuse.observation.output
	kLfTraceInput                // langfuse.trace.input
	kLfTraceOutput               // langfuse.trace.output
	kOperation                   // gen_ai.operation.name
	kOIKind                      // openinference.span.kind
	kTLKind                      // traceloop.span.kind
	kLLMReqType                  // llm.request.type
	kAIOperationID               // ai.operationId
	kDBSystem                    // db.system
	kDBSystemName                // db.system.name
	kParserSchema                // loupe.parser.schema
	kParserSchema2               // parser.schema
	kEvalName                    // loupe.eval.name
	kGuardrailName               // gen_ai.guardrail.component.name
	kToolCallID                  // gen_ai.tool.call.id
	numKeys
)

// keyNames lists the keys of the attrKey constants, in order.
var keyNames = [numKeys]string{
	kLoupeSpanKind:       "loupe.span.kind",
	kLfType:              "langfuse.observation.type",
	kProviderName:        "gen_ai.provider.name",
	kGenAISystem:         "gen_ai.system",
	kLLMProvider:         "llm.provider",
	kLLMSystem:           "llm.system",
	kAIModelProvider:     "ai.model.provider",
	kModelProvider:       "model.provider",
	kLfModel:             "langfuse.observation.model.name",
	kReqModel:            "gen_ai.request.model",
	kLLMReqModel:         "llm.request.model_name",
	kLLMModel:            "llm.model_name",
	kAIModelID:           "ai.model.id",
	kModelName:           "model.name",
	kEmbModel:            "embedding.model_name",
	kRerankModel:         "reranker.model_name",
	kRespModel:           "gen_ai.response.model",
	kLLMRespModel:        "llm.response.model_name",
	kAIRespModel:         "ai.response.model",
	kTemperature:         "gen_ai.request.temperature",
	kTopP:                "gen_ai.request.top_p",
	kTopK:                "gen_ai.request.top_k",
	kMaxTokens:           "gen_ai.request.max_tokens",
	kSeed:                "gen_ai.request.seed",
	kFreqPen:             "gen_ai.request.frequency_penalty",
	kPresPen:             "gen_ai.request.presence_penalty",
	kStream:              "gen_ai.request.stream",
	kStop:                "gen_ai.request.stop_sequences",
	kToolChoice:          "gen_ai.request.tool_choice",
	kOpenAISeed:          "gen_ai.openai.request.seed",
	kOpenAIRespFormat:    "gen_ai.openai.request.response_format",
	kOutputType:          "gen_ai.output.type",
	kInvocationParams:    "llm.invocation_parameters",
	kEmbInvocationParams: "embedding.invocation_parameters",
	kLLMTopK:             "llm.top_k",
	kLLMStop:             "llm.chat.stop_sequences",
	kLLMStreaming:        "llm.is_streaming",
	kModelTemperature:    "model.temperature",
	kModelMaxOut:         "model.max_output_tokens",
	kLfModelParams:       "langfuse.observation.model.parameters",
	kAISetMaxOut:         "ai.settings.maxOutputTokens",
	kAISetMaxTokens:      "ai.settings.maxTokens",
	kAISetTemperature:    "ai.settings.temperature",
	kAISetTopP:           "ai.settings.topP",
	kAISetTopK:           "ai.settings.topK",
	kAISetSeed:           "ai.settings.seed",
	kAISetFreqPen:        "ai.settings.frequencyPenalty",
	kAISetPresPen:        "ai.settings.presencePenalty",
	kAISetStop:           "ai.settings.stopSequences",
	kAISetOutput:         "ai.settings.output",
	kAIToolChoice:        "ai.prompt.toolChoice",
	kLoupeTimeout:        "loupe.request.timeout_ms",
	kInTok:               "gen_ai.usage.input_tokens",
	kPromptTok:           "gen_ai.usage.prompt_tokens",
	kOIPromptTok:         "llm.token_count.prompt",
	kAIInTok:             "ai.usage.inputTokens",
	kAIPromptTok:         "ai.usage.promptTokens",
	kAITokens:            "ai.usage.tokens",
	kOutTok:              "gen_ai.usage.output_tokens",
	kComplTok:            "gen_ai.usage.completion_tokens",
	kOIComplTok:          "llm.token_count.completion",
	kAIOutTok:            "ai.usage.outputTokens",
	kAIComplTok:          "ai.usage.completionTokens",
	kCacheRead:           "gen_ai.usage.cache_read.input_tokens",
	kCacheRead2:          "gen_ai.usage.cache_read_input_tokens",
	kOICacheRead:         "llm.token_count.prompt_details.cache_read",
	kAICacheRead:         "ai.usage.inputTokenDetails.cacheReadTokens",
	kAICached:            "ai.usage.cachedInputTokens",
	kCacheWrite:          "gen_ai.usage.cache_write.input_tokens",
	kCacheCreation:       "gen_ai.usage.cache_creation.input_tokens",
	kCacheCreation2:      "gen_ai.usage.cache_creation_input_tokens",
	kOICacheWrite:        "llm.token_count.prompt_details.cache_write",
	kAICacheWrite:        "ai.usage.inputTokenDetails.cacheWriteTokens",
	kAINoCache:           "ai.usage.inputTokenDetails.noCacheTokens",
	kReasoning:           "gen_ai.usage.reasoning.output_tokens",
	kReasoning2:          "gen_ai.usage.reasoning_tokens",
	kLLMReasoning:        "llm.usage.reasoning_tokens",
	kOIReasoning:         "llm.token_count.completion_details.reasoning",
	kAIReasoning:         "ai.usage.reasoningTokens",
	kAIOutReasoning:      "ai.usage.outputTokenDetails.reasoningTokens",
	kAIOutText:           "ai.usage.outputTokenDetails.textTokens",
	kOITotal:             "llm.token_count.total",
	kTotal:               "gen_ai.usage.total_tokens",
	kLLMTotal:            "llm.usage.total_tokens",
	kAITotal:             "ai.usage.totalTokens",
	kLfUsage:             "langfuse.observation.usage_details",
	kOICost:              "llm.cost.total",
	kUsageCost:           "gen_ai.usage.cost",
	kLfCost:              "langfuse.observation.cost_details",
	kFinishReasons:       "gen_ai.response.finish_reasons",
	kOIFinish:            "llm.finish_reason",
	kLLMRespFinish:       "llm.response.finish_reason",
	kAIFinish:            "ai.response.finishReason",
	kGenAIFinish:         "gen_ai.finishReason",
	kStatusLevel:         "langfuse.observation.level",
	kLfStatusMsg:         "langfuse.observation.status_message",
	kErrorType:           "error.type",
	kToolErrorCode:       "tool.error_code",
	kToolErrorMsg:        "tool.error_message",
	kService:             "service.name",
	kEnvName:             "deployment.environment.name",
	kLfEnv:               "langfuse.environment",
	kEnvOld:              "deployment.environment",
	kAppEnv:              "app.environment",
	kLoupeDeploy:         "loupe.deployment.id",
	kDeployID:            "deployment.id",
	kLfRelease:           "langfuse.release",
	kLfVersion:           "langfuse.version",
	kServiceVersion:      "service.version",
	kLoupeTenant:         "loupe.tenant",
	kAppTenant:           "app.tenant_id",
	kTenantID:            "tenant.id",
	kLoupeRoute:          "loupe.route",
	kAppRoute:            "app.route",
	kHTTPRoute:           "http.route",
	kLfSession:           "langfuse.session.id",
	kSessionID:           "session.id",
	kConversation:        "gen_ai.conversation.id",
	kTLSession:           "traceloop.association.properties.session_id",
	kAIMetaSession:       "ai.telemetry.metadata.sessionId",
	kAICtxSession:        "ai.settings.runtimeContext.sessionId",
	kLfUser:              "langfuse.user.id",
	kUserID:              "user.id",
	kUserIDHash:          "user.id_hash",
	kEndUser:             "enduser.id",
	kTLUser:              "traceloop.association.properties.user_id",
	kGenAIUser:           "gen_ai.user",
	kLLMUser:             "llm.user",
	kAIMetaUser:          "ai.telemetry.metadata.userId",
	kAICtxUser:           "ai.settings.runtimeContext.userId",
	kLoupePromptName:     "loupe.prompt.name",
	kPromptName:          "prompt.name",
	kLfObsPromptName:     "langfuse.observation.prompt.name",
	kLfPromptName:        "langfuse.prompt.name",
	kGenAIPromptName:     "gen_ai.prompt.name",
	kTLPromptKey:         "traceloop.prompt.key",
	kLoupePromptVersion:  "loupe.prompt.version_id",
	kPromptVersionID:     "prompt.version_id",
	kPromptVersion:       "prompt.version",
	kLfObsPromptVersion:  "langfuse.observation.prompt.version",
	kLfPromptVersion:     "langfuse.prompt.version",
	kGenAIPromptVersion:  "gen_ai.prompt.version",
	kOITemplateVersion:   "llm.prompt_template.version",
	kTLPromptVersion:     "traceloop.prompt.version",
	kTLPromptHash:        "traceloop.prompt.version_hash",
	kAIMetaLfPrompt:      "ai.telemetry.metadata.langfusePrompt",
	kLoupeRelease:        "loupe.prompt.release_label",
	kPromptRelease:       "prompt.release_label",
	kTLPromptVersionName: "traceloop.prompt.version_name",
	kToolName:            "gen_ai.tool.name",
	kOIToolName:          "tool.name",
	kAIToolName:          "ai.toolCall.name",
	kTLEntityName:        "traceloop.entity.name",
	kToolArgs:            "gen_ai.tool.call.arguments",
	kToolArgsRedacted:    "tool.arguments_redacted",
	kAIToolArgs:          "ai.toolCall.args",
	kToolResult:          "gen_ai.tool.call.result",
	kAIToolResult:        "ai.toolCall.result",
	kDataSource:          "gen_ai.data_source.id",
	kRetrievalIndex:      "retrieval.index",
	kDBCollection:        "db.collection.name",
	kRetrievalQuery:      "gen_ai.retrieval.query.text",
	kRerankQuery:         "reranker.query",
	kRetrievalDocs:       "gen_ai.retrieval.documents",
	kRetrievalResults:    "retrieval.results",
	kRetrievalDocIDs:     "retrieval.document_ids",
	kInputMessages:       "gen_ai.input.messages",
	kOutputMessages:      "gen_ai.output.messages",
	kSystemInstructions:  "gen_ai.system_instructions",
	kGenAIPrompt:         "gen_ai.prompt",
	kGenAICompletion:     "gen_ai.completion",
	kAIPromptMessages:    "ai.prompt.messages",
	kAIPrompt:            "ai.prompt",
	kAIRespText:          "ai.response.text",
	kAIRespToolCalls:     "ai.response.toolCalls",
	kAIRespObject:        "ai.response.object",
	kAIRespReasoning:     "ai.response.reasoning",
	kAIRespReasoningText: "ai.response.reasoningText",
	kInputValue:          "input.value",
	kOutputValue:         "output.value",
	kTLInput:             "traceloop.entity.input",
	kTLOutput:            "traceloop.entity.output",
	kLfInput:             "langfuse.observation.input",
	kLfOutput:            "langfuse.observation.output",
	kLfTraceInput:        "langfuse.trace.input",
	kLfTraceOutput:       "langfuse.trace.output",
	kOperation:           "gen_ai.operation.name",
	kOIKind:              "openinference.span.kind",
	kTLKind:              "traceloop.span.kind",
	kLLMReqType:          "llm.request.type",
	kAIOperationID:       "ai.operationId",
	kDBSystem:            "db.system",
	kDBSystemName:        "db.system.name",
	kParserSchema:        "loupe.parser.schema",
	kParserSchema2:       "parser.schema",
	kEvalName:            "loupe.eval.name",
	kGuardrailName:       "gen_ai.guardrail.component.name",
	kToolCallID:          "gen_ai.tool.call.id",
}
