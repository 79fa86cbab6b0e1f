package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver for the scan
	"github.com/klauspost/compress/zstd"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/redact/redacttest"
)

// corpusTrace is one trace of the redaction corpus: a root span, one span
// per seed carrying it everywhere a span holds text, and one span carrying
// the look-alikes that must survive.
type corpusTrace struct {
	traceID  []byte
	rootID   []byte
	seedSpan [][]byte // span id per seed, as redacttest.Seeds()
	benignID []byte
}

// plant returns the OTLP attributes, events and status that put v in every
// text field a span has: messages, tool arguments and result, retrieval
// snippets, nested JSON, span events, the status message.
func plant(v string) ([]*commonpb.KeyValue, []*tracepb.Span_Event, *tracepb.Status) {
	q, _ := json.Marshal(v)
	js := string(q) // v as a JSON string, escapes included
	nested, _ := json.Marshal(`{"note":` + js + `}`)
	attrs := []*commonpb.KeyValue{
		str("gen_ai.operation.name", "chat"),
		str("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":`+js+`}]}]`),
		str("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"create_refund","arguments":{"customer":`+js+`}}],"finish_reason":"tool_call"}]`),
		str("gen_ai.tool.call.arguments", `{"customer":`+js+`,"amount_cents":1299}`),
		str("gen_ai.tool.call.result", `{"status":"error","detail":`+js+`}`),
		str("gen_ai.retrieval.documents", `[{"id":"doc_102","score":0.91,"content":"policy snippet: `+strings.Trim(js, `"`)+`"}]`),
		str("app.nested_json", `{"payload":`+string(nested)+`}`),
		str("app.note", v),
		{Key: "app.list", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}}}}},
	}
	events := []*tracepb.Span_Event{{Name: "exception", Attributes: []*commonpb.KeyValue{
		str("exception.type", "RefundError"), str("exception.message", "refund failed for "+v)}}}
	status := &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "tool failed: " + v}
	return attrs, events, status
}

// corpusRequest builds the corpus trace as resource spans.
func corpusRequest(start time.Time) (*tracepb.ResourceSpans, corpusTrace) {
	ct := corpusTrace{traceID: randomTraceID(), rootID: randomSpanID(), benignID: randomSpanID()}
	end := start.Add(time.Second)
	spans := []*tracepb.Span{{TraceId: ct.traceID, SpanId: ct.rootID, Name: "support_agent.request",
		StartTimeUnixNano: nanos(start), EndTimeUnixNano: nanos(end),
		Attributes: []*commonpb.KeyValue{str("user.id", "user-4711")}}}
	res := []*commonpb.KeyValue{str("service.name", "support-bot")}
	for i, seed := range redacttest.Seeds() {
		v := redacttest.Context(seed)
		id := randomSpanID()
		ct.seedSpan = append(ct.seedSpan, id)
		attrs, events, status := plant(v)
		spans = append(spans, &tracepb.Span{TraceId: ct.traceID, SpanId: id, ParentSpanId: ct.rootID,
			Name:              "step " + v,
			StartTimeUnixNano: nanos(start.Add(time.Duration(i+1) * time.Millisecond)),
			EndTimeUnixNano:   nanos(start.Add(time.Duration(i+2) * time.Millisecond)),
			Attributes:        attrs, Events: events, Status: status})
		res = append(res, str(fmt.Sprintf("app.owner.%d", i), v))
	}
	bv := "order " + strings.Join(redacttest.Benign(), " ")
	attrs, events, _ := plant(bv)
	spans = append(spans, &tracepb.Span{TraceId: ct.traceID, SpanId: ct.benignID, ParentSpanId: ct.rootID,
		Name:              bv,
		StartTimeUnixNano: nanos(start.Add(500 * time.Millisecond)), EndTimeUnixNano: nanos(end),
		Attributes: attrs, Events: events})
	res = append(res, str("app.benign", bv))
	return &tracepb.ResourceSpans{
		Resource:   &resourcepb.Resource{Attributes: res},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "loupe-e2e"}, Spans: spans}},
	}, ct
}

