package otlp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	benchwl "github.com/loupehq/loupe/bench/workload"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

func strValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

// checkDirect compares the direct message path with the generic one for s
// as a message list (role user or assistant) and as system instructions.
// It returns whether the direct path handled each.
func checkDirect(t *testing.T, s string) (msgs, sys bool) {
	t.Helper()
	var mp msgParser
	for _, role := range []string{"user", "assistant"} {
		got, ok := mp.messages(s, role)
		if !ok {
			continue
		}
		msgs = true
		want := messagesOf(structured(strValue(s)), role)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("messages(%q, %q) mismatch (-generic +direct):\n%s", s, role, diff)
		}
	}
	if got, ok := mp.system(s); ok {
		sys = true
		want := systemMessages(structured(strValue(s)))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("system(%q) mismatch (-generic +direct):\n%s", s, diff)
		}
	}
	return msgs, sys
}

func TestMessagesDirect(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		msgs, sys bool // the direct path must take it
	}{
		{"empty list", `[]`, true, true},
		{"otel parts", `[{"role":"user","parts":[{"type":"text","content":"hi\nthere"}]},{"role":"assistant","parts":[{"type":"text","content":"a"},{"type":"text","content":"b"}],"finish_reason":"stop"}]`, true, false},
		{"tool call", `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":{"z":1,"a":[true,null,2.5,"<&>"],"m":{"y":"\u00e9","x":"\ud83d\ude00"}}}],"finish_reason":"tool_call"}]`, true, false},
		{"tool response", `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"ok":true,"n":12345678901234567890}}]}]`, true, false},
		{"tool response string", `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"done"}]}]`, true, false},
		{"tool response null", `[{"role":"tool","parts":[{"type":"tool_call_response","response":null}]}]`, true, false},
		{"openai", `[{"role":"system","content":"be nice"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","arguments":"{}"}]},{"role":"tool","tool_call_id":"c","content":"42"}]`, true, false},
		{"content list", `[{"role":"user","content":[{"type":"text","text":"a"},"b",3]}]`, true, false},
		{"content object", `[{"role":"user","content":{"type":"input_text","text":"a"}}]`, true, false},
		{"content number", `[{"role":"user","content":1.5e3},{"role":"user","content":true}]`, true, false},
		{"parts then content", `[{"role":"user","parts":[{"type":"text","content":"p"}],"content":"c"}]`, true, false},
		{"content then parts", `[{"role":"user","content":"c","parts":[{"type":"text","content":"p"}]}]`, false, false},
		{"name and finish", `[{"role":"user","name":"bob","content":"x","finishReason":"STOP"},{"role":"assistant","name":12,"finish_reason":"length","tool_calls":[{"id":"c","name":"f","arguments":{"q":"<b>"}},3]}]`, true, false},
		{"numeric role", `[{"role":7,"content":"x"}]`, true, true},
		{"id on user", `[{"role":"user","id":"m1","content":"x"},{"role":"tool","id":"m2","content":"y"}]`, true, false},
		{"refusal", `[{"role":"assistant","refusal":"no","content":""}]`, true, false},
		{"strings and junk", `["plain", 1, null, [1], {"content":"x"}]`, true, true},
		{"escaped key", `[{"r\u006fle":"tool","content":"x"}]`, true, false},
		{"system parts", `[{"type":"text","content":"You are a support agent."}]`, true, true},
		{"system strings", `["a","b"]`, true, true},
		{"system messages", `[{"role":"system","content":"x"}]`, true, false},
		{"repeated key", `[{"role":"user","role":"tool","content":"x"}]`, false, false},
		{"unknown part", `[{"role":"user","parts":[{"type":"image","url":"u"}]}]`, false, false},
		{"part without text", `[{"role":"user","parts":[{"content":""}]}]`, false, false},
		{"vercel wrap", `[{"role":"tool","content":[{"type":"tool-result","toolCallId":"c","output":{"type":"json","value":{"a":1}}}]}]`, false, false},
		{"two members, not a wrap", `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c","response":{"updated":true,"value":0}}]}]`, true, false},
		{"wrap-like value", `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c","response":{"type":"json","value":1}}]}]`, false, false},
		{"object", `{"messages":[{"role":"user","content":"x"}]}`, false, false},
		{"invalid", `[{"role":"user","content":"x"]`, false, false},
		{"trailing", `[] x`, false, false},
		{"not json", `hello`, false, false},
		{"bad escape", `[{"role":"user","content":"\x"}]`, false, false},
		{"dup in arguments", `[{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":{"a":1,"a":2}}]}]`, true, false},
		{"inf in arguments", `[{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":[1e400]}]}]`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, sys := checkDirect(t, tt.in)
			if msgs != tt.msgs || sys != tt.sys {
				t.Errorf("direct path taken for %q: messages %v, system %v; want %v, %v", tt.in, msgs, sys, tt.msgs, tt.sys)
			}
		})
	}
}

