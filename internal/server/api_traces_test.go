package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/server"
	"github.com/prometheus/client_golang/prometheus"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func ptr[T any](v T) *T { return &v }

// referenceTrace is a small support-agent trace exercising every field.
func referenceTrace() *loupe.Trace {
	tid, _ := loupe.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	root, _ := loupe.ParseSpanID("00f067aa0ba902b7")
	llm, _ := loupe.ParseSpanID("00f067aa0ba902b8")
	tool, _ := loupe.ParseSpanID("00f067aa0ba902b9")
	t0 := time.Date(2026, 6, 3, 17, 4, 5, 123456789, time.FixedZone("CEST", 2*3600))
	common := loupe.Span{
		Project: loupe.DefaultProject, TraceID: tid, Status: loupe.StatusUnset,
		Service: "support-api", Environment: "prod", DeploymentID: "dep-7", Tenant: "acme", Route: "/chat",
		SessionID: "sess_42", UserID: "hmac:9f86d081", PromptName: "support", PromptVersionID: "prv_2026_06_03_17", ReleaseLabel: "canary",
	}
	s0 := common
	s0.SpanID, s0.Name, s0.Kind, s0.Start, s0.End = root, "invoke_agent support", loupe.KindAgent, t0, t0.Add(2500*time.Millisecond)
	s0.Attributes = map[string]any{"gen_ai.agent.name": "support", "resource.host.name": "web-1"}
	s0.CostSource = loupe.CostUnknown

	s1 := common
	s1.SpanID, s1.ParentSpanID, s1.Name, s1.Kind = llm, root, "chat gpt-4.1-mini", loupe.KindLLM
	s1.Start, s1.End = t0.Add(10*time.Millisecond), t0.Add(1210*time.Millisecond+500*time.Microsecond)
	s1.Status = loupe.StatusOK
	s1.Provider, s1.RequestModel, s1.ResponseModel = "openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"
	s1.Params = loupe.Params{Temperature: ptr(0.2), MaxTokens: ptr[int64](512)}
	s1.Usage = loupe.Usage{Input: 700, CacheRead: 100, CacheWrite: 12, Output: 50, Reasoning: 14}
	s1.CostUSD, s1.CostSource, s1.FinishReason = 0.000412, "computed:2026-06-01", "tool_calls"
	s1.Payload = &loupe.Payload{
		Input:  []loupe.Message{{Role: "system", Content: "You are a support agent."}, {Role: "user", Content: "Refund order 8812?"}},
		Output: []loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "call_1", Name: "lookup_order", Arguments: `{"order_id":"8812"}`}}, FinishReason: "tool_calls"}},
	}

	s2 := common
	s2.SpanID, s2.ParentSpanID, s2.Name, s2.Kind = tool, root, "execute_tool lookup_order", loupe.KindTool
	s2.Start, s2.End = t0.Add(1300*time.Millisecond), t0.Add(1350*time.Millisecond)
	s2.Status, s2.StatusMessage, s2.ErrorType = loupe.StatusError, "order service timed out", "TIMEOUT"
	s2.ToolName, s2.RetrievalIndex, s2.RetrievalCount = "lookup_order", "orders", 1
	s2.Documents = []loupe.Document{{ID: "order-8812", Score: ptr(0.93), Tokens: 40}}
	s2.Payload = &loupe.Payload{ToolArguments: `{"order_id":"8812"}`, Events: []loupe.Event{{
		Time: t0.Add(1349 * time.Millisecond), Name: "exception", Attributes: map[string]any{"exception.type": "TimeoutError"},
	}}}
	return &loupe.Trace{Project: loupe.DefaultProject, TraceID: tid, Spans: []loupe.Span{s0, s1, s2}}
}

func readerOf(traces ...*loupe.Trace) *fakeReader {
	return &fakeReader{TraceFn: func(_ context.Context, project string, id loupe.TraceID) (*loupe.Trace, error) {
		for _, tr := range traces {
			if tr.TraceID == id && tr.Project == project {
				return tr, nil
			}
		}
		return nil, fmt.Errorf("trace %s: %w", id, loupe.ErrNotFound)
	}}
}