// corpusLogs returns log records joined to the seed spans: a GenAI user
// message event (body kvlist) and a plain log line (string body).
func corpusLogs(ct corpusTrace, at time.Time) *collogspb.ExportLogsServiceRequest {
	var recs []*logspb.LogRecord
	for i, seed := range redacttest.Seeds() {
		v := redacttest.Context(seed)
		recs = append(recs,
			&logspb.LogRecord{TimeUnixNano: nanos(at), TraceId: ct.traceID, SpanId: ct.seedSpan[i],
				EventName: "gen_ai.user.message",
				Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
					Values: []*commonpb.KeyValue{str("content", "log message "+v)}}}}},
			&logspb.LogRecord{TimeUnixNano: nanos(at), TraceId: ct.traceID, SpanId: ct.seedSpan[i],
				Attributes: []*commonpb.KeyValue{str("log.note", v)},
				Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "audit: " + v}}})
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "support-bot")}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}},
	}}}
}

// ingestCorpus sends two corpus traces, one as OTLP protobuf and one as
// OTLP JSON, and their log records.
func ingestCorpus(t *testing.T, p *loupeProc) []corpusTrace {
	t.Helper()
	ctx := t.Context()
	var out []corpusTrace
	for _, format := range []string{"proto", "json"} {
		rs, ct := corpusRequest(time.Now().Add(-time.Minute))
		out = append(out, ct)
		logs := corpusLogs(ct, time.Now().Add(-time.Minute))
		if format == "proto" {
			if status, rb := p.postProto(ctx, "/v1/traces", tracesRequest(rs)); status != http.StatusOK {
				t.Fatalf("POST /v1/traces = %d %s", status, rb)
			}
			if status, rb := p.postProto(ctx, "/v1/logs", logs); status != http.StatusOK {
				t.Fatalf("POST /v1/logs = %d %s", status, rb)
			}
			continue
		}
		for path, body := range map[string][]byte{"/v1/traces": mustOTLPJSON(t, tracesRequest(rs)), "/v1/logs": mustOTLPJSON(t, logs)} {
			status, rb, err := post(ctx, http.DefaultClient, p.baseURL+path, "application/json", "", body)
			if err != nil || status != http.StatusOK {
				t.Fatalf("POST %s JSON = %d %s, %v", path, status, rb, err)
			}
		}
	}
	return out
}

