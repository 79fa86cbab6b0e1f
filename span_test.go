package loupe_test

import (
	"errors"
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

func TestUsageTotal(t *testing.T) {
	tests := []struct {
		name     string
		u        loupe.Usage
		want     int64
		wantZero bool
	}{
		{"zero", loupe.Usage{}, 0, true},
		{"input only", loupe.Usage{Input: 7}, 7, false},
		{"all buckets", loupe.Usage{Input: 1, CacheRead: 20, CacheWrite: 300, Output: 4000, Reasoning: 50000}, 54321, false},
		{"reasoning only", loupe.Usage{Reasoning: 3}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Total(); got != tt.want {
				t.Errorf("%+v.Total() = %d, want %d", tt.u, got, tt.want)
			}
			if got := tt.u.IsZero(); got != tt.wantZero {
				t.Errorf("%+v.IsZero() = %v, want %v", tt.u, got, tt.wantZero)
			}
		})
	}
}

func TestKindValid(t *testing.T) {
	for _, k := range loupe.Kinds {
		if !k.Valid() {
			t.Errorf("Kind(%q).Valid() = false, want true", k)
		}
	}
	if got := len(loupe.Kinds); got != 12 {
		t.Errorf("len(Kinds) = %d, want the 12 kinds of DESIGN.md §2", got)
	}
	for _, k := range []loupe.Kind{"", "LLM", "Llm", "unknown", "llm ", "generation"} {
		if k.Valid() {
			t.Errorf("Kind(%q).Valid() = true, want false", k)
		}
	}
}

func TestKindBillable(t *testing.T) {
	for _, k := range loupe.Kinds {
		want := k == loupe.KindLLM || k == loupe.KindEmbedding
		if got := k.Billable(); got != want {
			t.Errorf("Kind(%q).Billable() = %v, want %v", k, got, want)
		}
	}
}

func validSpan(tb testing.TB) loupe.Span {
	tb.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return loupe.Span{
		TraceID: mustTraceID(tb, "0af7651916cd43dd8448eb211c80319c"),
		SpanID:  mustSpanID(tb, "00f067aa0ba902b7"),
		Name:    "chat gpt-4o",
		Kind:    loupe.KindLLM,
		Start:   start,
		End:     start.Add(1500 * time.Millisecond),
		Status:  loupe.StatusOK,
	}
}

func TestSpanValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(s *loupe.Span)
		wantErr bool
	}{
		{"valid", func(*loupe.Span) {}, false},
		{"root span", func(s *loupe.Span) { s.ParentSpanID = loupe.SpanID{} }, false},
		{"zero duration", func(s *loupe.Span) { s.End = s.Start }, false},
		{"every kind", func(s *loupe.Span) { s.Kind = loupe.KindGuardrail }, false},
		{"zero trace id", func(s *loupe.Span) { s.TraceID = loupe.TraceID{} }, true},
		{"zero span id", func(s *loupe.Span) { s.SpanID = loupe.SpanID{} }, true},
		{"no start", func(s *loupe.Span) { s.Start, s.End = time.Time{}, time.Time{} }, true},
		{"end before start", func(s *loupe.Span) { s.End = s.Start.Add(-time.Nanosecond) }, true},
		{"empty kind", func(s *loupe.Span) { s.Kind = "" }, true},
		{"unknown kind", func(s *loupe.Span) { s.Kind = "generation" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpan(t)
			tt.mod(&s)
			err := s.Validate()
			if tt.wantErr && !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("Validate() = %v, want an error wrapping ErrInvalid", err)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestSpanHelpers(t *testing.T) {
	s := validSpan(t)
	if got, want := s.Duration(), 1500*time.Millisecond; got != want {
		t.Errorf("Duration() = %v, want %v", got, want)
	}
	if !s.IsRoot() {
		t.Error("IsRoot() = false for a span without parent")
	}
	s.ParentSpanID = mustSpanID(t, "0000000000000001")
	if s.IsRoot() {
		t.Error("IsRoot() = true for a span with a parent")
	}

	tests := []struct {
		name      string
		status    loupe.Status
		errorType string
		want      bool
	}{
		{"ok", loupe.StatusOK, "", false},
		{"unset", loupe.StatusUnset, "", false},
		{"error status", loupe.StatusError, "", true},
		{"tool error code with unset status", loupe.StatusUnset, "timeout", true},
		{"error type with ok status", loupe.StatusOK, "rate_limited", true},
	}
	for _, tt := range tests {
		s.Status, s.ErrorType = tt.status, tt.errorType
		if got := s.Failed(); got != tt.want {
			t.Errorf("%s: Failed() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParamsIsZero(t *testing.T) {
	temp := 0.0
	stream := false
	tests := []struct {
		name string
		p    loupe.Params
		want bool
	}{
		{"empty", loupe.Params{}, true},
		{"zero temperature is recorded", loupe.Params{Temperature: &temp}, false},
		{"stream false is recorded", loupe.Params{Stream: &stream}, false},
		{"stop sequences", loupe.Params{StopSequences: []string{"\n"}}, false},
		{"empty stop sequences", loupe.Params{StopSequences: []string{}}, true},
		{"tool choice", loupe.Params{ToolChoice: "auto"}, false},
	}
	for _, tt := range tests {
		if got := tt.p.IsZero(); got != tt.want {
			t.Errorf("%s: IsZero() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPayloadIsZero(t *testing.T) {
	tests := []struct {
		name string
		p    *loupe.Payload
		want bool
	}{
		{"nil", nil, true},
		{"empty", &loupe.Payload{}, true},
		{"input message", &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "hi"}}}, false},
		{"tool result", &loupe.Payload{ToolResult: "{}"}, false},
		{"query", &loupe.Payload{Query: "q"}, false},
		{"event", &loupe.Payload{Events: []loupe.Event{{Name: "exception"}}}, false},
		{"output value", &loupe.Payload{OutputValue: "x"}, false},
	}
	for _, tt := range tests {
		if got := tt.p.IsZero(); got != tt.want {
			t.Errorf("%s: IsZero() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBatchLen(t *testing.T) {
	b := loupe.Batch{Spans: make([]loupe.Span, 3), Events: make([]loupe.SpanEvent, 2)}
	if got := b.Len(); got != 5 {
		t.Errorf("Len() = %d, want 5", got)
	}
}