// TestMessagesDirectWorkload checks that the standard workload's message
// attributes take the direct path and agree with the generic one.
func TestMessagesDirectWorkload(t *testing.T) {
	g := benchwl.New(7)
	req := g.Request(40, time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC))
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				for _, kv := range s.Attributes {
					k := kv.GetKey()
					if k != "gen_ai.input.messages" && k != "gen_ai.output.messages" && k != "gen_ai.system_instructions" {
						continue
					}
					n++
					msgs, sys := checkDirect(t, kv.GetValue().GetStringValue())
					if k == "gen_ai.system_instructions" && !sys || k != "gen_ai.system_instructions" && !msgs {
						t.Errorf("%s of span %s: direct path not taken", k, s.Name)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no message attributes in the workload")
	}
}

func TestRawText(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"b":1,"a":2}`, `[1,-0,0.5,1e21,1e-7,123456789012345678901,-1.5e-300,2.50]`,
		`{"s":"<a href=\"x\">&amp;</a>\u2028\u2029\t\n\r\b\f\u0001\u007f"}`,
		`["\ud800","\ud83d\ude00","\udc00x","é","\u00e9"]`, ` { "k" : [ 1 , { "z":null, "y":false } ] } `,
		`{"a":1,"a":2}`, `[1e400]`, `{"é":1,"e":2,"\u0000":3}`,
	} {
		t.Run(in, func(t *testing.T) {
			var mp msgParser
			v, ok := parseJSON(in)
			if !ok {
				t.Fatalf("parseJSON(%q) failed", in)
			}
			if got, want := mp.rawText(in), text(v); got != want {
				t.Errorf("rawText(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestSkipValue(t *testing.T) {
	for _, in := range []string{
		`{"a":[1,2.5,-3.25e1,true,false,null,"x\"y\\z\u00e9\ud83d\ude00\n"],"b":{}}`,
		`{"a":1,}`, `[1 2]`, `{"a"}`, `"unterminated`, `01`, `1.`, `-`, `{"a":"\x"}`, `"\u12"`, "\"a\x01\"",
		`["\ud800"]`, `[1e400]`, `{"a":1}x`, `[` + string(make([]byte, 0)) + `]`,
	} {
		t.Run(in, func(t *testing.T) {
			p := jsonParser{s: in}
			got := p.skipValue(0)
			if got {
				p.skip()
				got = p.i == len(in)
			}
			if _, want := parseJSON(in); got != want {
				t.Errorf("skipValue(%q) = %v, want %v", in, got, want)
			}
		})
	}
}

func FuzzMessagesDirect(f *testing.F) {
	f.Add(`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`)
	f.Add(`[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":{"b":[1,2.5],"a":"<x>"}}],"finish_reason":"tool_call"}]`)
	f.Add(`[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"ok":true}}]}]`)
	f.Add(`[{"role":"assistant","content":null,"tool_calls":[{"id":"c","arguments":"{}"}],"refusal":"no"}]`)
	f.Add(`[{"type":"text","content":"sys"},"x"]`)
	f.Add(`[{"role":"user","content":[{"type":"text","text":"a\u00e9\n"}]}]`)
	g := benchwl.New(3)
	for _, s := range g.Request(1, time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)).ResourceSpans[0].ScopeSpans[0].Spans {
		for _, kv := range s.Attributes {
			if k := kv.GetKey(); k == "gen_ai.input.messages" || k == "gen_ai.output.messages" {
				f.Add(kv.GetValue().GetStringValue())
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkDirect(t, s)
	})
}

func FuzzRawText(f *testing.F) {
	f.Add(`{"b":1,"a":[2.5,"<&>",null,true]}`)
	f.Add(`["\ud83d\ude00\u2028",1e-7,-0]`)
	f.Fuzz(func(t *testing.T, s string) {
		p := jsonParser{s: s}
		skipped := p.skipValue(0)
		if skipped {
			p.skip()
			skipped = p.i == len(s)
		}
		v, ok := parseJSON(s)
		if skipped != ok {
			t.Fatalf("skipValue(%q) = %v, parseJSON ok = %v", s, skipped, ok)
		}
		if !ok || (s[0] != '{' && s[0] != '[') {
			return
		}
		var mp msgParser
		if got, want := mp.rawText(s), text(v); got != want {
			t.Errorf("rawText(%q) = %q, want %q", s, got, want)
		}
		if want, err := json.Marshal(v); err == nil && string(want) != text(v) {
			t.Errorf("text(%q) = %q, want %q", s, text(v), want)
		}
	})
}