func mustOTLPJSON(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := otlpJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leakForms returns the encodings of v a store could hold: as sent,
// JSON-escaped, and lower-cased (matched case-insensitively).
func leakForms(v string) []string {
	q, _ := json.Marshal(v)
	return []string{v, strings.Trim(string(q), `"`), strings.ToLower(v)}
}

// findSeeds records, for each seed found in data, where: view names the
// file and how it was read.
func findSeeds(found map[string][]string, view string, data []byte) {
	lower := bytes.ToLower(data)
	for _, seed := range redacttest.Seeds() {
		for _, form := range leakForms(seed.Value) {
			if bytes.Contains(data, []byte(form)) || bytes.Contains(lower, []byte(strings.ToLower(form))) {
				found[seed.Value] = append(found[seed.Value], view)
				break
			}
		}
	}
}

// scanFiles reads every file under dir as raw bytes, as the frames of the
// payload segment log (decompressed), and from every zstd frame magic in
// any file (decompressed as far as it goes). It returns where each seed was
// found.
func scanFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(256<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	files := 0
	var names []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(dir, path)
		names = append(names, fmt.Sprintf("%s (%d B)", rel, len(data)))
		findSeeds(found, rel+" (raw)", data)
		// Segment frames (internal/segment/frame.go): 28-byte header with
		// magic "LPF\x00" and the compressed length at offset 8, then zstd.
		for off := 0; off+28 <= len(data) && bytes.Equal(data[off:off+4], []byte("LPF\x00")); {
			n := int(binary.LittleEndian.Uint32(data[off+8:]))
			if off+28+n > len(data) {
				break
			}
			raw, err := dec.DecodeAll(data[off+28:off+28+n], nil)
			if err != nil {
				t.Errorf("%s: frame at %d: %v", rel, off, err)
				break
			}
			findSeeds(found, rel+" (segment frame)", raw)
			off += 28 + n
		}
		// Any zstd frame anywhere (temp files, other compressed blocks).
		magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
		for i := 0; ; {
			j := bytes.Index(data[i:], magic)
			if j < 0 {
				break
			}
			i += j
			zr, err := zstd.NewReader(bytes.NewReader(data[i:]), zstd.WithDecoderConcurrency(1))
			if err == nil {
				raw, _ := io.ReadAll(io.LimitReader(zr, 64<<20)) // keep what decodes
				zr.Close()
				findSeeds(found, rel+" (zstd stream)", raw)
			}
			i += len(magic)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no file under %s", dir)
	}
	t.Logf("scanned %d files: %s", files, strings.Join(names, ", "))
	return found
}

// scanDuckDB opens the stopped server's database and reads every column of
// every table through SQL, so dictionary- or FSST-compressed strings are
// seen decompressed.
func scanDuckDB(t *testing.T, dir string) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	db, err := sql.Open("duckdb", filepath.Join(dir, duckdb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, fmt.Sprintf("%q.%q", schema, name))
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("the database has no table")
	}
	cells := 0
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		var buf bytes.Buffer
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					buf.Write(b)
				} else {
					fmt.Fprint(&buf, v)
				}
				buf.WriteByte(0)
				cells++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
		findSeeds(found, "sql "+table, buf.Bytes())
	}
	t.Logf("SQL scan: %d tables, %d cells", len(tables), cells)
	return found
}

// TestRedactionNothingReachesDisk ingests the seeded corpus (every rule, in
// every place a span carries text, over OTLP protobuf and JSON, plus log
// records), checks the API shows markers and counts and keeps the
// look-alikes, stops the server (SIGTERM, or kill -9 leaving the WAL), and
// scans every byte under the data directory, raw and decompressed, and the
// database through SQL. With --redaction=off (the positive control) the
// same scan must find every seed.
func TestRedactionNothingReachesDisk(t *testing.T) {
	for _, tt := range []struct {
		name      string
		flags     []string
		stop      string // "term" or "kill"
		wantLeaks bool
	}{
		{"SIGTERM", nil, "term", false},
		{"kill9", nil, "kill", false},
		{"off", []string{"--redaction=off"}, "term", true},
		{"off-kill9", []string{"--redaction=off"}, "kill", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := startLoupe(t, append([]string{"--data", dir}, tt.flags...)...)
			traces := ingestCorpus(t, p)
			if !tt.wantLeaks {
				for _, ct := range traces {
					checkRedactedTrace(t, p, ct)
				}
				if !strings.Contains(p.log.String(), "msg=\"redaction on\"") {
					t.Errorf("server log lacks the redaction-on line")
				}
			} else if !strings.Contains(p.log.String(), "REDACTION IS OFF") {
				t.Errorf("--redaction=off did not log a warning")
			}
			if tt.stop == "kill" {
				p.kill()
			} else if err := p.terminate(60 * time.Second); err != nil {
				t.Fatalf("loupe exited with %v", err)
			}

			files := scanFiles(t, dir)
			sqlFound := scanDuckDB(t, dir)
			for _, seed := range redacttest.Seeds() {
				where := append(files[seed.Value], sqlFound[seed.Value]...)
				switch {
				case tt.wantLeaks && len(sqlFound[seed.Value]) == 0:
					t.Errorf("positive control: %s seed %q not found through SQL with redaction off (found: %q)", seed.Rule, seed.Value, where)
				case tt.wantLeaks && len(files[seed.Value]) == 0:
					t.Errorf("positive control: %s seed %q not found in the files with redaction off", seed.Rule, seed.Value)
				case !tt.wantLeaks && len(where) > 0:
					t.Errorf("%s seed %q reached the disk: %q", seed.Rule, seed.Value, where)
				}
			}
			if tt.wantLeaks {
				// The decompressed views must see what only they can: the
				// payload text is compressed in the segment log.
				seen := map[string]bool{}
				for _, where := range files {
					for _, w := range where {
						seen[w[strings.LastIndexByte(w, '(')+1:]] = true
					}
				}
				if !seen["segment frame)"] {
					t.Errorf("positive control: no seed found in a decompressed segment frame; views: %v", seen)
				}
			}
		})
	}
}

