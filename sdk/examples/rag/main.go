// Command rag is a minimal retrieval-augmented request traced with the
// loupe SDK: embed the question, search an index, call a model with the
// documents, validate the answer. The model and index are simulated, so it
// runs without API keys. Run `loupe serve`, then:
//
//	go run ./examples/rag
//
// and open the printed trace URL.
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
	shutdown, err := loupe.Setup(ctx, loupe.Options{
		Endpoint:        endpoint,
		Service:         "rag-example",
		Environment:     "development",
		RedactionSecret: []byte(env("LOUPE_SECRET", "example-secret")),
	})
	if err != nil {
		log.Fatal(err)
	}
	id := answer(ctx, "How long do refunds take? I'm jane.doe@example.com")
	if err := shutdown(ctx); err != nil {
		log.Fatalf("flush traces: %v", err)
	}
	fmt.Printf("trace: %s/api/v1/traces/%s\n", endpoint, id)
}

// answer handles one question and returns its trace id.
func answer(ctx context.Context, question string) string {
	ctx, req := loupe.StartRequest(ctx, "rag.request", loupe.Request{Tenant: "tenant_1", Route: "/ask", UserID: "user_7"})
	defer req.End()

	rctx, ret := loupe.StartRetrieval(ctx, loupe.Retrieval{Index: "help_center", Query: question, TopK: 2})
	_, emb := loupe.StartEmbedding(rctx, loupe.Embedding{Provider: "openai", Model: "text-embedding-3-small", Inputs: 1})
	time.Sleep(5 * time.Millisecond) // the embeddings call
	emb.SetUsage(12)
	emb.End()
	docs := []loupe.Document{
		{ID: "doc_12", Score: 0.88, Tokens: 90, Content: "Refunds arrive within 5 business days."},
		{ID: "doc_31", Score: 0.71, Tokens: 60, Content: "Card refunds may take longer."},
	}
	ret.SetDocuments(docs)
	ret.End()

	temp, maxTokens := 0.1, int64(300)
	_, call := loupe.StartLLM(ctx, loupe.LLM{
		Provider: "openai", Model: "gpt-4.1-mini", Temperature: &temp, MaxTokens: &maxTokens,
		PromptName: "rag_answer", PromptVersionID: "prv_rag_3", ReleaseLabel: "production",
		System:   "Answer from the documents only.",
		Messages: []loupe.Message{{Role: "user", Content: question}},
	})
	time.Sleep(40 * time.Millisecond) // the model call
	call.SetResponse(loupe.Response{
		Model: "gpt-4.1-mini-2025-04-14", FinishReasons: []string{"stop"},
		Usage:  loupe.Usage{Input: 410, Output: 28},
		Output: []loupe.Message{{Role: "assistant", Content: "Refunds arrive within 5 business days."}},
	})
	call.End()

	_, p := loupe.StartParser(ctx, loupe.Parser{Schema: "answer_v1"})
	p.SetResult(true, 0)
	p.End()
	return req.OTel().SpanContext().TraceID().String()
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
