package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// cli runs the loupe command line in-process against p and returns its
// stdout and stderr; it fails the test when the exit code is not wantCode.
func (p *loupeProc) cli(t *testing.T, wantCode int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args[:1:1], append([]string{"--endpoint", p.baseURL}, args[1:]...)...)
	err := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if got := code(err); got != wantCode {
		t.Fatalf("loupe %s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, err, wantCode, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestQueryCommandsEndToEnd ingests a few traces over OTLP/HTTP into a real
// `loupe serve` and asks about them with loupe traces, show and stats.
func TestQueryCommandsEndToEnd(t *testing.T) {
	p := startLoupe(t, "--data", t.TempDir())
	ctx := t.Context()
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)

	// failing: 5 spans, its first tool call fails (a degraded trace).
	failingRS, failing := supportTrace(5, start)
	tool := failingRS.ScopeSpans[0].Spans[2]
	tool.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "order service\nunavailable"}
	// withTool: 3 spans, a chat and a tool call, all fine.
	withToolRS, withTool := supportTrace(3, start.Add(10*time.Second))
	// chatOnly: 2 spans, no tool call.
	chatOnlyRS, chatOnly := supportTrace(2, start.Add(20*time.Second))
	if status, body := p.postProto(ctx, "/v1/traces", tracesRequest(failingRS, withToolRS, chatOnlyRS)); status != http.StatusOK {
		t.Fatalf("POST /v1/traces = %d %s", status, body)
	}

	t.Run("TracesFilter", func(t *testing.T) {
		for _, tt := range []struct {
			filter string
			want   []string // newest first
		}{
			{`tool.name = "lookup_order"`, []string{withTool.TraceID, failing.TraceID}},
			{`status = error`, []string{failing.TraceID}},
			{`kind = tool and status = error`, []string{failing.TraceID}},
			{`trace.status = ok`, []string{chatOnly.TraceID, withTool.TraceID}},
			{`model ~ "gpt-4o*"`, []string{chatOnly.TraceID, withTool.TraceID, failing.TraceID}},
			{`tenant = "nobody"`, nil},
		} {
			out, _ := p.cli(t, 0, "traces", "-q", tt.filter, "--json")
			var page struct {
				Traces []struct {
					TraceID string `json:"trace_id"`
					Status  string `json:"status"`
				} `json:"traces"`
			}
			if err := json.Unmarshal([]byte(out), &page); err != nil {
				t.Fatalf("-q %s --json: %v\n%s", tt.filter, err, out)
			}
			var got []string
			for _, tr := range page.Traces {
				got = append(got, tr.TraceID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("traces -q %s = %v, want %v", tt.filter, got, tt.want)
			}
		}
	})

	t.Run("TracesTable", func(t *testing.T) {
		out, _ := p.cli(t, 0, "traces", "--since", "1h", "--limit", "2")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], chatOnly.TraceID) || !strings.Contains(lines[2], withTool.TraceID) {
			t.Errorf("traces --limit 2 =\n%s\nwant a header and the two newest traces", out)
		}
		_, errOut := p.cli(t, 0, "traces", "--since", "1h", "--limit", "2")
		if !strings.Contains(errOut, "more: add --cursor ") {
			t.Errorf("stderr %q lacks the next-page hint", errOut)
		}
	})

	t.Run("BadFilter", func(t *testing.T) {
		_, errOut := p.cli(t, 1, "traces", "-q", "status = maybe")
		if !strings.HasPrefix(errOut, "loupe: filter: position 9: ") || !strings.Contains(errOut, "(HTTP 400)") {
			t.Errorf("stderr = %q, want the filter error with its position", errOut)
		}
	})

	t.Run("Show", func(t *testing.T) {
		out, _ := p.cli(t, 0, "show", failing.TraceID)
		lines := strings.Split(out, "\n")
		if want := "trace " + failing.TraceID[:12] + "  POST /support/chat   test   "; !strings.HasPrefix(lines[0], want) || !strings.HasSuffix(lines[0], "   DEGRADED") {
			t.Errorf("header = %q, want %q... DEGRADED", lines[0], want)
		}
		if want := "model gpt-4o-mini   "; !strings.HasPrefix(lines[1], want) {
			t.Errorf("second line = %q, want it to start with %q", lines[1], want)
		}
		// supportTrace(5): under the root, chat, tool (failed here), chat, tool.
		wantLines := []string{
			" 100 ms ├─ chat gpt-4o-mini                        ok     90 ms  810→41 tok  tool_call\n",
			" 200 ms ├─ execute_tool lookup_order               ERROR  90 ms  error\n",
			"       │  └─ order service unavailable\n",
			" 300 ms ├─ chat gpt-4o-mini                        ok     90 ms  830→43 tok  tool_call\n",
			" 400 ms └─ execute_tool lookup_order               ok     90 ms\n",
		}
		for _, w := range wantLines {
			if !strings.Contains(out, w) {
				t.Errorf("show lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("show to a pipe has colour escapes:\n%s", out)
		}
		if got := strings.Count(out, "\n"); got != 2+4+1 {
			t.Errorf("show printed %d lines, want 7 (2 header lines, 4 spans, 1 sub-line):\n%s", got, out)
		}
		js, _ := p.cli(t, 0, "show", failing.TraceID, "--json")
		var tr apiTrace
		if err := json.Unmarshal([]byte(js), &tr); err != nil || tr.TraceID != failing.TraceID || len(tr.Spans) != 5 || tr.Status != "degraded" {
			t.Errorf("show --json = %+v, %v; want the trace's 5 spans, degraded", tr, err)
		}
		_, errOut := p.cli(t, 1, "show", "0123456789abcdef0123456789abcdef")
		if errOut != "loupe: trace 0123456789abcdef0123456789abcdef not found (HTTP 404)\n" {
			t.Errorf("show unknown = %q", errOut)
		}
	})

	t.Run("Stats", func(t *testing.T) {
		out, _ := p.cli(t, 0, "stats", "--json", "--since", "1h")
		var st struct {
			Level  string `json:"level"`
			Groups []struct {
				Group        map[string]string `json:"group"`
				Count        int64             `json:"count"`
				ErrorRate    float64           `json:"error_rate"`
				InputTokens  int64             `json:"input_tokens"`
				OutputTokens int64             `json:"output_tokens"`
			} `json:"groups"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("stats --json: %v\n%s", err, out)
		}
		wantTokens := failing.Tokens + withTool.Tokens + chatOnly.Tokens
		if st.Level != "trace" || len(st.Groups) != 1 || st.Groups[0].Count != 3 ||
			st.Groups[0].InputTokens+st.Groups[0].OutputTokens != wantTokens {
			t.Errorf("stats = %s, want one group of 3 traces and %d tokens", out, wantTokens)
		}

		out, _ = p.cli(t, 0, "stats", "--by", "kind", "--level", "span", "--json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int64{}
		for _, g := range st.Groups {
			counts[g.Group["kind"]] = g.Count
		}
		// 3 roots; chats: 2 + 1 + 1; tools: 2 + 1.
		if counts["llm"] != 4 || counts["tool"] != 3 {
			t.Errorf("span counts by kind = %v, want 4 llm and 3 tool spans", counts)
		}

		table, _ := p.cli(t, 0, "stats", "--by", "model", "--interval", "1h")
		if !strings.Contains(table, "MODEL") || !strings.Contains(table, "BUCKET") || !strings.Contains(table, "P99") {
			t.Errorf("stats table =\n%s", table)
		}
		_, errOut := p.cli(t, 1, "stats", "--by", "duration")
		if !strings.Contains(errOut, "by: cannot group by duration") || !strings.Contains(errOut, "prompt.version_id") {
			t.Errorf("stats --by duration: stderr %q, want the list of valid fields", errOut)
		}
	})
}
