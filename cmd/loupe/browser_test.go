package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loupehq/loupe/internal/demo"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// browserDir is the browser test package, relative to this directory.
const browserDir = "../../e2e/browser"

// largeTraceSpans is the size of the large trace the UI must keep
// interactive (issue #5: 100k spans in < 2 s).
const largeTraceSpans = 100_000

// xssMark is in every hostile value, so the tests can find the literal text.
const xssMark = "XSSMARK"

// TestBrowser runs the browser tests of the web UI (e2e/browser/*.test.mjs,
// Playwright driving Debian's chromium) against a real `loupe serve` with
// real ingested data: demo traffic (the reference trace among it), a
// 100,000-span trace and a trace of hostile values. It needs node, chromium
// and e2e/browser/node_modules (scripts/test.sh installs them); without
// them it fails, unless LOUPE_SKIP_BROWSER=1 (refused when CI=true).
func TestBrowser(t *testing.T) {
	node, chromium := browserPrereqs(t)
	p := startLoupe(t, "--data", t.TempDir())
	ctx := t.Context()

	// Demo traffic through the SDK, as `loupe demo` sends it.
	res, err := demo.Run(ctx, demo.Options{Endpoint: p.baseURL, Traces: 60, Seed: 42},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("demo.Run: %v", err)
	}
	if res.Dropped > 0 {
		t.Fatalf("demo.Run dropped %d spans", res.Dropped)
	}
	refs := res.TraceIDs(demo.RefundDegraded)
	if len(refs) == 0 {
		t.Fatal("demo.Run sent no refund-degraded trace")
	}
	ref := p.mustTrace(ctx, refs[0])
	var refSession string
	for _, s := range ref.Spans {
		if s.SessionID != "" {
			refSession = s.SessionID
			break
		}
	}

	start := time.Now().Add(-5 * time.Minute)
	large := sendLargeTrace(t, p, start)
	xss := sendXSSTrace(t, p, start.Add(time.Minute))

	env := append(os.Environ(),
		"LOUPE_URL="+p.baseURL,
		"LOUPE_REF_TRACE="+refs[0],
		"LOUPE_REF_SESSION="+refSession,
		"LOUPE_LARGE_TRACE="+large.trace,
		"LOUPE_LARGE_ERROR_SPAN="+large.errorSpan,
		fmt.Sprintf("LOUPE_LARGE_SPANS=%d", largeTraceSpans),
		"LOUPE_XSS_TRACE="+xss.trace,
		"LOUPE_XSS_SPAN="+xss.errorSpan,
		"LOUPE_XSS_SESSION="+xssSession,
		"LOUPE_XSS_MARK="+xssMark,
		"LOUPE_CHROMIUM="+chromium,
		fmt.Sprintf("LOUPE_SERVER_RACE=%t", raceEnabled),
	)
	// Bounded: a hung page must fail the test, not hold chromium forever.
	args := []string{"--test", "--test-concurrency=1", "--test-timeout=240000"}
	if run := os.Getenv("LOUPE_BROWSER_RUN"); run != "" { // e.g. trace.test.mjs, to iterate on one file
		args = append(args, run)
	} else {
		args = append(args, ".")
	}
	ctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = browserDir
	cmd.Env = env
	// node starts chromium: on timeout, end the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("browser tests failed: %v (screenshots in e2e/browser/screenshots)", err)
	}
}

// browserPrereqs returns the node and chromium executables, failing the
// test with what to install when one is missing.
func browserPrereqs(t *testing.T) (node, chromium string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests: start loupe and chromium")
	}
	skip := os.Getenv("LOUPE_SKIP_BROWSER") != ""
	if skip && os.Getenv("CI") == "true" {
		t.Fatal("LOUPE_SKIP_BROWSER is set, but CI never opts out of the browser tests")
	}
	if skip {
		t.Skip("OPT-OUT: LOUPE_SKIP_BROWSER is set")
	}
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs, Node 20 or later)")
	}
	chromium = os.Getenv("LOUPE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "e2e/browser/node_modules (npm ci --prefix e2e/browser)")
	}
	if len(missing) > 0 {
		t.Fatalf("browser tests need: %s; scripts/test.sh installs them all "+
			"(or set LOUPE_SKIP_BROWSER=1 to skip them locally)", strings.Join(missing, ", "))
	}
	return node, chromium
}