func TestHandleTrace(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, readerOf(referenceTrace()))

	t.Run("OK", func(t *testing.T) {
		rec := get(h, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET trace = %d %q, want 200", rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		pretty.WriteByte('\n')
		golden := filepath.Join("testdata", "trace.golden")
		if *update {
			if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("read golden file (run go test -update): %v", err)
		}
		if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
			t.Errorf("GET trace mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ExactSpanFieldNames", func(t *testing.T) {
		rec := get(h, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736")
		var body struct {
			Spans []map[string]json.RawMessage `json:"spans"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		canonical := []string{"span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "duration_ms", "status",
			"status_message", "error_type", "service", "environment", "deployment_id", "tenant", "route", "session_id", "user_id",
			"prompt_name", "prompt_version_id", "release_label", "provider", "request_model", "response_model", "input_tokens",
			"cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens", "cost_usd",
			"cost_source", "finish_reason", "tool_name", "retrieval_index", "retrieval_count"}
		optional := []string{"params", "documents", "attributes", "payload", "payload_removed"}
		for i, s := range body.Spans {
			for _, k := range canonical {
				if _, ok := s[k]; !ok {
					t.Errorf("span %d lacks %q", i, k)
				}
			}
			for k := range s {
				if !slices.Contains(canonical, k) && !slices.Contains(optional, k) {
					t.Errorf("span %d has unexpected field %q", i, k)
				}
			}
		}
		var full struct{ Spans []map[string]any }
		if err := json.Unmarshal(rec.Body.Bytes(), &full); err != nil {
			t.Fatal(err)
		}
		llm := full.Spans[1]
		if got, want := llm["total_tokens"], float64(876); got != want {
			t.Errorf("total_tokens = %v, want %v (sum of the five buckets)", got, want)
		}
		if got, want := llm["start_time"], "2026-06-03T15:04:05.133456789Z"; got != want {
			t.Errorf("start_time = %v, want %v (RFC 3339 UTC)", got, want)
		}
		if got, want := llm["duration_ms"], 1200.5; got != want {
			t.Errorf("duration_ms = %v, want %v", got, want)
		}
		if _, ok := full.Spans[0]["payload"]; ok {
			t.Errorf("span without payload has a payload field")
		}
	})

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"MalformedID", "/api/v1/traces/xyz", 400, `{"error":"invalid: trace id \"xyz\": want 32 hex characters"}`},
		{"NotHex", "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e473z", 400, `{"error":"invalid: trace id \"4bf92f3577b34da6a3ce929d0e0e473z\": not hex"}`},
		{"NotFound", "/api/v1/traces/0123456789abcdef0123456789abcdef", 404, `{"error":"trace 0123456789abcdef0123456789abcdef not found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, tt.path)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("GET %s = %d %s, want %d %s", tt.path, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
		})
	}

	t.Run("NonFiniteNumbers", func(t *testing.T) {
		tr := referenceTrace()
		tr.Spans[0].Attributes["ratio"] = math.NaN()
		tr.Spans[0].Attributes["list"] = []any{math.Inf(1), 1.5}
		tr.Spans[1].Params.Temperature = ptr(math.Inf(-1))
		h := newHandler(t, server.Options{}, &fakeIngester{}, readerOf(tr))
		rec := get(h, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET trace with NaN attribute = %d %q, want 200", rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"ratio":"NaN"`) || !strings.Contains(rec.Body.String(), `"list":["+Inf",1.5]`) {
			t.Errorf("body = %s, want non-finite numbers as strings", rec.Body)
		}
	})
}

func TestRecoversFromPanic(t *testing.T) {
	reader := &fakeReader{TraceFn: func(context.Context, string, loupe.TraceID) (*loupe.Trace, error) {
		panic("boom")
	}}
	in := &fakeIngester{}
	h := newHandler(t, server.Options{}, in, reader)
	rec := get(h, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736")
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"error":"internal error"}` {
		t.Errorf("GET panicking handler = %d %s, want 500 {\"error\":\"internal error\"}", rec.Code, rec.Body)
	}
	// The server keeps serving, bad requests included.
	if rec := post(h, "/v1/traces", "application/x-protobuf", "", []byte{0xff}); rec.Code != http.StatusBadRequest {
		t.Errorf("POST bad body after panic = %d, want 400", rec.Code)
	}
	if rec := post(h, "/v1/traces", "application/x-protobuf", "", mustMarshal(t, supportTrace(2))); rec.Code != http.StatusOK {
		t.Errorf("POST after panic = %d, want 200", rec.Code)
	}
	if rec := get(h, "/healthz"); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", rec.Code, rec.Body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := server.Options{Registerer: reg, Gatherer: reg}
	in := &fakeIngester{}
	h := newHandler(t, opts, in, nil)
	// A second handler and the gRPC server on the same registry share the
	// collectors instead of panicking.
	newHandler(t, opts, in, nil)
	newGRPC(t, opts, in).Stop()

	post(h, "/v1/traces", "application/x-protobuf", "", mustMarshal(t, supportTrace(12)))
	post(h, "/v1/traces", "text/plain", "", nil)
	over := newHandler(t, opts, &fakeIngester{SubmitFn: func(context.Context, loupe.Batch) error { return loupe.ErrOverloaded }}, nil)
	post(over, "/v1/traces", "application/x-protobuf", "", mustMarshal(t, supportTrace(1)))

	rec := get(h, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", rec.Code)
	}
	for _, want := range []string{
		`loupe_http_requests_total{code="200",route="POST /v1/traces"} 1`,
		`loupe_http_requests_total{code="415",route="POST /v1/traces"} 1`,
		`loupe_http_requests_total{code="503",route="POST /v1/traces"} 1`,
		`loupe_ingest_received_spans_total{transport="http"} 13`,
		`loupe_ingest_refused_requests_total{reason="unsupported",transport="http"} 1`,
		`loupe_ingest_refused_requests_total{reason="overload",transport="http"} 1`,
		`loupe_http_request_duration_seconds_count{route="POST /v1/traces"} 3`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
