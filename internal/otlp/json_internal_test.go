package otlp

import (
	"encoding/json"
	"testing"

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