// sentSpecial is a trace the browser tests open by id.
type sentSpecial struct {
	trace     string // 32 hex characters
	errorSpan string // a failing span of it
}

// sendLargeTrace sends a trace of largeTraceSpans spans: a request root,
// 369 agent steps under it, each with 270 model and tool calls (every 50th
// tool call fails). It returns its id and one failing span deep in it.
func sendLargeTrace(t *testing.T, p *loupeProc, start time.Time) sentSpecial {
	t.Helper()
	const steps, perStep = 369, 270 // 1 + 369*(1+270) = 100,000
	if 1+steps*(1+perStep) != largeTraceSpans {
		t.Fatalf("large trace shape makes %d spans, want %d", 1+steps*(1+perStep), largeTraceSpans)
	}
	traceID := randomTraceID()
	sent := sentSpecial{trace: hex.EncodeToString(traceID)}
	rootID := randomSpanID()
	at := func(d time.Duration) uint64 { return nanos(start.Add(d)) }
	var batch []*tracepb.Span
	flush := func() {
		if len(batch) == 0 {
			return
		}
		req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
				str("service.name", "batch-agent"), str("deployment.environment.name", "test"),
			}},
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "loupe-browser-test"}, Spans: batch}},
		}}}
		if status, body := p.postProto(t.Context(), "/v1/traces", req); status != http.StatusOK {
			t.Fatalf("POST /v1/traces (large trace) = %d %s", status, body)
		}
		batch = batch[:0]
	}
	stepLen := 160 * time.Millisecond
	batch = append(batch, &tracepb.Span{TraceId: traceID, SpanId: rootID, Name: "batch_agent.run",
		Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: at(0), EndTimeUnixNano: at(steps * stepLen),
		Attributes: []*commonpb.KeyValue{str("loupe.span.kind", "request"), str("loupe.tenant", "tenant_large"),
			str("session.id", "sess-large")},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}})
	for s := range steps {
		stepID := randomSpanID()
		s0 := time.Duration(s) * stepLen
		batch = append(batch, &tracepb.Span{TraceId: traceID, SpanId: stepID, ParentSpanId: rootID,
			Name: fmt.Sprintf("agent.step %d", s), StartTimeUnixNano: at(s0), EndTimeUnixNano: at(s0 + stepLen - time.Millisecond),
			Attributes: []*commonpb.KeyValue{str("loupe.span.kind", "agent"), integer("agent.step", int64(s))},
			Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}})
		for c := range perStep {
			c0 := s0 + time.Duration(c)*500*time.Microsecond
			sp := &tracepb.Span{TraceId: traceID, SpanId: randomSpanID(), ParentSpanId: stepID,
				StartTimeUnixNano: at(c0), EndTimeUnixNano: at(c0 + 400*time.Microsecond),
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}}
			if c%2 == 0 {
				sp.Name = "chat gpt-4.1-mini"
				sp.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
					str("gen_ai.request.model", "gpt-4.1-mini"), integer("gen_ai.usage.input_tokens", 120), integer("gen_ai.usage.output_tokens", 12)}
			} else {
				sp.Name = "execute_tool lookup_order"
				sp.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "lookup_order"),
					str("gen_ai.tool.call.arguments", fmt.Sprintf(`{"order":"o-%d-%d"}`, s, c))}
				if c%50 == 1 {
					sp.Attributes = append(sp.Attributes, str("error.type", "NOT_FOUND"))
					sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: fmt.Sprintf("order o-%d-%d not found", s, c)}
					if s == steps/2 && sent.errorSpan == "" {
						sent.errorSpan = hex.EncodeToString(sp.SpanId)
					}
				}
			}
			batch = append(batch, sp)
			if len(batch) == 10_000 {
				flush()
			}
		}
	}
	flush()
	return sent
}

