// Command agent is a minimal agent loop traced with the loupe SDK: the
// model asks for a tool, the tool fails with INVALID_ARGUMENT, the model
// recovers with a second call (a degraded trace in loupe). The model and
// tool are simulated. Run `loupe serve`, then:
//
//	go run ./examples/agent
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	loupe "github.com/loupehq/loupe/sdk"
)

func main() {
	ctx := context.Background()
	endpoint := env("LOUPE_ENDPOINT", "http://127.0.0.1:4318")
	tr, err := loupe.New(ctx, loupe.Options{
		Endpoint: endpoint, Service: "agent-example", Environment: "development",
		RedactionSecret: []byte(env("LOUPE_SECRET", "example-secret")),
	})
	if err != nil {
		log.Fatal(err)
	}
	id := run(ctx, tr)
	if err := tr.Shutdown(ctx); err != nil {
		log.Fatalf("flush traces: %v", err)
	}
	fmt.Printf("trace: %s/api/v1/traces/%s (dropped spans: %d)\n", endpoint, id, tr.Stats().Dropped)
}

func run(ctx context.Context, tr *loupe.Tracer) string {
	ctx, req := tr.StartRequest(ctx, "support_agent.request", loupe.Request{Tenant: "tenant_431", Route: "/v1/support/chat"})
	defer req.End()
	ctx, agent := tr.StartAgent(ctx, loupe.Agent{Name: "support_agent"})
	defer agent.End()

	llm := loupe.LLM{Provider: "openai", Model: "gpt-4.1-mini", ToolChoice: "auto",
		PromptName: "support_agent_v3", PromptVersionID: "prv_2026_06_03_17",
		Messages: []loupe.Message{{Role: "user", Content: "Refund my order ord_1, it never came."}}}
	messages := llm.Messages
	for step := 0; step < 4; step++ {
		llm.Name = fmt.Sprintf("llm.call.step_%d", step)
		llm.Messages = messages
		_, call := tr.StartLLM(ctx, llm)
		time.Sleep(20 * time.Millisecond)
		reply := model(step)
		call.SetResponse(loupe.Response{FinishReasons: []string{finish(reply)}, Usage: loupe.Usage{Input: 900, Output: 60},
			Output: []loupe.Message{reply}})
		call.End()
		messages = append(messages, reply)
		if len(reply.ToolCalls) == 0 {
			break
		}
		for _, tc := range reply.ToolCalls {
			_, tool := tr.StartTool(ctx, loupe.Tool{Name: tc.Name, CallID: tc.ID, Arguments: tc.Arguments})
			result, code, msg := createRefund(tc.Arguments)
			if code != "" {
				tool.SetToolError(code, msg, false)
				result = code + ": " + msg
			} else {
				tool.SetResult(result)
			}
			tool.End()
			messages = append(messages, loupe.Message{Role: "tool", ToolCallID: tc.ID, Content: result})
		}
	}
	return req.OTel().SpanContext().TraceID().String()
}

// model simulates the model: a refund too large, then a corrected one,
// then the answer.
func model(step int) loupe.Message {
	switch step {
	case 0:
		return loupe.Message{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "call_1", Name: "create_refund",
			Arguments: `{"order_id":"ord_1","refund_amount_cents":9000}`}}}
	case 1:
		return loupe.Message{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "call_2", Name: "create_refund",
			Arguments: `{"order_id":"ord_1","refund_amount_cents":4500}`}}}
	}
	return loupe.Message{Role: "assistant", Content: "Your refund of $45.00 is on its way."}
}

func finish(m loupe.Message) string {
	if len(m.ToolCalls) > 0 {
		return "tool_calls"
	}
	return "stop"
}

func createRefund(args string) (result, code, message string) {
	if args == `{"order_id":"ord_1","refund_amount_cents":9000}` {
		return "", "INVALID_ARGUMENT", "refund_amount_cents must be <= order_total_cents"
	}
	return `{"refund_id":"rf_1","status":"approved"}`, "", ""
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
