package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/redact"
	"github.com/loupehq/loupe/internal/server"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

func TestExportRedactsBeforeSubmit(t *testing.T) {
	e, err := redact.Open(redact.Options{Secret: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	req := supportTrace(2)
	const email = "jane.doe@example.com"
	req.ResourceSpans[0].ScopeSpans[0].Spans[1].Name = "lookup " + email
	body := mustMarshal(t, req)
	for _, tt := range []struct {
		name      string
		redact    func(*loupe.Batch)
		wantEmail bool
	}{
		{"on", e.Batch, false},
		{"off", nil, true}, // positive control: the check sees the email when nothing redacts
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIngester{}
			h := newHandler(t, server.Options{Redact: tt.redact}, in, nil)
			if rec := post(h, "/v1/traces", "application/x-protobuf", "", body); rec.Code != http.StatusOK {
				t.Fatalf("POST /v1/traces = %d %s", rec.Code, rec.Body)
			}
			// The same request over gRPC takes the same path.
			client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{Redact: tt.redact}, in))
			if _, err := client.Export(t.Context(), req); err != nil {
				t.Fatalf("gRPC Export: %v", err)
			}
			if got := len(in.Spans()); got != 4 {
				t.Fatalf("submitted %d spans, want 4 (2 over HTTP, 2 over gRPC)", got)
			}
			var names []string
			for _, s := range in.Spans() {
				names = append(names, s.Name)
			}
			if got := strings.Count(strings.Join(names, "|"), email); got != map[bool]int{true: 2}[tt.wantEmail] {
				t.Errorf("submitted span names %q contain the email %d times, want %d", names, got, map[bool]int{true: 2}[tt.wantEmail])
			}
		})
	}
}

func TestRedactionRulesAPI(t *testing.T) {
	e, err := redact.Open(redact.Options{Secret: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, server.Options{RedactionRules: e}, &fakeIngester{}, nil)
	do := func(p auth.Principal, method, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/api/v1/redaction/rules", bytes.NewReader([]byte(body)))
		req = req.WithContext(auth.NewContext(req.Context(), p))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	admin := auth.Principal{Project: "acme", Role: auth.RoleAdmin}
	viewer := auth.Principal{Project: "acme", Role: auth.RoleViewer}

	if rec := do(admin, http.MethodPut, "enable ip\ndisable phone\n"); rec.Code != http.StatusOK || rec.Body.String() != "[project acme]\nenable ip\ndisable phone\n" {
		t.Fatalf("PUT = %d %q", rec.Code, rec.Body)
	}
	rec := do(admin, http.MethodPut, "enable ip\ncustom x mask ([\n")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "line 2") || !strings.Contains(rec.Body.String(), "bad regex") {
		t.Errorf("PUT of a bad regex = %d %s, want 400 naming line 2 and the reason", rec.Code, rec.Body)
	}
	if rec := do(admin, http.MethodGet, ""); rec.Body.String() != "[project acme]\nenable ip\ndisable phone\n" {
		t.Errorf("GET after a refused PUT = %q, want the previous rules", rec.Body)
	}
	s := loupe.Span{Project: "acme", Name: "from 203.0.113.9"}
	e.Span(&s)
	if s.Name != "from [REDACTED:ip]" {
		t.Errorf("acme span name = %q, want its ip redacted by the rules still in force", s.Name)
	}
	if rec := do(viewer, http.MethodPut, "disable email\n"); rec.Code != http.StatusForbidden {
		t.Errorf("PUT as a viewer = %d, want 403", rec.Code)
	}
	if rec := do(viewer, http.MethodGet, ""); rec.Code != http.StatusForbidden {
		t.Errorf("GET as a viewer = %d, want 403", rec.Code)
	}
	if rec := do(auth.Principal{Project: "other", Role: auth.RoleAdmin}, http.MethodGet, ""); rec.Code != http.StatusOK || rec.Body.String() != "" {
		t.Errorf("GET of another project = %d %q, want 200 and only the (empty) base rules", rec.Code, rec.Body)
	}

	off := newHandler(t, server.Options{}, &fakeIngester{}, nil)
	if rec := get(off, "/api/v1/redaction/rules"); rec.Code != http.StatusNotFound {
		t.Errorf("GET with redaction off = %d, want 404", rec.Code)
	}
}
