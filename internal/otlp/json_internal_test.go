package otlp

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// toJSONv1 decodes with encoding/json and converts numbers the way
// parseJSON does (int64 for integer literals that fit, else float64).
func toJSONv1(t *testing.T, s string) (any, bool) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case float64:
			if x == float64(int64(x)) && x < 9e15 && x > -9e15 {
				return int64(x)
			}
			return x
		case []any:
			for i := range x {
				x[i] = conv(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = conv(x[k])
			}
		}
		return v
	}
	return conv(v), true
}

func TestParseJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":[1,2.5,-3.25e1,true,false,null,"x\"y\\z\u00e9\ud83d\ude00\n"],"b":{}}`,
		`[]`, `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
		` {"k" : "v" } `, `{"a":1,}`, `[1 2]`, `{"a"}`, `"unterminated`, `01`, `1.`, `-`, `{"a":"\x"}`,
		`["\ud800"]`, `[1e400]`, `{"a":1}x`,
	} {
		t.Run(in, func(t *testing.T) {
			got, gotOK := parseJSON(in)
			if in == `[1e400]` {
				// encoding/json rejects out-of-range numbers; we saturate.
				if !gotOK {
					t.Errorf("parseJSON(%q) failed", in)
				}
				return
			}
			want, wantOK := toJSONv1(t, in)
			if gotOK != wantOK {
				t.Fatalf("parseJSON(%q) ok = %v, want %v", in, gotOK, wantOK)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parseJSON(%q) mismatch (-want +got):\n%s", in, diff)
			}
		})
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add(`{"a":[1,2.5,true,null,"x\u00e9"]}`)
	f.Add(`[{"role":"user","content":"hi"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseJSON(s)
		if !ok {
			return
		}
		if !json.Valid([]byte(s)) {
			t.Fatalf("parseJSON accepted invalid JSON %q", s)
		}
		_ = got
	})
}

func TestStrRaw(t *testing.T) {
	long := "abcdefghijklmnopqrstuvwxyz0123456789"
	for _, in := range []string{
		`""`, `"a"`, `"` + long + `"`, `"` + long + `\n` + long + `"`, `"1234567\"` + long + `"`,
		`"12345678\\"`, `"\t1234567890\u00e9\u2028 \ud83d\ude00 end"`, `"é€😀 and then some more bytes"`,
		`"` + long + "\x01" + `"`, `"` + long + "\x7f" + `"`, `"\ud800\u0041"`, `"\ud800\ud800"`, `"\udc00"`,
		`"` + long + `\`, `"` + long + `\u12`, `"` + long, `"\q"`, `"\/\b\f\r"`,
	} {
		t.Run(in, func(t *testing.T) {
			p := jsonParser{s: in}
			got, gotOK := p.strRaw()
			if gotOK && p.i != len(in) {
				t.Errorf("strRaw(%q) stopped at %d, want %d", in, p.i, len(in))
			}
			var want string
			wantOK := json.Unmarshal([]byte(in), &want) == nil
			if gotOK != wantOK || got != want {
				t.Errorf("strRaw(%q) = %q, %v; want %q, %v", in, got, gotOK, want, wantOK)
			}
		})
	}
}

// FuzzStrRaw compares string decoding with encoding/json (on valid UTF-8:
// encoding/json replaces invalid bytes, parseJSON keeps them).
func FuzzStrRaw(f *testing.F) {
	f.Add(`"abcdefgh\"ijklmnop\\qrs\u00e9\ud83d\ude00"`)
	f.Add(`"0123456789abcdef\n"`)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || len(s) == 0 || s[0] != '"' {
			return
		}
		p := jsonParser{s: s}
		got, ok := p.strRaw()
		p.skip()
		ok = ok && p.i == len(s)
		var want string
		wantOK := json.Unmarshal([]byte(s), &want) == nil
		if ok != wantOK || (ok && got != want) {
			t.Errorf("strRaw(%q) = %q, %v; want %q, %v", s, got, ok, want, wantOK)
		}
		q := jsonParser{s: s}
		skipped := q.skipStr()
		q.skip()
		if skipped = skipped && q.i == len(s); skipped != ok {
			t.Errorf("skipStr(%q) = %v, strRaw ok %v", s, skipped, ok)
		}
	})
}
