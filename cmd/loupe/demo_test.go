package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe/internal/demo"
)

// demoSpan is the part of a span of GET /api/v1/traces/{id} the demo test checks.
type demoSpan struct {
	SpanID          string         `json:"span_id"`
	ParentSpanID    string         `json:"parent_span_id"`
	Name            string         `json:"name"`
	Kind            string         `json:"kind"`
	StartTime       time.Time      `json:"start_time"`
	EndTime         time.Time      `json:"end_time"`
	Status          string         `json:"status"`
	StatusMessage   string         `json:"status_message"`
	ErrorType       string         `json:"error_type"`
	Service         string         `json:"service"`
	Environment     string         `json:"environment"`
	DeploymentID    string         `json:"deployment_id"`
	Tenant          string         `json:"tenant"`
	Route           string         `json:"route"`
	SessionID       string         `json:"session_id"`
	UserID          string         `json:"user_id"`
	PromptName      string         `json:"prompt_name"`
	PromptVersionID string         `json:"prompt_version_id"`
	ReleaseLabel    string         `json:"release_label"`
	Provider        string         `json:"provider"`
	RequestModel    string         `json:"request_model"`
	ResponseModel   string         `json:"response_model"`
	InputTokens     int64          `json:"input_tokens"`
	CacheReadTokens int64          `json:"cache_read_tokens"`
	OutputTokens    int64          `json:"output_tokens"`
	FinishReason    string         `json:"finish_reason"`
	ToolName        string         `json:"tool_name"`
	RetrievalIndex  string         `json:"retrieval_index"`
	RetrievalCount  int64          `json:"retrieval_count"`
	Attributes      map[string]any `json:"attributes"`
}

type demoTrace struct {
	TraceID string     `json:"trace_id"`
	Status  string     `json:"status"`
	Spans   []demoSpan `json:"spans"`
	raw     string
}

func (tr *demoTrace) byName(name string) *demoSpan {
	for i := range tr.Spans {
		if tr.Spans[i].Name == name {
			return &tr.Spans[i]
		}
	}
	return nil
}

func getDemoTrace(t *testing.T, p *loupeProc, id string) *demoTrace {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.baseURL+"/api/v1/traces/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET trace %s: %v", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/traces/%s = %d %s, want 200", id, resp.StatusCode, body)
	}
	tr := &demoTrace{raw: string(body)}
	if err := json.Unmarshal(body, tr); err != nil {
		t.Fatalf("decode trace %s: %v", id, err)
	}
	return tr
}