// xssSession is the hostile session id of the XSS trace.
const xssSession = `sess-<img src=x onerror="window.__xss=3">` + xssMark

// sendXSSTrace sends a trace whose span names, attributes, status message,
// messages, tool arguments and events hold script, HTML, javascript: URLs
// and ANSI escapes. Rendered anywhere, none of it may run or become markup.
func sendXSSTrace(t *testing.T, p *loupeProc, start time.Time) sentSpecial {
	t.Helper()
	const (
		script = `<script>window.__xss=1</script>`
		img    = `<img src=x onerror="window.__xss=2">`
		jsURL  = `javascript:alert(1)`
		ansi   = "\x1b[31mRED\x1b[0m"
	)
	hostile := script + img + " " + jsURL + " <b>bold</b> " + ansi + " " + xssMark
	jsonStr := func(s string) string { // s as a JSON string literal
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x1b", `\u001b`)
		return `"` + r.Replace(s) + `"`
	}
	traceID := randomTraceID()
	sent := sentSpecial{trace: hex.EncodeToString(traceID)}
	rootID, llmID, toolID := randomSpanID(), randomSpanID(), randomSpanID()
	sent.errorSpan = hex.EncodeToString(toolID)
	at := func(ms int) uint64 { return nanos(start.Add(time.Duration(ms) * time.Millisecond)) }
	spans := []*tracepb.Span{
		{TraceId: traceID, SpanId: rootID, Name: script + "request " + xssMark, Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: at(0), EndTimeUnixNano: at(100),
			Attributes: []*commonpb.KeyValue{str("loupe.span.kind", "request"), str("loupe.tenant", img+xssMark),
				str("loupe.route", jsURL), str("session.id", xssSession), str("loupe.prompt.version_id", script+xssMark),
				str("xss.html", hostile), str("xss.url", jsURL), str("xss.ansi", ansi+xssMark),
				str("http.url", jsURL)},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}},
		{TraceId: traceID, SpanId: llmID, ParentSpanId: rootID, Name: "chat " + img + xssMark, Kind: tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: at(5), EndTimeUnixNano: at(60),
			Attributes: []*commonpb.KeyValue{str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
				str("gen_ai.request.model", script+"gpt-4.1-mini"), integer("gen_ai.usage.input_tokens", 10), integer("gen_ai.usage.output_tokens", 5),
				str("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":`+jsonStr(hostile)+`}]}]`),
				str("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_x","name":`+jsonStr(img+"refund")+
					`,"arguments":{"url":`+jsonStr(jsURL)+`,"html":`+jsonStr(hostile)+`}}],"finish_reason":"tool_call"}]`)},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}},
		{TraceId: traceID, SpanId: toolID, ParentSpanId: rootID, Name: "execute_tool " + script + xssMark,
			StartTimeUnixNano: at(60), EndTimeUnixNano: at(70),
			Attributes: []*commonpb.KeyValue{str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", img+"refund"),
				str("gen_ai.tool.call.arguments", `{"link":`+jsonStr(jsURL)+`,"note":`+jsonStr(hostile)+`}`),
				str("gen_ai.tool.call.result", hostile), str("error.type", img+xssMark)},
			Events: []*tracepb.Span_Event{{TimeUnixNano: at(69), Name: "exception " + script,
				Attributes: []*commonpb.KeyValue{str("exception.type", img), str("exception.message", hostile)}}},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: hostile}},
	}
	req := tracesRequest(&tracepb.ResourceSpans{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "xss-"+img), str("deployment.environment.name", script+"prod"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "loupe-browser-test"}, Spans: spans}},
	})
	if status, body := p.postProto(t.Context(), "/v1/traces", req); status != http.StatusOK {
		t.Fatalf("POST /v1/traces (xss trace) = %d %s", status, body)
	}
	return sent
}
