package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/server"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestHandleTraces(t *testing.T) {
	pb := mustMarshal(t, supportTrace(12))
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
		wantSpans   int
	}{
		{name: "Protobuf", contentType: "application/x-protobuf", body: pb, wantSpans: 12},
		{name: "ProtobufGzip", contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, pb), wantSpans: 12},
		{name: "ProtobufIdentity", contentType: "application/x-protobuf", encoding: "identity", body: pb, wantSpans: 12},
		{name: "JSON", contentType: "application/json", body: []byte(jsonTrace), wantSpans: 2},
		{name: "JSONCharsetGzip", contentType: "application/json; charset=utf-8", encoding: "gzip", body: gzipped(t, []byte(jsonTrace)), wantSpans: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIngester{}
			h := newHandler(t, server.Options{}, in, nil)
			rec := post(h, "/v1/traces", tt.contentType, tt.encoding, tt.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("POST /v1/traces = %d %q, want 200", rec.Code, rec.Body)
			}
			wantCT := "application/x-protobuf"
			if strings.HasPrefix(tt.contentType, "application/json") {
				wantCT = "application/json"
			}
			if got := rec.Header().Get("Content-Type"); got != wantCT {
				t.Errorf("Content-Type = %q, want %q", got, wantCT)
			}
			resp := decodeTraceResponse(t, wantCT, rec.Body.Bytes())
			if resp.GetPartialSuccess() != nil {
				t.Errorf("partial_success = %v, want none", resp.GetPartialSuccess())
			}
			spans := in.Spans()
			if len(spans) != tt.wantSpans {
				t.Fatalf("ingested %d spans, want %d", len(spans), tt.wantSpans)
			}
			for _, s := range spans {
				if got, want := s.TraceID.String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
					t.Errorf("span %s trace id = %s, want %s", s.SpanID, got, want)
				}
				if s.Project != loupe.DefaultProject {
					t.Errorf("span %s project = %q, want %q", s.SpanID, s.Project, loupe.DefaultProject)
				}
				if s.Service != "support-api" {
					t.Errorf("span %s service = %q, want support-api", s.SpanID, s.Service)
				}
			}
		})
	}
}

func decodeTraceResponse(t *testing.T, contentType string, body []byte) *coltracepb.ExportTraceServiceResponse {
	t.Helper()
	resp := &coltracepb.ExportTraceServiceResponse{}
	var err error
	if contentType == "application/json" {
		err = protojson.Unmarshal(body, resp)
	} else {
		err = proto.Unmarshal(body, resp)
	}
	if err != nil {
		t.Fatalf("decode response %q: %v", body, err)
	}
	return resp
}

// decodeStatus decodes an OTLP/HTTP error body, a google.rpc.Status.
func decodeStatus(t *testing.T, rec *httptest.ResponseRecorder) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/json":
		err = protojson.Unmarshal(rec.Body.Bytes(), st)
	case "application/x-protobuf":
		err = proto.Unmarshal(rec.Body.Bytes(), st)
	default:
		t.Fatalf("error Content-Type = %q, want protobuf or JSON", ct)
	}
	if err != nil {
		t.Fatalf("decode status %q: %v", rec.Body, err)
	}
	return st
}