// checkRedactedTrace reads a corpus trace through the API: every seed span
// shows its rule's marker in its name, status message, messages, tool
// arguments and snippets, the redaction counts, and no seed; the
// look-alike span is unchanged.
func checkRedactedTrace(t *testing.T, p *loupeProc, ct corpusTrace) {
	t.Helper()
	id := hex.EncodeToString(ct.traceID)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.baseURL+"/api/v1/traces/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET trace %s = %d %s", id, resp.StatusCode, body)
	}
	found := map[string][]string{}
	findSeeds(found, "api", body)
	for v := range found {
		t.Errorf("API trace %s shows the seed %q", id, v)
	}
	var tr struct {
		Spans []map[string]any `json:"spans"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	byID := map[string]map[string]any{}
	for _, s := range tr.Spans {
		byID[s["span_id"].(string)] = s
	}
	if n := len(redacttest.Seeds()) + 2; len(byID) != n {
		t.Fatalf("trace %s has %d spans, want %d", id, len(byID), n)
	}
	if root := byID[hex.EncodeToString(ct.rootID)]; !strings.HasPrefix(fmt.Sprint(root["user_id"]), "hmac:") {
		t.Errorf("root user_id = %v, want an hmac: hash", root["user_id"])
	}
	for i, seed := range redacttest.Seeds() {
		s := byID[hex.EncodeToString(ct.seedSpan[i])]
		mark := "[REDACTED:" + seed.Rule + "]"

		for _, field := range []string{"name", "status_message"} {
			if !strings.Contains(fmt.Sprint(s[field]), mark) {
				t.Errorf("seed %s span %s = %q, want %s", seed.Rule, field, s[field], mark)
			}
		}
		payload, _ := json.Marshal(s["payload"])
		if c := strings.Count(string(payload), mark); c < 6 { // input, tool call, args, result, snippet, events, log lines
			t.Errorf("seed %s: payload holds %d markers, want >= 6: %s", seed.Rule, c, payload)
		}
		attrs, _ := s["attributes"].(map[string]any)
		if n, _ := attrs["loupe.redaction.count"].(float64); n < 8 {
			t.Errorf("seed %s: loupe.redaction.count = %v, want >= 8", seed.Rule, attrs["loupe.redaction.count"])
		}
		if r := fmt.Sprint(attrs["loupe.redaction.rules"]); !strings.Contains(r, seed.Rule+":") {
			t.Errorf("seed %s: loupe.redaction.rules = %q, want it to name %s", seed.Rule, r, seed.Rule)
		}

	}
	b := byID[hex.EncodeToString(ct.benignID)]
	want := "order " + strings.Join(redacttest.Benign(), " ")
	if b["name"] != want {
		t.Errorf("look-alike span name = %q, want %q (unchanged)", b["name"], want)
	}
	// The resource attributes (seeded) are on every span of the request.
	battrs, _ := b["attributes"].(map[string]any)
	for k := range battrs {
		if strings.HasPrefix(k, "resource.app.owner.") || strings.HasPrefix(k, "loupe.redaction.") {
			delete(battrs, k)
		}
	}
	bjs, _ := json.Marshal(b)
	if strings.Contains(string(bjs), "[REDACTED") {
		t.Errorf("look-alike span was redacted: %s", bjs[max(0, strings.Index(string(bjs), "[REDACTED")-300):])
	}
	if !strings.Contains(string(body), id) {
		t.Errorf("trace id %s missing from its own trace", id)
	}
}
