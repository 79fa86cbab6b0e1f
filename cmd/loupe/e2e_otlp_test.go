package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/protobuf/proto"
)

// TestBadInput sends what real clients get wrong to a real server and
// checks each gets the OTLP answer, and that the server keeps serving.
func TestBadInput(t *testing.T) {
	p := startLoupe(t, "--data", t.TempDir(), "--max-body-bytes", "65536", "--max-attribute-bytes", "1024")
	ctx := t.Context()
	tracesURL := p.baseURL + "/v1/traces"

	valid, _ := supportTrace(3, time.Now().Add(-time.Minute))
	validBody, err := proto.Marshal(tracesRequest(valid))
	if err != nil {
		t.Fatal(err)
	}
	tooBig := bytes.Repeat([]byte{0x0a}, 100_000)
	bomb := gzipped(make([]byte, 1<<20)) // 1 MiB of zeros in about 1 KiB

	const pbType, jsonType = "application/x-protobuf", "application/json"
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
		wantStatus  int
		wantMsg     string // in the message of a 400
	}{
		{name: "MalformedProtobuf", contentType: pbType, body: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}, wantStatus: http.StatusBadRequest, wantMsg: "protobuf"},
		{name: "MalformedJSON", contentType: jsonType, body: []byte(`{"resourceSpans": [`), wantStatus: http.StatusBadRequest, wantMsg: "json"},
		{name: "JSONWrongShape", contentType: jsonType, body: []byte(`{"resourceSpans": "nope"}`), wantStatus: http.StatusBadRequest, wantMsg: "json"},
		{name: "NotGzip", contentType: pbType, encoding: "gzip", body: validBody, wantStatus: http.StatusBadRequest, wantMsg: "gzip"},
		{name: "TooBig", contentType: pbType, body: tooBig, wantStatus: http.StatusRequestEntityTooLarge},
		{name: "TooBigAfterGunzip", contentType: pbType, encoding: "gzip", body: bomb, wantStatus: http.StatusRequestEntityTooLarge},
		{name: "WrongContentType", contentType: "text/plain", body: validBody, wantStatus: http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := post(ctx, http.DefaultClient, tracesURL, tt.contentType, tt.encoding, tt.body)
			if err != nil {
				t.Fatalf("POST /v1/traces: %v", err)
			}
			if status != tt.wantStatus {
				t.Fatalf("POST /v1/traces (%s) = %d %q, want %d", tt.name, status, body, tt.wantStatus)
			}
			if status != http.StatusBadRequest {
				return
			}
			// OTLP/HTTP: a 400 carries a google.rpc.Status naming the problem,
			// encoded like the request.
			var st statuspb.Status
			if tt.contentType == pbType {
				err = proto.Unmarshal(body, &st)
			} else {
				var js struct{ Message string }
				err = json.Unmarshal(body, &js)
				st.Message = js.Message
			}
			if err != nil || !strings.Contains(strings.ToLower(st.GetMessage()), tt.wantMsg) {
				t.Errorf("400 body %q: decoded Status %v, %v; want a Status whose message names %q", body, &st, err, tt.wantMsg)
			}
		})
	}

	t.Run("PartialSuccess", func(t *testing.T) {
		rs, sent := supportTrace(3, time.Now().Add(-time.Minute))
		tid, _ := hex.DecodeString(sent.TraceID)
		now := time.Now()
		bad := []*tracepb.Span{
			{TraceId: []byte{1, 2, 3, 4, 5}, SpanId: randomSpanID(), Name: "short trace id",
				StartTimeUnixNano: nanos(now), EndTimeUnixNano: nanos(now.Add(time.Millisecond))},
			{TraceId: tid, SpanId: randomSpanID(), Name: "ends before it starts",
				StartTimeUnixNano: nanos(now), EndTimeUnixNano: nanos(now.Add(-time.Second))},
			{TraceId: tid, SpanId: randomSpanID(), Name: "huge attribute",
				StartTimeUnixNano: nanos(now), EndTimeUnixNano: nanos(now.Add(time.Millisecond)),
				Attributes: []*commonpb.KeyValue{str("blob", strings.Repeat("x", 4096))}},
		}
		ss := rs.ScopeSpans[0]
		ss.Spans = append(ss.Spans[:1], append(bad, ss.Spans[1:]...)...)

		status, body := p.postProto(ctx, "/v1/traces", tracesRequest(rs))
		if status != http.StatusOK {
			t.Fatalf("POST /v1/traces (mixed) = %d %q, want 200 with partial success", status, body)
		}
		var resp coltracepb.ExportTraceServiceResponse
		if err := proto.Unmarshal(body, &resp); err != nil {
			t.Fatalf("decode response: %v", err)
		}
		ps := resp.GetPartialSuccess()
		if got, want := ps.GetRejectedSpans(), int64(len(bad)); got != want || ps.GetErrorMessage() == "" {
			t.Errorf("partial_success = {rejected_spans: %d, error_message: %q}, want %d rejected with a message", got, ps.GetErrorMessage(), want)
		}
		t.Logf("partial success message: %s", ps.GetErrorMessage())

		tr := p.mustTrace(ctx, sent.TraceID)
		if diff := cmp.Diff(slices.Sorted(slices.Values(sent.SpanIDs)), tr.spanIDs()); diff != "" {
			t.Errorf("stored spans of the mixed request mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("StillServing", func(t *testing.T) {
		status, body, err := post(ctx, http.DefaultClient, tracesURL, pbType, "", validBody)
		if err != nil || status != http.StatusOK {
			t.Fatalf("POST valid /v1/traces after bad input = %d %q, %v; want 200", status, body, err)
		}
		if status, _, err := p.trace(ctx, http.DefaultClient, "not-a-trace-id"); err != nil || status != http.StatusBadRequest {
			t.Errorf("GET /api/v1/traces/not-a-trace-id = %d, %v; want 400", status, err)
		}
		if status, _, err := p.trace(ctx, http.DefaultClient, hex.EncodeToString(randomTraceID())); err != nil || status != http.StatusNotFound {
			t.Errorf("GET unknown trace = %d, %v; want 404", status, err)
		}
	})
}

// TestGRPC sends spans and a legacy GenAI content log (gzip-compressed)
// over OTLP/gRPC with the generated clients and reads them back over HTTP.
func TestGRPC(t *testing.T) {
	p := startLoupe(t, "--data", t.TempDir())
	ctx := t.Context()
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	rs, sent := supportTrace(4, time.Now().Add(-time.Minute))
	resp, err := coltracepb.NewTraceServiceClient(conn).Export(ctx, tracesRequest(rs))
	if err != nil {
		t.Fatalf("TraceService.Export: %v", err)
	}
	if n := resp.GetPartialSuccess().GetRejectedSpans(); n != 0 {
		t.Errorf("TraceService.Export rejected %d spans: %s", n, resp.GetPartialSuccess().GetErrorMessage())
	}
	const question = "Where is my order #1234?"
	lresp, err := collogspb.NewLogsServiceClient(conn).Export(ctx, userMessageLog(sent.TraceID, sent.LLMSpanID, question, time.Now().Add(-time.Minute)),
		grpc.UseCompressor(gzip.Name))
	if err != nil {
		t.Fatalf("LogsService.Export: %v", err)
	}
	if n := lresp.GetPartialSuccess().GetRejectedLogRecords(); n != 0 {
		t.Errorf("LogsService.Export rejected %d records: %s", n, lresp.GetPartialSuccess().GetErrorMessage())
	}

	tr := p.mustTrace(ctx, sent.TraceID)
	if diff := cmp.Diff(slices.Sorted(slices.Values(sent.SpanIDs)), tr.spanIDs()); diff != "" {
		t.Fatalf("span ids mismatch (-want +got):\n%s", diff)
	}
	if tr.TraceID != sent.TraceID || tr.Project != "default" || tr.Status != "ok" {
		t.Errorf("trace = {trace_id %q, project %q, status %q}, want {%q, default, ok}", tr.TraceID, tr.Project, tr.Status, sent.TraceID)
	}
	llm := tr.span(sent.LLMSpanID)
	if llm.Kind != "llm" || llm.Provider != "openai" || llm.RequestModel != "gpt-4o-mini" || llm.Service != "support-bot" {
		t.Errorf("llm span = {kind %q, provider %q, request_model %q, service %q}, want {llm, openai, gpt-4o-mini, support-bot}",
			llm.Kind, llm.Provider, llm.RequestModel, llm.Service)
	}
	if llm.InputTokens != 810 || llm.OutputTokens != 41 || llm.TotalTokens != 851 {
		t.Errorf("llm span tokens = in %d, out %d, total %d; want 810, 41, 851", llm.InputTokens, llm.OutputTokens, llm.TotalTokens)
	}
	if !strings.HasPrefix(llm.CostSource, "computed:") || llm.CostUSD <= 0 {
		t.Errorf("llm span cost = %v (%q), want a computed cost > 0", llm.CostUSD, llm.CostSource)
	}
	if !hasUserMessage(llm, question) {
		t.Errorf("llm span payload = %+v, want the gen_ai.user.message log as a user input message %q", llm.Payload, question)
	}
}

// hasUserMessage reports whether the span's input messages hold a user
// message with the content.
func hasUserMessage(s *apiSpan, content string) bool {
	if s == nil || s.Payload == nil {
		return false
	}
	return slices.ContainsFunc(s.Payload.Input, func(m apiMessage) bool {
		return m.Role == "user" && m.Content == content
	})
}

// TestJSONGzipMetrics sends OTLP/JSON (plain and gzip) traces and logs over
// HTTP, reads them back, prices a model from a --prices file, and checks
// the ingest counters on /metrics.
func TestJSONGzipMetrics(t *testing.T) {
	prices := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(prices, []byte(`{"models": [{"provider": "openai", "match": "loupe-e2e-model*", "input_mtok": 100000, "output_mtok": 200000}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startLoupe(t, "--data", t.TempDir(), "--prices", prices)
	ctx := t.Context()

	var (
		sent  []sentTrace
		spans int
	)
	for i, enc := range []string{"", "gzip", "gzip"} {
		rs, st := supportTrace(3+i, time.Now().Add(-time.Minute))
		if i == 2 { // priced by the --prices file: 0.1 USD per input token, 0.2 per output token
			for _, s := range rs.ScopeSpans[0].Spans {
				for _, a := range s.Attributes {
					if a.Key == "gen_ai.request.model" || a.Key == "gen_ai.response.model" {
						a.Value = str(a.Key, "loupe-e2e-model").Value
					}
				}
			}
		}
		body, err := otlpJSON(tracesRequest(rs))
		if err != nil {
			t.Fatal(err)
		}
		if enc == "gzip" {
			body = gzipped(body)
		}
		status, rb, err := post(ctx, http.DefaultClient, p.baseURL+"/v1/traces", "application/json", enc, body)
		if err != nil || status != http.StatusOK {
			t.Fatalf("POST /v1/traces JSON (encoding %q) = %d %q, %v; want 200", enc, status, rb, err)
		}
		var resp struct {
			PartialSuccess *struct {
				RejectedSpans json.Number `json:"rejectedSpans"`
				ErrorMessage  string      `json:"errorMessage"`
			} `json:"partialSuccess"`
		}
		if err := json.Unmarshal(rb, &resp); err != nil {
			t.Errorf("response %q is not OTLP/JSON: %v", rb, err)
		}
		if ps := resp.PartialSuccess; ps != nil && ps.RejectedSpans != "" && ps.RejectedSpans != "0" {
			t.Errorf("JSON request rejected %s spans: %s", ps.RejectedSpans, ps.ErrorMessage)
		}
		sent = append(sent, st)
		spans += len(st.SpanIDs)
	}

	const question = "Can I change the delivery address?"
	logs, err := otlpJSON(userMessageLog(sent[1].TraceID, sent[1].LLMSpanID, question, time.Now().Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if status, rb, err := post(ctx, http.DefaultClient, p.baseURL+"/v1/logs", "application/json", "gzip", gzipped(logs)); err != nil || status != http.StatusOK {
		t.Fatalf("POST /v1/logs JSON gzip = %d %q, %v; want 200", status, rb, err)
	}

	for i, st := range sent {
		tr := p.mustTrace(ctx, st.TraceID)
		if diff := cmp.Diff(slices.Sorted(slices.Values(st.SpanIDs)), tr.spanIDs()); diff != "" {
			t.Errorf("trace %d span ids mismatch (-want +got):\n%s", i, diff)
		}
		llm := tr.span(st.LLMSpanID)
		if llm == nil {
			t.Fatalf("trace %d: llm span %s missing", i, st.LLMSpanID)
		}
		if i == 1 && !hasUserMessage(llm, question) {
			t.Errorf("trace 1 llm span payload = %+v, want the gen_ai.user.message log %q", llm.Payload, question)
		}
		if i == 2 {
			want := 0.1*float64(llm.InputTokens) + 0.2*float64(llm.OutputTokens)
			if math.Abs(llm.CostUSD-want) > 1e-9 || !strings.HasPrefix(llm.CostSource, "computed:") {
				t.Errorf("cost with --prices = %v (%q), want %v computed (in %d, out %d)", llm.CostUSD, llm.CostSource, want, llm.InputTokens, llm.OutputTokens)
			}
		}
	}

	m := p.metrics(ctx)
	for name, want := range map[string]float64{
		"loupe_ingest_written_spans_total":  float64(spans),
		"loupe_ingest_written_events_total": 1,
		"loupe_ingest_queue_spans":          0,
		"loupe_ingest_overloaded_total":     0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestDecodeOnly: --decode-only acknowledges valid requests, refuses bad
// ones, opens no store and still shuts down cleanly.
func TestDecodeOnly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "never-created")
	p := startLoupe(t, "--decode-only", "--data", data)
	ctx := t.Context()

	rs, sent := supportTrace(5, time.Now().Add(-time.Minute))
	if status, body := p.postProto(ctx, "/v1/traces", tracesRequest(rs)); status != http.StatusOK {
		t.Fatalf("POST /v1/traces = %d %q, want 200", status, body)
	}
	if status, body, err := post(ctx, http.DefaultClient, p.baseURL+"/v1/traces", "application/x-protobuf", "", []byte{0xff}); err != nil || status != http.StatusBadRequest {
		t.Errorf("POST malformed /v1/traces = %d %q, %v; want 400", status, body, err)
	}
	if status, _, err := p.trace(ctx, http.DefaultClient, sent.TraceID); err != nil || status == http.StatusOK {
		t.Errorf("GET trace in decode-only = %d, %v; want an error status (nothing is stored)", status, err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat --data dir = %v, want it never created in decode-only mode", err)
	}
	if _, ok := p.metrics(ctx)["loupe_ingest_written_spans_total"]; ok {
		t.Error("/metrics has ingest counters in decode-only mode, want none (no pipeline)")
	}
	if err := p.terminate(30 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM = %v, want 0", err)
	}
	if !strings.Contains(p.log.String(), "data=\"none (decode-only)\"") {
		t.Errorf("log lacks the decode-only data=none note:\n%s", p.log.String())
	}
}