func TestHandleTracesErrors(t *testing.T) {
	pb := mustMarshal(t, supportTrace(3))
	bomb := gzipped(t, make([]byte, 1<<20)) // 1 MiB of zeros in ~1 KiB
	invalidIDs := supportTrace(2)
	for _, s := range invalidIDs.ResourceSpans[0].ScopeSpans[0].Spans {
		s.TraceId = make([]byte, 16) // all zeros: invalid
	}
	errDisk := errors.New("disk full")

	tests := []struct {
		name        string
		opts        server.Options
		submit      func(context.Context, loupe.Batch) error
		contentType string
		encoding    string
		body        []byte
		wantStatus  int
		wantCT      string     // error body encoding
		wantCode    codes.Code // google.rpc.Status code
		wantMsg     string     // substring of the message
		wantRetry   bool
	}{
		{name: "UnsupportedContentType", contentType: "text/plain", body: pb,
			wantStatus: 415, wantCT: "application/json", wantCode: codes.InvalidArgument, wantMsg: "application/x-protobuf or application/json"},
		{name: "MissingContentType", body: pb,
			wantStatus: 415, wantCT: "application/json", wantCode: codes.InvalidArgument, wantMsg: "application/x-protobuf"},
		{name: "UnsupportedEncoding", contentType: "application/x-protobuf", encoding: "br", body: pb,
			wantStatus: 415, wantCT: "application/x-protobuf", wantCode: codes.InvalidArgument, wantMsg: `"br"`},
		{name: "MalformedProtobuf", contentType: "application/x-protobuf", body: []byte("\x0a\xff\xff\xff\xff\x0fgarbage"),
			wantStatus: 400, wantCT: "application/x-protobuf", wantCode: codes.InvalidArgument, wantMsg: "protobuf"},
		{name: "MalformedJSON", contentType: "application/json", body: []byte(`{"resourceSpans": [`),
			wantStatus: 400, wantCT: "application/json", wantCode: codes.InvalidArgument, wantMsg: "json"},
		{name: "BadGzip", contentType: "application/x-protobuf", encoding: "gzip", body: pb,
			wantStatus: 400, wantCT: "application/x-protobuf", wantCode: codes.InvalidArgument, wantMsg: "gzip"},
		{name: "BodyTooLarge", opts: server.Options{MaxBodyBytes: 100}, contentType: "application/x-protobuf", body: pb,
			wantStatus: 413, wantCT: "application/x-protobuf", wantCode: codes.ResourceExhausted, wantMsg: "limit is 100 bytes"},
		{name: "GzipBomb", opts: server.Options{MaxBodyBytes: 64 << 10}, contentType: "application/x-protobuf", encoding: "gzip", body: bomb,
			wantStatus: 413, wantCT: "application/x-protobuf", wantCode: codes.ResourceExhausted, wantMsg: "decompressed body exceeds the limit of 65536 bytes"},
		{name: "AllSpansInvalid", contentType: "application/x-protobuf", body: mustMarshal(t, invalidIDs),
			wantStatus: 400, wantCT: "application/x-protobuf", wantCode: codes.InvalidArgument, wantMsg: "2 spans rejected"},
		{name: "Overloaded", submit: func(context.Context, loupe.Batch) error { return fmt.Errorf("%w: queue full", loupe.ErrOverloaded) },
			contentType: "application/x-protobuf", body: pb,
			wantStatus: 503, wantCT: "application/x-protobuf", wantCode: codes.ResourceExhausted, wantMsg: "overloaded", wantRetry: true},
		{name: "OverloadedJSON", submit: func(context.Context, loupe.Batch) error { return loupe.ErrOverloaded },
			contentType: "application/json", body: []byte(jsonTrace),
			wantStatus: 503, wantCT: "application/json", wantCode: codes.ResourceExhausted, wantMsg: "overloaded", wantRetry: true},
		{name: "ShuttingDown", submit: func(context.Context, loupe.Batch) error { return loupe.ErrClosed },
			contentType: "application/x-protobuf", body: pb,
			wantStatus: 503, wantCT: "application/x-protobuf", wantCode: codes.Unavailable, wantMsg: "shutting down", wantRetry: true},
		{name: "WriteFailedIsRetryable", submit: func(context.Context, loupe.Batch) error { return fmt.Errorf("write spans: %w", errDisk) },
			contentType: "application/x-protobuf", body: pb,
			wantStatus: 503, wantCT: "application/x-protobuf", wantCode: codes.Unavailable, wantMsg: "storage unavailable", wantRetry: true},
		{name: "StoreRejectsSpans", submit: func(context.Context, loupe.Batch) error { return fmt.Errorf("%w: span too big", loupe.ErrInvalid) },
			contentType: "application/x-protobuf", body: pb,
			wantStatus: 400, wantCT: "application/x-protobuf", wantCode: codes.InvalidArgument, wantMsg: "span too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIngester{SubmitFn: tt.submit}
			h := newHandler(t, tt.opts, in, nil)
			rec := post(h, "/v1/traces", tt.contentType, tt.encoding, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("POST /v1/traces = %d %q, want %d", rec.Code, rec.Body, tt.wantStatus)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCT)
			}
			st := decodeStatus(t, rec)
			if got := codes.Code(st.GetCode()); got != tt.wantCode {
				t.Errorf("status code = %v, want %v", got, tt.wantCode)
			}
			if !strings.Contains(st.GetMessage(), tt.wantMsg) {
				t.Errorf("status message = %q, want it to contain %q", st.GetMessage(), tt.wantMsg)
			}
			if strings.Contains(st.GetMessage(), errDisk.Error()) {
				t.Errorf("status message = %q leaks the storage error", st.GetMessage())
			}
			retry := rec.Header().Get("Retry-After")
			if tt.wantRetry && retry != "1" {
				t.Errorf("Retry-After = %q, want 1", retry)
			}
			if !tt.wantRetry && retry != "" {
				t.Errorf("Retry-After = %q, want none", retry)
			}
		})
	}
}

