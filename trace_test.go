package loupe_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// span builds a span with the given id, parent ("" for a root), start offset
// and duration in milliseconds.
func span(tb testing.TB, id, parent string, startMs, durMs int) loupe.Span {
	tb.Helper()
	s := loupe.Span{
		TraceID: mustTraceID(tb, "0af7651916cd43dd8448eb211c80319c"),
		SpanID:  mustSpanID(tb, id),
		Kind:    loupe.KindSpan,
		Start:   t0.Add(time.Duration(startMs) * time.Millisecond),
		Status:  loupe.StatusUnset,
	}
	s.End = s.Start.Add(time.Duration(durMs) * time.Millisecond)
	if parent != "" {
		s.ParentSpanID = mustSpanID(tb, parent)
	}
	return s
}

const (
	rootID  = "0000000000000001"
	llmID   = "0000000000000002"
	toolID  = "0000000000000003"
	llm2ID  = "0000000000000004"
	otherID = "0000000000000005"
)

// referenceTrace is DESIGN.md's shape: request -> llm -> tool -> llm.
func referenceTrace(tb testing.TB) []loupe.Span {
	tb.Helper()
	root := span(tb, rootID, "", 0, 1000)
	llm := span(tb, llmID, rootID, 10, 300)
	llm.Kind = loupe.KindLLM
	tool := span(tb, toolID, rootID, 320, 100)
	tool.Kind = loupe.KindTool
	llm2 := span(tb, llm2ID, rootID, 430, 500)
	llm2.Kind = loupe.KindLLM
	return []loupe.Span{root, llm, tool, llm2}
}

func TestTraceStatus(t *testing.T) {
	tests := []struct {
		name string
		mod  func(spans []loupe.Span) []loupe.Span
		want loupe.TraceStatus
	}{
		{"all unset", func(s []loupe.Span) []loupe.Span { return s }, loupe.TraceOK},
		{"all ok", func(s []loupe.Span) []loupe.Span {
			for i := range s {
				s[i].Status = loupe.StatusOK
			}
			return s
		}, loupe.TraceOK},
		{"no spans", func([]loupe.Span) []loupe.Span { return nil }, loupe.TraceOK},
		{"child error status", func(s []loupe.Span) []loupe.Span { s[1].Status = loupe.StatusError; return s }, loupe.TraceDegraded},
		{"tool error code on unset status", func(s []loupe.Span) []loupe.Span { s[2].ErrorType = "timeout"; return s }, loupe.TraceDegraded},
		{"root error", func(s []loupe.Span) []loupe.Span { s[0].Status = loupe.StatusError; return s }, loupe.TraceError},
		{"root error and child error", func(s []loupe.Span) []loupe.Span {
			s[0].Status, s[2].Status = loupe.StatusError, loupe.StatusError
			return s
		}, loupe.TraceError},
		{"root error listed last", func(s []loupe.Span) []loupe.Span {
			s[2].ErrorType = "timeout"
			s[0].Status = loupe.StatusError
			return append(s[1:], s[0])
		}, loupe.TraceError},
		{"root missing, child error", func(s []loupe.Span) []loupe.Span { s[1].Status = loupe.StatusError; return s[1:] }, loupe.TraceDegraded},
		{"root missing, all ok", func(s []loupe.Span) []loupe.Span { return s[1:] }, loupe.TraceOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := loupe.Trace{Spans: tt.mod(referenceTrace(t))}
			if got := tr.Status(); got != tt.want {
				t.Errorf("Status() = %q, want %q", got, tt.want)
			}
			if got := loupe.StatusOf(tr.Spans); got != tt.want {
				t.Errorf("StatusOf() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTraceRoot(t *testing.T) {
	t.Run("root", func(t *testing.T) {
		tr := loupe.Trace{Spans: referenceTrace(t)}
		tr.Spans[0], tr.Spans[3] = tr.Spans[3], tr.Spans[0] // order does not matter
		r := tr.Root()
		if r == nil || r.SpanID.String() != rootID {
			t.Fatalf("Root() = %v, want span %s", r, rootID)
		}
		if r != &tr.Spans[3] {
			t.Error("Root() does not point into Spans")
		}
	})
	t.Run("earliest of several parentless spans", func(t *testing.T) {
		late := span(t, otherID, "", 50, 10)
		early := span(t, rootID, "", 0, 10)
		tr := loupe.Trace{Spans: []loupe.Span{late, early}}
		if r := tr.Root(); r == nil || r.SpanID.String() != rootID {
			t.Errorf("Root() = %v, want the earliest parentless span %s", r, rootID)
		}
	})
	t.Run("root not arrived", func(t *testing.T) {
		tr := loupe.Trace{Spans: referenceTrace(t)[1:]}
		if r := tr.Root(); r != nil {
			t.Errorf("Root() = %v, want nil", r.SpanID)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if r := (&loupe.Trace{}).Root(); r != nil {
			t.Errorf("Root() = %v, want nil", r)
		}
	})
}

func TestTraceBounds(t *testing.T) {
	tests := []struct {
		name               string
		spans              []loupe.Span
		wantStart, wantEnd time.Time
	}{
		{"reference", referenceTrace(t), t0, t0.Add(time.Second)},
		{"child outlives root", []loupe.Span{span(t, rootID, "", 0, 100), span(t, llmID, rootID, 50, 500)},
			t0, t0.Add(550 * time.Millisecond)},
		{"unordered, root missing", []loupe.Span{span(t, llm2ID, rootID, 400, 10), span(t, llmID, rootID, 20, 10)},
			t0.Add(20 * time.Millisecond), t0.Add(410 * time.Millisecond)},
		{"empty", nil, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := loupe.Trace{Spans: tt.spans}
			start, end := tr.Bounds()
			if !start.Equal(tt.wantStart) || !end.Equal(tt.wantEnd) {
				t.Errorf("Bounds() = %v, %v; want %v, %v", start, end, tt.wantStart, tt.wantEnd)
			}
		})
	}
}

func TestSortSpans(t *testing.T) {
	a := span(t, "00000000000000aa", "", 0, 10)
	b := span(t, "00000000000000bb", rootID, 5, 10)
	c := span(t, "00000000000000cc", rootID, 5, 10) // same start as b: by span id
	d := span(t, "0000000000000001", rootID, 7, 10)
	got := []loupe.Span{d, c, a, b}
	loupe.SortSpans(got)
	ids := make([]string, len(got))
	for i := range got {
		ids[i] = got[i].SpanID.String()
	}
	want := []string{"00000000000000aa", "00000000000000bb", "00000000000000cc", "0000000000000001"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("SortSpans order (-want +got):\n%s", diff)
	}
	loupe.SortSpans(nil) // must not panic
}
