package server

import (
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

func TestUITemplatesParse(t *testing.T) {
	tm, err := newUITemplates(uiFiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"list.html", "sessions.html", "session.html", "stats.html", "error.html"} {
		if tm.pages[name] == nil {
			t.Errorf("no template %s", name)
		}
	}
	for _, name := range []string{"app.css", "list.js"} {
		if _, err := tm.staticURL(name); err != nil {
			t.Errorf("staticURL(%s): %v", name, err)
		}
	}
	if _, err := tm.staticURL("missing.js"); err == nil {
		t.Error("staticURL(missing.js) = nil error, want one")
	}
}

func TestVisibleText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\tc", "a\nb\tc"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"nul\x00bell\x07", `nul\x00bell\x07`},
		{"c1 \u0085 del \x7f", `c1 \x85 del \x7f`},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"ünïcödé <b>", "ünïcödé <b>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := visibleText(tt.in); got != tt.want {
				t.Errorf("visibleText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatMs(0), "0"}, {formatMs(0.25), "0.25 ms"}, {formatMs(8), "8.0 ms"}, {formatMs(133.4), "133 ms"}, {formatMs(35700), "35.7 s"},
		{formatInt(0), "0"}, {formatInt(999), "999"}, {formatInt(3412), "3,412"}, {formatInt(-1234567), "-1,234,567"},
		{formatUSD(0), "$0"}, {formatUSD(0.0021), "$0.0021"}, {formatUSD(24.7), "$24.70"},
		{formatPct(0.0312), "3.1%"},
		{formatWhen(time.Date(2026, 6, 3, 17, 4, 5, 120e6, time.FixedZone("CEST", 7200))), "2026-06-03 15:04:05.120"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestNewUIFilterError(t *testing.T) {
	tests := []struct {
		q                        string
		pos                      int
		before, at, after, caret string
	}{
		{"status = err", 9, "status = ", "err", "", "         ^"},
		{"a = 1 and", 9, "a = 1 and", "", "", "         ^"},
		{`name = "ü" )`, 12, `name = "ü" `, ")", "", "           ^"}, // ü is 2 bytes, 1 column
		{"x\x1by = (", 2, "x\x1b", "y", " = (", "     ^"},            // ESC shows as 4 characters
		{"ab", 99, "ab", "", "", "  ^"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			fe := newUIFilterError(tt.q, &query.Error{Pos: tt.pos, Msg: "m"})
			if fe.Before != tt.before || fe.At != tt.at || fe.After != tt.after || fe.Caret != tt.caret {
				t.Errorf("got %q|%q|%q caret %q, want %q|%q|%q caret %q", fe.Before, fe.At, fe.After, fe.Caret, tt.before, tt.at, tt.after, tt.caret)
			}
		})
	}
}

func TestUIAutoIntervalAndNiceTop(t *testing.T) {
	for _, tt := range []struct{ span, want time.Duration }{
		{15 * time.Minute, 30 * time.Second}, {time.Hour, time.Minute}, {6 * time.Hour, 10 * time.Minute},
		{24 * time.Hour, 30 * time.Minute}, {7 * 24 * time.Hour, 3 * time.Hour}, {90 * 24 * time.Hour, 24 * time.Hour},
	} {
		if got := uiAutoInterval(tt.span); got != tt.want {
			t.Errorf("uiAutoInterval(%s) = %s, want %s", tt.span, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {37200, 50000}, {99, 100}} {
		if got := niceTop(tt.in); got != tt.want {
			t.Errorf("niceTop(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestConversationTurn(t *testing.T) {
	root := loupe.SpanID{1}
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	tests := []struct {
		name          string
		spans         []loupe.Span
		input, answer string
	}{
		{"root input and output", []loupe.Span{{SpanID: root, Payload: &loupe.Payload{InputValue: "q", OutputValue: "a"}}}, "q", "a"},
		{"from model calls", []loupe.Span{
			{SpanID: root, Payload: &loupe.Payload{}},
			{SpanID: loupe.SpanID{3}, ParentSpanID: root, Kind: loupe.KindLLM, Start: at(3),
				Payload: &loupe.Payload{Output: []loupe.Message{{Role: "assistant", Content: "final"}}}},
			{SpanID: loupe.SpanID{2}, ParentSpanID: root, Kind: loupe.KindLLM, Start: at(2),
				Payload: &loupe.Payload{Input: []loupe.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "hello"}},
					Output: []loupe.Message{{Role: "assistant", Content: "first"}}}},
		}, "hello", "final"},
		{"no payloads", []loupe.Span{{SpanID: root}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ans := conversationTurn(tt.spans)
			if in != tt.input || ans != tt.answer {
				t.Errorf("conversationTurn = %q, %q; want %q, %q", in, ans, tt.input, tt.answer)
			}
		})
	}
}

func TestUIFilterQuick(t *testing.T) {
	tests := []struct {
		q     string
		quick map[string]string
		want  string
	}{
		{"", nil, ""},
		{"", map[string]string{"status": "ERROR"}, "trace.status = error"},
		{`name = "x"`, map[string]string{"prompt": `a"b`, "route": "/r"}, `name = "x" and prompt.version_id = "a\"b" and route = "/r"`},
	}
	for _, tt := range tests {
		e, err := uiFilter(tt.q, tt.quick)
		if err != nil {
			t.Fatalf("uiFilter(%q): %v", tt.q, err)
		}
		got := ""
		if e != nil {
			got = e.String()
			// The combined filter is what live mode sends to the API: it
			// must parse back to the same thing.
			back, err := query.Parse(got)
			if err != nil || back.String() != got {
				t.Errorf("%q does not round-trip: %v", got, err)
			}
		}
		if got != tt.want {
			t.Errorf("uiFilter(%q, %v) = %q, want %q", tt.q, tt.quick, got, tt.want)
		}
	}
}