func TestHandleTracesPartialSuccess(t *testing.T) {
	req := supportTrace(5)
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	spans[3].SpanId = nil                                       // no span id
	spans[4].EndTimeUnixNano = spans[4].StartTimeUnixNano - 1e9 // ends before it starts
	for _, enc := range []string{"application/x-protobuf", "application/json"} {
		t.Run(enc, func(t *testing.T) {
			var body []byte
			if enc == "application/json" {
				body = []byte(strings.Replace(jsonTrace, `"spanId":"00f067aa0ba902b8",`, ``, 1))
			} else {
				body = mustMarshal(t, req)
			}
			in := &fakeIngester{}
			h := newHandler(t, server.Options{}, in, nil)
			rec := post(h, "/v1/traces", enc, "", body)
			if rec.Code != http.StatusOK {
				t.Fatalf("POST /v1/traces = %d %q, want 200", rec.Code, rec.Body)
			}
			ps := decodeTraceResponse(t, enc, rec.Body.Bytes()).GetPartialSuccess()
			wantRejected, wantStored := int64(2), 3
			if enc == "application/json" {
				wantRejected, wantStored = 1, 1
			}
			if got := ps.GetRejectedSpans(); got != wantRejected {
				t.Errorf("partial_success.rejected_spans = %d, want %d", got, wantRejected)
			}
			if !strings.Contains(ps.GetErrorMessage(), "rejected") {
				t.Errorf("partial_success.error_message = %q, want the reasons", ps.GetErrorMessage())
			}
			if got := len(in.Spans()); got != wantStored {
				t.Errorf("ingested %d spans, want %d", got, wantStored)
			}
		})
	}
}

func TestHandleTracesEmptyRequest(t *testing.T) {
	in := &fakeIngester{}
	h := newHandler(t, server.Options{}, in, nil)
	rec := post(h, "/v1/traces", "application/x-protobuf", "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/traces (empty) = %d %q, want 200", rec.Code, rec.Body)
	}
	if in.Calls() != 0 {
		t.Errorf("Submit called %d times for an empty request, want 0", in.Calls())
	}
}

func TestHandleTracesAckAfterDurable(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	in := &fakeIngester{SubmitFn: func(ctx context.Context, _ loupe.Batch) error {
		close(entered)
		<-release
		return nil
	}}
	srv := httptest.NewServer(newHandler(t, server.Options{}, in, nil))
	defer srv.Close()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader(mustMarshal(t, supportTrace(3))))
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	<-entered
	select {
	case r := <-done:
		t.Fatalf("response %d %v arrived before Submit returned", r.status, r.err)
	default:
	}
	close(release)
	if r := <-done; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("POST /v1/traces = %d %v, want 200", r.status, r.err)
	}
}

func TestHandleTracesDecodeOnly(t *testing.T) {
	in := &fakeIngester{SubmitFn: func(context.Context, loupe.Batch) error {
		return errors.New("DecodeOnly must not submit")
	}}
	h := newHandler(t, server.Options{DecodeOnly: true}, in, nil)
	if rec := post(h, "/v1/traces", "application/x-protobuf", "", mustMarshal(t, supportTrace(12))); rec.Code != http.StatusOK {
		t.Errorf("POST /v1/traces = %d %q, want 200", rec.Code, rec.Body)
	}
	if rec := post(h, "/v1/logs", "application/x-protobuf", "", mustMarshal(t, logsRequest())); rec.Code != http.StatusOK {
		t.Errorf("POST /v1/logs = %d %q, want 200", rec.Code, rec.Body)
	}
	if rec := post(h, "/v1/traces", "application/x-protobuf", "", []byte("\x0a\xff")); rec.Code != http.StatusBadRequest {
		t.Errorf("POST /v1/traces (malformed) = %d, want 400: decode-only still decodes", rec.Code)
	}
}

