package duckdb_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
)

// uiTrace is a small agent trace: a root, a model call with a payload,
// and a failing tool call whose exception event arrives apart.
func uiTrace(project string, tid loupe.TraceID) ([]loupe.Span, []loupe.SpanEvent) {
	t0 := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	sid := func(n uint64) loupe.SpanID {
		var id loupe.SpanID
		for i := range 8 {
			id[7-i] = byte(n >> (8 * i))
		}
		return id
	}
	span := func(id, parent uint64, name string, kind loupe.Kind, startMs, durMs int) loupe.Span {
		return loupe.Span{Project: project, TraceID: tid, SpanID: sid(id), ParentSpanID: sid(parent), Name: name, Kind: kind,
			Start: t0.Add(time.Duration(startMs) * time.Millisecond), End: t0.Add(time.Duration(startMs+durMs) * time.Millisecond),
			Status: loupe.StatusOK, Service: "support-agent", Tenant: "tenant_431", SessionID: "sess_1",
			PromptVersionID: "prv_1"}
	}
	root := span(1, 0, "support_agent.request", loupe.KindRequest, 0, 133)
	llm := span(2, 1, "llm.call.plan_response", loupe.KindLLM, 42, 49)
	llm.RequestModel, llm.ResponseModel = "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"
	llm.Usage = loupe.Usage{Input: 1204, Output: 86}
	llm.CostUSD = 0.0012
	llm.Attributes = map[string]any{"gen_ai.request.temperature": 0.2, "server.address": "api.openai.com"}
	llm.Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "where is my refund?"}},
		Output: []loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "c1", Name: "create_refund", Arguments: `{"a":1}`}}}}}
	tool := span(3, 1, "tool.call.create_refund", loupe.KindTool, 91, 5)
	tool.Status, tool.StatusMessage, tool.ErrorType = loupe.StatusError, "refund_amount_cents must be <= order_total_cents", "INVALID_ARGUMENT"
	tool.ToolName = "create_refund"
	tool.Payload = &loupe.Payload{ToolArguments: `{"refund_amount_cents":129900}`}
	ev := loupe.SpanEvent{Project: project, TraceID: tid, SpanID: tool.SpanID,
		Event: loupe.Event{Time: t0.Add(95 * time.Millisecond), Name: "exception", Attributes: map[string]any{"exception.type": "ValidationError"}}}
	return []loupe.Span{tool, root, llm}, []loupe.SpanEvent{ev}
}

func TestTraceOutline(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	ctx := t.Context()
	tid := loupe.TraceID{1, 2, 3}
	spans, events := uiTrace("p1", tid)
	if err := s.Write(ctx, []loupe.Batch{{Spans: spans, Events: events}}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	full, err := s.Trace(ctx, "p1", tid)
	if err != nil {
		t.Fatalf("Trace() = %v", err)
	}

	t.Run("OutlineMatchesTrace", func(t *testing.T) {
		got, err := s.TraceOutline(ctx, "p1", tid)
		if err != nil {
			t.Fatalf("TraceOutline() = %v", err)
		}
		var want []loupe.SpanOutline
		for i := range full.Spans {
			want = append(want, loupe.OutlineOf(&full.Spans[i]))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TraceOutline() mismatch (-want +got):\n%s", diff)
		}
		if !got[2].Failed() || got[1].Model != "gpt-4.1-mini-2025-04-14" || got[1].Tokens != 1290 {
			t.Errorf("TraceOutline() = %+v, want the tool failed, the model call's model and tokens", got)
		}
	})
	t.Run("SpanMatchesTrace", func(t *testing.T) {
		for i := range full.Spans {
			want := &full.Spans[i]
			got, err := s.TraceSpan(ctx, "p1", tid, want.SpanID)
			if err != nil {
				t.Fatalf("TraceSpan(%s) = %v", want.SpanID, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("TraceSpan(%s) mismatch (-want +got):\n%s", want.SpanID, diff)
			}
		}
		tool, _ := s.TraceSpan(ctx, "p1", tid, spans[0].SpanID)
		if tool.Payload == nil || len(tool.Payload.Events) != 1 || tool.Payload.ToolArguments == "" {
			t.Errorf("TraceSpan(tool).Payload = %+v, want its arguments and the joined exception event", tool.Payload)
		}
	})
	t.Run("Summary", func(t *testing.T) {
		got, err := s.TraceSummary(ctx, "p1", tid)
		if err != nil {
			t.Fatalf("TraceSummary() = %v", err)
		}
		if got.Status != loupe.TraceDegraded || got.SpanCount != 3 || got.ErrorCount != 1 || got.Duration != 133 ||
			got.Tenant != "tenant_431" || got.SessionID != "sess_1" || got.PromptVersionID != "prv_1" ||
			got.Model == "" || got.InputTokens != 1204 || got.Name != "support_agent.request" || got.TraceID != tid {
			t.Errorf("TraceSummary() = %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		other := loupe.TraceID{9}
		for name, err := range map[string]error{
			"TraceOutline/otherTrace":   second(s.TraceOutline(ctx, "p1", other)),
			"TraceOutline/otherProject": second(s.TraceOutline(ctx, "p2", tid)),
			"TraceSummary/otherTrace":   second(s.TraceSummary(ctx, "p1", other)),
			"TraceSummary/otherProject": second(s.TraceSummary(ctx, "p2", tid)),
			"TraceSpan/otherSpan":       second(s.TraceSpan(ctx, "p1", tid, loupe.SpanID{7})),
			"TraceSpan/otherProject":    second(s.TraceSpan(ctx, "p2", tid, spans[0].SpanID)),
		} {
			if !errors.Is(err, loupe.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", name, err)
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }

// BenchmarkTraceOutline reads the outline of a 100,000-span trace (the
// trace view's large-trace budget, issue #5).
func BenchmarkTraceOutline(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	ctx := b.Context()
	tid := loupe.TraceID{4, 2}
	t0 := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	const n = 100_000
	var batches []loupe.Batch
	var spans []loupe.Span
	for i := range n {
		var id, parent loupe.SpanID
		id[0], id[5], id[6], id[7] = 1, byte(i>>16), byte(i>>8), byte(i)
		if i > 0 {
			parent = loupe.SpanID{1}
		}
		sp := loupe.Span{Project: "p", TraceID: tid, SpanID: id, ParentSpanID: parent, Name: fmt.Sprintf("step %d", i%20),
			Kind: loupe.KindLLM, Start: t0.Add(time.Duration(i) * time.Millisecond), End: t0.Add(time.Duration(i+1) * time.Millisecond),
			Status: loupe.StatusOK, RequestModel: "gpt-4.1-mini", Usage: loupe.Usage{Input: 100, Output: 10},
			Attributes: map[string]any{"k": "v"}, Payload: &loupe.Payload{InputValue: "some input text of a step"}}
		spans = append(spans, sp)
		if len(spans) == 10_000 {
			batches = append(batches, loupe.Batch{Spans: spans})
			spans = nil
		}
	}
	if err := s.Write(ctx, batches); err != nil {
		b.Fatalf("Write() = %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		out, err := s.TraceOutline(ctx, "p", tid)
		if err != nil || len(out) != n {
			b.Fatalf("TraceOutline() = %d spans, %v; want %d", len(out), err, n)
		}
	}
}