// TestDemoEndToEnd runs the demo against a real `loupe serve` and checks
// through the API that the scenarios arrive as the SDK meant them: the
// refund trace shows the tool error, the recovery and status degraded.
func TestDemoEndToEnd(t *testing.T) {
	p := startLoupe(t, "--data", t.TempDir())
	res, err := demo.Run(t.Context(), demo.Options{Endpoint: p.baseURL, Traces: 40, Seed: 7}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("demo.Run: %v", err)
	}
	if res.Traces != 40 || res.Dropped != 0 {
		t.Fatalf("demo.Run = %d traces, %d dropped; want 40, 0", res.Traces, res.Dropped)
	}

	t.Run("refund degraded", func(t *testing.T) {
		tr := getDemoTrace(t, p, res.TraceIDs(demo.RefundDegraded)[0])
		if tr.Status != "degraded" {
			t.Errorf("trace status = %q, want degraded", tr.Status)
		}
		root := tr.byName("support_agent.request")
		if root == nil || root.Kind != "request" || root.Status != "ok" || root.ParentSpanID != "" {
			t.Fatalf("root span = %+v, want kind request, status ok, no parent", root)
		}
		if root.Service != "support-agent" || root.Environment != "production" || root.DeploymentID == "" ||
			!strings.HasPrefix(root.Tenant, "tenant_") || root.Route == "" || root.SessionID == "" {
			t.Errorf("root = service %q env %q deployment %q tenant %q route %q session %q; want all set",
				root.Service, root.Environment, root.DeploymentID, root.Tenant, root.Route, root.SessionID)
		}
		if root.UserID == "" || strings.HasPrefix(root.UserID, "user_") {
			t.Errorf("root user_id = %q, want a keyed hash", root.UserID)
		}
		tool := tr.byName("tool.call.create_refund")
		if tool == nil {
			t.Fatal("no tool.call.create_refund span")
		}
		if tool.Kind != "tool" || tool.ToolName != "create_refund" || tool.Status != "error" || tool.ErrorType != "INVALID_ARGUMENT" ||
			tool.StatusMessage != "refund_amount_cents must be <= order_total_cents" {
			t.Errorf("tool span = kind %q tool %q status %q error_type %q message %q; want tool create_refund error INVALID_ARGUMENT with message",
				tool.Kind, tool.ToolName, tool.Status, tool.ErrorType, tool.StatusMessage)
		}
		rec := tr.byName("llm.call.recover_after_tool_error")
		if rec == nil {
			t.Fatal("no llm.call.recover_after_tool_error span: the recovery is missing")
		}
		if rec.Kind != "llm" || rec.Status != "ok" || rec.StartTime.Before(tool.EndTime) {
			t.Errorf("recovery = kind %q status %q start %v (tool ended %v); want an ok llm span after the tool error",
				rec.Kind, rec.Status, rec.StartTime, tool.EndTime)
		}
		plan := tr.byName("llm.call.plan_response")
		if plan == nil {
			t.Fatal("no llm.call.plan_response span")
		}
		for _, l := range []*demoSpan{plan, rec} {
			if l.Provider == "" || l.RequestModel == "" || l.ResponseModel == "" || l.InputTokens <= 0 || l.OutputTokens <= 0 ||
				l.CacheReadTokens <= 0 || l.PromptName == "" || !strings.HasPrefix(l.PromptVersionID, "prv_") || l.ReleaseLabel == "" ||
				l.FinishReason == "" {
				t.Errorf("llm span %s = %+v; want provider, models, tokens, prompt version, release label, finish reason", l.Name, *l)
			}
		}
		if plan.FinishReason != "tool_call" {
			t.Errorf("plan finish_reason = %q, want tool_call", plan.FinishReason)
		}
		ret := tr.byName("retrieval.search_policy_docs")
		if ret == nil || ret.Kind != "retrieval" || ret.RetrievalIndex != "support_policy_prod" || ret.RetrievalCount != 2 {
			t.Errorf("retrieval span = %+v, want index support_policy_prod with 2 documents", ret)
		}
		if pr := tr.byName("prompt.load"); pr == nil || pr.Kind != "prompt" || pr.PromptVersionID == "" {
			t.Errorf("prompt span = %+v, want kind prompt with a version id", pr)
		}
		if e := tr.byName("embeddings text-embedding-3-small"); e == nil || e.Kind != "embedding" {
			t.Errorf("embedding span = %+v, want kind embedding", e)
		}
		// Redaction ran in the SDK: no personal data reached the server.
		for _, pii := range []string{"jane.doe@example.com", "555 0199", "4111 1111 1111 1111", "k.mueller@example.de",
			"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"} {
			if strings.Contains(tr.raw, pii) {
				t.Errorf("trace JSON contains %q: not redacted", pii)
			}
		}
		if !regexp.MustCompile(`"loupe.redaction.count":\s*[1-9]`).MatchString(tr.raw) {
			t.Errorf("no span records loupe.redaction.count > 0")
		}
	})

	t.Run("other scenarios", func(t *testing.T) {
		tests := []struct {
			scenario demo.Scenario
			status   string
			check    func(t *testing.T, tr *demoTrace)
		}{
			{demo.OK, "ok", nil},
			{demo.ParserRepair, "ok", func(t *testing.T, tr *demoTrace) {
				s := tr.byName("response.validate")
				if s == nil || s.Kind != "parser" || s.Attributes["loupe.parser.repair_attempts"] == float64(0) {
					t.Errorf("parser span = %+v, want kind parser with repair attempts", s)
				}
			}},
			{demo.EmptyRetrieval, "ok", func(t *testing.T, tr *demoTrace) {
				s := tr.byName("retrieval.search_policy_docs")
				if s == nil || s.RetrievalCount != 0 || s.Attributes["loupe.retrieval.result_count"] != float64(0) {
					t.Errorf("retrieval span = %+v, want no documents", s)
				}
			}},
			{demo.Timeout, "error", func(t *testing.T, tr *demoTrace) {
				tool := tr.byName("tool.call.lookup_order")
				if tool == nil || tool.EndTime.Sub(tool.StartTime) < 4*time.Second || tool.ErrorType != "DEADLINE_EXCEEDED" {
					t.Errorf("tool span = %+v, want a slow failed lookup_order", tool)
				}
				if l := tr.byName("llm.call.plan_response"); l == nil || l.ErrorType != "timeout" || l.Status != "error" {
					t.Errorf("llm span = %+v, want a timeout error", l)
				}
			}},
			{demo.BadPromptRelease, "error", func(t *testing.T, tr *demoTrace) {
				s := tr.byName("response.validate")
				if s == nil || s.Status != "error" || s.ErrorType != "invalid_output" {
					t.Errorf("parser span = %+v, want invalid_output error", s)
				}
				if l := tr.byName("llm.call.plan_response"); l == nil || l.PromptVersionID != "prv_2026_06_10_02" {
					t.Errorf("llm span = %+v, want the bad prompt version prv_2026_06_10_02", l)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(string(tt.scenario), func(t *testing.T) {
				ids := res.TraceIDs(tt.scenario)
				if len(ids) == 0 {
					t.Fatalf("no %s trace", tt.scenario)
				}
				tr := getDemoTrace(t, p, ids[0])
				if tr.Status != tt.status {
					t.Errorf("trace status = %q, want %q", tr.Status, tt.status)
				}
				if tt.check != nil {
					tt.check(t, tr)
				}
			})
		}
	})
}

// TestServeDemo checks that `loupe serve --demo` populates the server by
// itself and logs where to look.
func TestServeDemo(t *testing.T) {
	p := startLoupe(t, "--data", t.TempDir(), "--demo")
	deadline := time.Now().Add(90 * time.Second)
	re := regexp.MustCompile(`msg="demo trace" scenario=refund-degraded url=\S+/api/v1/traces/([0-9a-f]{32})`)
	for {
		if m := re.FindStringSubmatch(p.log.String()); m != nil {
			tr := getDemoTrace(t, p, m[1])
			if tr.Status != "degraded" {
				t.Errorf("refund trace status = %q, want degraded", tr.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refund-degraded demo trace logged within 90s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.terminate(30 * time.Second); err != nil {
		t.Errorf("loupe serve --demo exit: %v, want 0", err)
	}
	if !strings.Contains(p.log.String(), "demo traffic sent") {
		t.Errorf("log lacks the demo summary")
	}
}

func TestParseDemoConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    demoConfig
		wantErr bool
	}{
		{name: "defaults", want: demoConfig{Endpoint: "http://127.0.0.1:4318", Traces: 1000}},
		{name: "flags", args: []string{"--endpoint", "http://h:1", "--traces", "5", "--rate", "2.5", "--seed", "3", "--key", "k1"},
			want: demoConfig{Endpoint: "http://h:1", Key: "k1", Traces: 5, Rate: 2.5, Seed: 3}},
		{name: "env", env: map[string]string{"LOUPE_ENDPOINT": "http://e:2", "LOUPE_TRACES": "0", "LOUPE_RATE": "10", "LOUPE_KEY": "k2"},
			want: demoConfig{Endpoint: "http://e:2", Key: "k2", Traces: 0, Rate: 10}},
		{name: "flag beats env", args: []string{"--traces", "9"}, env: map[string]string{"LOUPE_TRACES": "3"},
			want: demoConfig{Endpoint: "http://127.0.0.1:4318", Traces: 9}},
		{name: "negative rate", args: []string{"--rate", "-1"}, wantErr: true},
		{name: "negative traces", args: []string{"--traces", "-1"}, wantErr: true},
		{name: "argument", args: []string{"x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDemoConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseDemoConfig(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseDemoConfig(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestDemoUnreachable checks that a demo against nothing never hangs and
// reports its drops.
func TestDemoUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"demo", "--endpoint", "http://127.0.0.1:1", "--traces", "5"}, func(string) string { return "" },
		nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("demo against a closed port = %v, want an error counting dropped spans", err)
	}
}

func TestServeDemoDecodeOnly(t *testing.T) {
	_, err := parseServeConfig([]string{"--demo", "--decode-only"}, func(string) string { return "" }, io.Discard)
	if _, ok := errorsAs[*usageError](err); !ok {
		t.Errorf("serve --demo --decode-only: error %v, want a usage error", err)
	}
}