func logsRequest() *collogspb.ExportLogsServiceRequest {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
			{TimeUnixNano: uint64(testStart.UnixNano()), EventName: loupe.EventUserMessage, TraceId: testTraceID, SpanId: spanID(1),
				Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
					{Key: "content", Value: str("Hi, my order 8812 arrived damaged")}}}}}},
			{TimeUnixNano: uint64(testStart.UnixNano()), EventName: loupe.EventChoice, TraceId: testTraceID, SpanId: spanID(1),
				Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
					{Key: "content", Value: str("Let me check.")}}}}}},
		}}},
	}}}
}

func TestHandleLogs(t *testing.T) {
	t.Run("Protobuf", func(t *testing.T) {
		in := &fakeIngester{}
		h := newHandler(t, server.Options{}, in, nil)
		rec := post(h, "/v1/logs", "application/x-protobuf", "", mustMarshal(t, logsRequest()))
		if rec.Code != http.StatusOK {
			t.Fatalf("POST /v1/logs = %d %q, want 200", rec.Code, rec.Body)
		}
		resp := &collogspb.ExportLogsServiceResponse{}
		if err := proto.Unmarshal(rec.Body.Bytes(), resp); err != nil {
			t.Fatalf("decode response: %v", err)
		}
		events := in.Events()
		if len(events) != 2 {
			t.Fatalf("ingested %d events, want 2", len(events))
		}
		for _, e := range events {
			if e.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || e.SpanID.String() != "0000000000000102" {
				t.Errorf("event joined to %s/%s, want 4bf92f3577b34da6a3ce929d0e0e4736/0000000000000102", e.TraceID, e.SpanID)
			}
		}
	})

	t.Run("JSONGzip", func(t *testing.T) {
		in := &fakeIngester{}
		h := newHandler(t, server.Options{}, in, nil)
		body := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1780506245000000000","eventName":"gen_ai.user.message",
"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b8","body":{"kvlistValue":{"values":[{"key":"content","value":{"stringValue":"hi"}}]}}}]}]}]}`
		rec := post(h, "/v1/logs", "application/json", "gzip", gzipped(t, []byte(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("POST /v1/logs = %d %q, want 200", rec.Code, rec.Body)
		}
		if got := len(in.Events()); got != 1 {
			t.Fatalf("ingested %d events, want 1", got)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		in := &fakeIngester{SubmitFn: func(context.Context, loupe.Batch) error { return loupe.ErrOverloaded }}
		h := newHandler(t, server.Options{}, in, nil)
		if rec := post(h, "/v1/logs", "text/plain", "", nil); rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("POST /v1/logs text/plain = %d, want 415", rec.Code)
		}
		if rec := post(h, "/v1/logs", "application/json", "", []byte("{")); rec.Code != http.StatusBadRequest {
			t.Errorf("POST /v1/logs malformed = %d, want 400", rec.Code)
		}
		rec := post(h, "/v1/logs", "application/x-protobuf", "", mustMarshal(t, logsRequest()))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("POST /v1/logs overloaded = %d Retry-After %q, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
}

func TestRoutes(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, nil)
	tests := []struct {
		method, path string
		wantStatus   int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/v1/traces", 405},
		{"PUT", "/v1/logs", 405},
		{"GET", "/nope", 404},
		{"GET", "/metrics", 404}, // no Gatherer
		{"GET", "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736", 501},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.wantStatus)
			}
		})
	}
}

func TestHandleTracesStreamedBodyTooLarge(t *testing.T) {
	// Without a Content-Length the cap applies while reading.
	h := newHandler(t, server.Options{MaxBodyBytes: 100}, &fakeIngester{}, nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", io.MultiReader(bytes.NewReader(make([]byte, 150))))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-protobuf")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST 150 bytes, limit 100 = %d %q, want 413", rec.Code, rec.Body)
	}
	if st := decodeStatus(t, rec); !strings.Contains(st.GetMessage(), "limit is 100 bytes") {
		t.Errorf("message = %q, want the limit named", st.GetMessage())
	}
}

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHandler(t, server.Options{Logger: log}, &fakeIngester{}, nil)
	get(h, "/healthz")
	for _, want := range []string{"msg=request", "method=GET", "path=/healthz", "status=200"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("access log %q lacks %q", buf.String(), want)
		}
	}
}
