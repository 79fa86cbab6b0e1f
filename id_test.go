package loupe_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/loupehq/loupe"
)

func TestParseTraceID(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // String() of the result; "" when an error is expected
	}{
		{"lowercase", "0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c"},
		{"uppercase", "0AF7651916CD43DD8448EB211C80319C", "0af7651916cd43dd8448eb211c80319c"},
		{"smallest", "00000000000000000000000000000001", "00000000000000000000000000000001"},
		{"empty", "", ""},
		{"too short", "0af7651916cd43dd8448eb211c80319", ""},
		{"too long", "0af7651916cd43dd8448eb211c80319c0", ""},
		{"not hex", "0af7651916cd43dd8448eb211c80319g", ""},
		{"all zeros", "00000000000000000000000000000000", ""},
		{"base64 of 16 bytes", "CvdlGRbNQ92ESOshHIAxnA==", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := loupe.ParseTraceID(tt.in)
			if tt.want == "" {
				if !errors.Is(err, loupe.ErrInvalid) {
					t.Fatalf("ParseTraceID(%q) = %v, %v; want an error wrapping ErrInvalid", tt.in, id, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTraceID(%q) error: %v", tt.in, err)
			}
			if got := id.String(); got != tt.want {
				t.Errorf("ParseTraceID(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if id.IsZero() {
				t.Errorf("ParseTraceID(%q).IsZero() = true", tt.in)
			}
		})
	}
}

func TestParseSpanID(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		wantErr  bool
	}{
		{"lowercase", "00f067aa0ba902b7", "00f067aa0ba902b7", false},
		{"uppercase", "00F067AA0BA902B7", "00f067aa0ba902b7", false},
		// The zero span id parses: it means "no span" (a root's parent).
		{"all zeros", "0000000000000000", "", false},
		{"empty", "", "", true},
		{"too short", "00f067aa0ba902b", "", true},
		{"too long", "00f067aa0ba902b70", "", true},
		{"not hex", "00f067aa0ba902bz", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := loupe.ParseSpanID(tt.in)
			if tt.wantErr {
				if !errors.Is(err, loupe.ErrInvalid) {
					t.Fatalf("ParseSpanID(%q) = %v, %v; want an error wrapping ErrInvalid", tt.in, id, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpanID(%q) error: %v", tt.in, err)
			}
			if got := id.String(); got != tt.want {
				t.Errorf("ParseSpanID(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if got, want := id.IsZero(), tt.want == ""; got != want {
				t.Errorf("ParseSpanID(%q).IsZero() = %v, want %v", tt.in, got, want)
			}
		})
	}
}

// TestParseIDErrorReturnsZero: on error the parsers should return the zero
// id, not the bytes hex.Decode wrote before it hit a bad character (and
// UnmarshalText should not store them).
func TestParseIDErrorReturnsZero(t *testing.T) {
	if id, err := loupe.ParseTraceID("0af7651916cd43dd8448eb211c80319g"); err == nil || !id.IsZero() {
		t.Errorf("ParseTraceID(bad hex) = %v, %v; want the zero id and an error", id, err)
	}
	if id, err := loupe.ParseSpanID("00f067aa0ba902bz"); err == nil || !id.IsZero() {
		t.Errorf("ParseSpanID(bad hex) = %v, %v; want the zero id and an error", id, err)
	}
	var id loupe.SpanID
	if err := id.UnmarshalText([]byte("00f067aa0ba902bz")); err == nil || !id.IsZero() {
		t.Errorf("SpanID.UnmarshalText(bad hex) left %v, %v; want the zero id and an error", id, err)
	}
}

func TestParseIDErrorClipsInput(t *testing.T) {
	long := strings.Repeat("z", 10_000)
	for name, parse := range map[string]func(string) error{
		"trace": func(s string) error { _, err := loupe.ParseTraceID(s); return err },
		"span":  func(s string) error { _, err := loupe.ParseSpanID(s); return err },
	} {
		err := parse(long)
		if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "...") {
			t.Errorf("%s id error for a 10 kB input = %q, want a clipped message under 200 bytes", name, err)
		}
	}
}

type ids struct {
	Trace  loupe.TraceID `json:"trace"`
	Span   loupe.SpanID  `json:"span"`
	Parent loupe.SpanID  `json:"parent"`
}

func TestIDJSONRoundTrip(t *testing.T) {
	in := ids{
		Trace: mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"),
		Span:  mustSpanID(t, "00f067aa0ba902b7"),
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal error: %v", err)
	}
	const want = `{"trace":"0af7651916cd43dd8448eb211c80319c","span":"00f067aa0ba902b7","parent":""}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out ids
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal(%s) error: %v", b, err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestIDUnmarshalErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty trace id", `{"trace":""}`},
		{"zero trace id", `{"trace":"00000000000000000000000000000000"}`},
		{"short trace id", `{"trace":"0af7"}`},
		{"bad span id", `{"trace":"0af7651916cd43dd8448eb211c80319c","span":"xyz"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out ids
			err := json.Unmarshal([]byte(tt.in), &out)
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("Unmarshal(%s) error = %v, want one wrapping ErrInvalid", tt.in, err)
			}
		})
	}
}

func FuzzParseTraceID(f *testing.F) {
	f.Add("0af7651916cd43dd8448eb211c80319c")
	f.Add("0AF7651916CD43DD8448EB211C80319C")
	f.Add("00000000000000000000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := loupe.ParseTraceID(s)
		if err != nil {
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Fatalf("ParseTraceID(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if id.IsZero() {
			t.Fatalf("ParseTraceID(%q) accepted the zero id", s)
		}
		if got := id.String(); got != strings.ToLower(s) {
			t.Fatalf("ParseTraceID(%q).String() = %q", s, got)
		}
		again, err := loupe.ParseTraceID(id.String())
		if err != nil || again != id {
			t.Fatalf("reparse of %q = %v, %v", id, again, err)
		}
	})
}

func FuzzParseSpanID(f *testing.F) {
	f.Add("00f067aa0ba902b7")
	f.Add("0000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := loupe.ParseSpanID(s)
		if err != nil {
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Fatalf("ParseSpanID(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		b, err := id.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var again loupe.SpanID
		if err := again.UnmarshalText(b); err != nil || again != id {
			t.Fatalf("text round trip of %q = %v, %v", s, again, err)
		}
	})
}

func mustTraceID(tb testing.TB, s string) loupe.TraceID {
	tb.Helper()
	id, err := loupe.ParseTraceID(s)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func mustSpanID(tb testing.TB, s string) loupe.SpanID {
	tb.Helper()
	id, err := loupe.ParseSpanID(s)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
