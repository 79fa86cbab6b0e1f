// Command batch is a minimal batch job traced with the loupe SDK: one
// trace per item, each a model call and an evaluation, with bounded
// concurrency. Items that fail are recorded as errors; tracing never blocks
// the job, even when loupe is down (spans are dropped and counted). Run
// `loupe serve`, then:
//
//	go run ./examples/batch
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	loupe "github.com/loupehq/loupe/sdk"
)

func main() {
	ctx := context.Background()
	tr, err := loupe.New(ctx, loupe.Options{
		Endpoint: env("LOUPE_ENDPOINT", "http://127.0.0.1:4318"), Service: "batch-example", Environment: "development",
		RedactionSecret: []byte(env("LOUPE_SECRET", "example-secret")),
		Content:         loupe.ContentMetadata, // a batch over customer data: keep shapes, not texts
	})
	if err != nil {
		log.Fatal(err)
	}
	items := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range items {
				summarize(ctx, tr, i)
			}
		})
	}
	for i := range 50 {
		items <- i
	}
	close(items)
	wg.Wait()
	if err := tr.Shutdown(ctx); err != nil {
		log.Printf("flush traces: %v", err)
	}
	st := tr.Stats()
	fmt.Printf("50 items: %d spans exported, %d dropped\n", st.Exported, st.Dropped)
}

var errRateLimited = errors.New("rate limited")

func summarize(ctx context.Context, tr *loupe.Tracer, i int) {
	ctx, job := tr.StartRequest(ctx, "batch.summarize_ticket", loupe.Request{Tenant: "tenant_7", Route: "batch:nightly"})
	defer job.End()
	_, call := tr.StartLLM(ctx, loupe.LLM{Provider: "anthropic", Model: "claude-sonnet-4",
		PromptName: "ticket_summary", PromptVersionID: "prv_sum_2",
		Messages: []loupe.Message{{Role: "user", Content: fmt.Sprintf("Summarize ticket %d", i)}}})
	time.Sleep(5 * time.Millisecond)
	if i%17 == 16 {
		call.Fail(errRateLimited)
		call.End()
		job.Fail(errRateLimited)
		return
	}
	call.SetResponse(loupe.Response{FinishReasons: []string{"end_turn"}, Usage: loupe.Usage{Input: 700, CacheRead: 512, Output: 80},
		Output: []loupe.Message{{Role: "assistant", Content: "Customer wants a refund."}}})
	call.End()
	_, ev := tr.StartEval(ctx, loupe.Eval{Name: "summary_faithfulness"})
	score := 0.6 + float64(i%5)/10
	ev.SetResult(score, score >= 0.7, "")
	ev.End()
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
