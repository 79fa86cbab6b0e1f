package query_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Field shorthands for expected trees.
var (
	fStatus   = query.Field{Name: "status", Scope: query.SpanScope, Type: query.Enum, Column: "status"}
	fKind     = query.Field{Name: "kind", Scope: query.SpanScope, Type: query.Enum, Column: "kind"}
	fDuration = query.Field{Name: "duration", Scope: query.SpanScope, Type: query.Duration, Column: "duration_ns"}
	fTenant   = query.Field{Name: "tenant", Scope: query.SpanScope, Type: query.String, Column: "tenant"}
	fCost     = query.Field{Name: "cost", Scope: query.SpanScope, Type: query.Money, Column: "cost_usd"}
	fModel    = query.Field{Name: "model", Scope: query.SpanScope, Type: query.String, Column: "model"}
	fTool     = query.Field{Name: "tool.name", Scope: query.SpanScope, Type: query.String, Column: "tool_name"}
	fInput    = query.Field{Name: "input", Scope: query.TextScope, Type: query.Text}
)

func attr(key string) query.Field {
	return query.Field{Name: key, Scope: query.AttrScope, Type: query.Any}
}

func str(s string, p int) query.Value { return query.Value{Kind: query.StringValue, Str: s, P: p} }
func num(n float64, p int) query.Value {
	return query.Value{Kind: query.NumberValue, Num: n, P: p}
}

func TestParseTree(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want query.Expr
	}{
		{
			name: "Enum",
			in:   "status = error",
			want: &query.Cmp{Field: fStatus, Op: query.OpEq, Value: str("error", 9), P: 0},
		},
		{
			name: "EnumCaseInsensitive",
			in:   "status = ERROR",
			want: &query.Cmp{Field: fStatus, Op: query.OpEq, Value: str("error", 9), P: 0},
		},
		{
			name: "Duration",
			in:   "duration>1.5m",
			want: &query.Cmp{Field: fDuration, Op: query.OpGt, Value: query.Value{Kind: query.DurationValue, Dur: 90 * time.Second, P: 9}},
		},
		{
			name: "MoneyDollar",
			in:   "cost >= $0.01",
			want: &query.Cmp{Field: fCost, Op: query.OpGe, Value: num(0.01, 8)},
		},
		{
			name: "InList",
			in:   `tenant in ("t1", 't2', t3)`,
			want: &query.Cmp{Field: fTenant, Op: query.OpIn, Value: query.Value{Kind: query.ListValue, P: 10,
				List: []query.Value{str("t1", 11), str("t2", 17), str("t3", 23)}}},
		},
		{
			name: "NotIn",
			in:   `kind NOT IN (llm)`,
			want: &query.Cmp{Field: fKind, Op: query.OpNotIn, Value: query.Value{Kind: query.ListValue, P: 12,
				List: []query.Value{str("llm", 13)}}},
		},
		{
			name: "Glob",
			in:   `model ~ gpt-4.1*`,
			want: &query.Cmp{Field: fModel, Op: query.OpMatch, Value: str("gpt-4.1*", 8)},
		},
		{
			name: "NotContains",
			in:   `input not contains "refund"`,
			want: &query.Not{P: 0, X: &query.Cmp{Field: fInput, Op: query.OpContains, Value: str("refund", 19)}},
		},
		{
			name: "AliasResolves",
			in:   `tool_name = create_refund`,
			want: &query.Cmp{Field: fTool, Op: query.OpEq, Value: str("create_refund", 12)},
		},
		{
			name: "DottedAttribute",
			in:   `http.route = "/refund"`,
			want: &query.Cmp{Field: attr("http.route"), Op: query.OpEq, Value: str("/refund", 13)},
		},
		{
			name: "AttrPrefix",
			in:   `attr.status = 200`,
			want: &query.Cmp{Field: attr("status"), Op: query.OpEq, Value: num(200, 14)},
		},
		{
			name: "QuotedKey",
			in:   `"my key" = true`,
			want: &query.Cmp{Field: attr("my key"), Op: query.OpEq, Value: query.Value{Kind: query.BoolValue, Bool: true, P: 11}},
		},
		{
			name: "AttrQuotedNumberIsString",
			in:   `attr.zip = "0431"`,
			want: &query.Cmp{Field: attr("zip"), Op: query.OpEq, Value: str("0431", 11)},
		},
		{
			name: "AttrGlobOnNumberWord",
			in:   `attr.code ~ 4`,
			want: &query.Cmp{Field: attr("code"), Op: query.OpMatch, Value: str("4", 12)},
		},
		{
			name: "TraceID",
			in:   `trace.id = 4F1C9A27E0B34F1C9A27E0B34F1C9A27`,
			want: &query.Cmp{Field: query.Field{Name: "trace.id", Scope: query.TraceScope, Type: query.ID, Column: "trace_id"},
				Op: query.OpEq, Value: str("4f1c9a27e0b34f1c9a27e0b34f1c9a27", 11)},
		},
		{
			name: "Time",
			in:   `start >= 2026-06-03T17:00:00+02:00`,
			want: &query.Cmp{Field: query.Field{Name: "start", Scope: query.SpanScope, Type: query.Time, Column: "start_time"},
				Op: query.OpGe, Value: query.Value{Kind: query.TimeValue, Time: time.Date(2026, 6, 3, 15, 0, 0, 0, time.UTC), P: 9}},
		},
		{
			name: "Precedence",
			in:   `not a.x = 1 and b.x = 2 or c.x = 3`,
			want: &query.Or{
				L: &query.And{
					L: &query.Not{P: 0, X: &query.Cmp{Field: attr("a.x"), Op: query.OpEq, Value: num(1, 10), P: 4}},
					R: &query.Cmp{Field: attr("b.x"), Op: query.OpEq, Value: num(2, 22), P: 16},
				},
				R: &query.Cmp{Field: attr("c.x"), Op: query.OpEq, Value: num(3, 33), P: 27},
			},
		},
		{
			name: "ParenthesesOverridePrecedence",
			in:   `a.x = 1 and (b.x = 2 or c.x = 3)`,
			want: &query.And{
				L: &query.Cmp{Field: attr("a.x"), Op: query.OpEq, Value: num(1, 6), P: 0},
				R: &query.Or{
					L: &query.Cmp{Field: attr("b.x"), Op: query.OpEq, Value: num(2, 19), P: 13},
					R: &query.Cmp{Field: attr("c.x"), Op: query.OpEq, Value: num(3, 30), P: 24},
				},
			},
		},
		{
			name: "LeftAssociative",
			in:   `a.x = 1 or b.x = 2 or c.x = 3`,
			want: &query.Or{
				L: &query.Or{
					L: &query.Cmp{Field: attr("a.x"), Op: query.OpEq, Value: num(1, 6), P: 0},
					R: &query.Cmp{Field: attr("b.x"), Op: query.OpEq, Value: num(2, 17), P: 11},
				},
				R: &query.Cmp{Field: attr("c.x"), Op: query.OpEq, Value: num(3, 28), P: 22},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := query.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`prompt.version_id = "prv_2026_06_03_17" and status = error and duration > 2s`,
			`prompt.version_id = "prv_2026_06_03_17" and status = error and duration > 2s`},
		{`kind = tool and tool.name = "create_refund" and error.type = "INVALID_ARGUMENT"`,
			`kind = tool and tool.name = "create_refund" and error.type = "INVALID_ARGUMENT"`},
		{`tenant in ("t1","t2") and model ~ "gpt-4.1*" and cost > 0.01`,
			`tenant in ("t1", "t2") and model ~ "gpt-4.1*" and cost > 0.01`},
		{`input contains "refund"`, `input contains "refund"`},
		{`trace.status = degraded`, `trace.status = degraded`},
		{`trace.duration > 5s`, `trace.duration > 5s`},
		{`trace.cost > 0.10`, `trace.cost > 0.1`},
		{`trace.cost > $1`, `trace.cost > 1`},
		{`duration < 150ms or duration >= 300us or duration != 2h`, `duration < 150ms or duration >= 300µs or duration != 2h0m0s`},
		{`env = prod`, `environment = "prod"`},
		{`session = s1 and user = u1 and tokens > 1000`, `session.id = "s1" and user.id = "u1" and total_tokens > 1000`},
		{`prompt.version = v1 and release = production`, `prompt.version_id = "v1" and prompt.release_label = "production"`},
		{`error_type = X and deployment_id = d`, `error.type = "X" and deployment.id = "d"`},
		{`retrieval.count = 0 and retrieval.index = idx`, `retrieval.count = 0 and retrieval.index = "idx"`},
		{`input_tokens == 12 and output_tokens <= 1e3`, `input_tokens = 12 and output_tokens <= 1000`},
		{`cache_read_tokens in (1, 2.5, -3)`, `cache_read_tokens in (1, 2.5, -3)`},
		{`cost < 1e-7`, `cost < 1e-07`},
		{`attr.x = 0431`, `attr.x = 431`},
		{`attr.x = abc and attr.y = false`, `attr.x = "abc" and attr.y = false`},
		{`attr.http.route = "/r"`, `http.route = "/r"`},
		{`attr.trace.foo = 1`, `attr.trace.foo = 1`},
		{`attr.attr.x = 1`, `attr.attr.x = 1`},
		{`"status" = 1`, `attr.status = 1`},
		{`"a b" != 'it s'`, `"a b" != "it s"`},
		{`'it\'s "x"' = "\\\n\t\u00e9"`, `"it's \"x\"" = "\\\n\té"`},
		{`output contains 'é世界'`, `output contains "é世界"`},
		{`not not status = ok`, `not not status = ok`},
		{`not (status = ok and kind = llm)`, `not (status = ok and kind = llm)`},
		{`((status = ok))`, `status = ok`},
		{`(a.x = 1 or a.y = 2) and a.z = 3`, `(a.x = 1 or a.y = 2) and a.z = 3`},
		{`a.x = 1 or (a.y = 2 or a.z = 3)`, `a.x = 1 or (a.y = 2 or a.z = 3)`},
		{`a.x = 1 and (a.y = 2 and a.z = 3)`, `a.x = 1 and (a.y = 2 and a.z = 3)`},
		{`a.x = 1 or a.y = 2 and a.z = 3`, `a.x = 1 or a.y = 2 and a.z = 3`},
		{`payload contains x AND model !~ "*mini" Or name = n`, `payload contains "x" and model !~ "*mini" or name = "n"`},
		{`trace.spans > 3 and trace.tokens > 10 and trace.errors = 0 and trace.name = t`,
			`trace.spans > 3 and trace.tokens > 10 and trace.errors = 0 and trace.name = "t"`},
		{`finish_reason = stop and provider = openai and request_model = a and response_model = b`,
			`finish_reason = "stop" and provider = "openai" and request_model = "a" and response_model = "b"`},
		{`start < "2026-06-03T17:00:00.5Z"`, `start < "2026-06-03T17:00:00.5Z"`},
		{"  \t\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := query.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if tt.want == "" {
				if e != nil {
					t.Fatalf("Parse(%q) = %v, want nil", tt.in, e)
				}
				return
			}
			if got := e.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %s, want %s", tt.in, got, tt.want)
			}
			checkRoundTrip(t, e)
		})
	}
}

// ignorePos compares trees without positions, which change when a filter
// is reprinted.
var ignorePos = cmp.Options{
	cmpopts.IgnoreFields(query.Cmp{}, "P"),
	cmpopts.IgnoreFields(query.Not{}, "P"),
	cmpopts.IgnoreFields(query.Value{}, "P"),
}

func checkRoundTrip(t *testing.T, e query.Expr) {
	t.Helper()
	s := e.String()
	again, err := query.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q) (reprinted) error: %v", s, err)
	}
	if diff := cmp.Diff(e, again, ignorePos); diff != "" {
		t.Errorf("Parse(%q) differs from the original (-orig +reparsed):\n%s", s, diff)
	}
	if got := again.String(); got != s {
		t.Errorf("reprint = %s, want %s", got, s)
	}
}

func TestParseErrors(t *testing.T) {
	fields := "name, kind, status, status_message, error.type, service, environment, deployment.id, tenant, route, " +
		"session.id, user.id, prompt.name, prompt.version_id, prompt.release_label, provider, model, request_model, " +
		"response_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, " +
		"total_tokens, cost, finish_reason, tool.name, retrieval.index, retrieval.count, duration, start, trace.id, " +
		"trace.name, trace.status, trace.duration, trace.cost, trace.tokens, trace.spans, trace.errors, input, output, payload"
	tests := []struct {
		name string
		in   string
		pos  int
		msg  string
	}{
		{"MissingValue", `status =`, 8, `expected a value after "=", found end of input`},
		{"MissingValueBeforeAnd", `status = and kind = llm`, 9, `expected a value after "=", found "and"`},
		{"MissingOperator", `status`, 6, `expected an operator after "status", found end of input`},
		{"WordForOperator", `status error`, 7, `expected an operator after "status", found "error"`},
		{"MissingField", `= error`, 0, `expected a field name, found "="`},
		{"KeywordField", `and = 1`, 0, `expected a field name, found "and"`},
		{"EmptyAfterAnd", `status = ok and`, 15, `expected a field name, found end of input`},
		{"EmptyParens", `()`, 1, `expected a field name, found ")"`},
		{"Trailing", `status = error foo`, 15, `expected and, or, or end of input, found "foo"`},
		{"UnmatchedClose", `status = ok)`, 11, `unexpected ")" without a matching "("`},
		{"UnclosedParen", `(status = ok`, 12, `expected ")" to close "(" at position 0, found end of input`},
		{"LoneBang", `status ! ok`, 7, `unexpected "!"; use != or !~, or not`},
		{"NotWithoutIn", `tenant not = x`, 11, `expected in or contains after "not", found "="`},
		{"UnknownField", `stauts = error`, 0, `unknown field "stauts" (did you mean "status"?); for an attribute key write attr.stauts`},
		{"UnknownFieldList", `foo = 1`, 0, `unknown field "foo"; for an attribute key write attr.foo; fields: ` + fields},
		{"UnknownTraceField", `trace.foo = 1`, 0, `unknown field "trace.foo"; for an attribute key write attr.trace.foo; fields: ` + fields},
		{"TypoInNamespace", `tool.nme = x`, 0, `unknown field "tool.nme" (did you mean "tool.name"?); for an attribute key write attr.tool.nme`},
		{"EmptyAttr", `attr. = 1`, 0, `expected an attribute key after "attr."`},
		{"BadAttrKey", `attr.* = 1`, 0, `invalid attribute key "*"; quote keys with other characters`},
		{"BadFieldName", `1x = 1`, 0, `invalid field name "1x"`},
		{"EmptyQuotedKey", `"" = 1`, 0, `empty attribute key`},
		{"EnumValue", `status = maybe`, 9, `invalid value "maybe" for status; valid: ok, error, unset`},
		{"KindValue", `kind = robot`, 7, `invalid value "robot" for kind; valid: request, agent, chain, prompt, retrieval, embedding, llm, tool, parser, eval, guardrail, span`},
		{"TraceStatusValue", `trace.status = unset`, 15, `invalid value "unset" for trace.status; valid: ok, degraded, error`},
		{"DurationString", `duration > "abc"`, 11, `expected a duration for duration (e.g. 2s), found string "abc"`},
		{"DurationWord", `duration > abc`, 11, `invalid duration "abc" for duration; use a number with a unit: ns, us, ms, s, m or h (e.g. 150ms, 1.5m)`},
		{"DurationNoUnit", `duration > 2`, 11, `duration "2" needs a unit: ns, us, ms, s, m or h (e.g. 2s)`},
		{"DurationNegative", `trace.duration > -2s`, 17, `negative duration "-2s"`},
		{"DurationOverflow", `duration > 9999999999h`, 11, `invalid duration "9999999999h" for duration; use a number with a unit: ns, us, ms, s, m or h (e.g. 150ms, 1.5m)`},
		{"NumberString", `input_tokens > "5"`, 15, `expected a number for input_tokens, found string "5"`},
		{"NumberWord", `input_tokens > five`, 15, `invalid number "five" for input_tokens`},
		{"NumberHex", `input_tokens > 0x10`, 15, `invalid number "0x10" for input_tokens`},
		{"NumberInf", `input_tokens > inf`, 15, `invalid number "inf" for input_tokens`},
		{"NumberRange", `input_tokens > 1e999`, 15, `number "1e999" is out of range for input_tokens`},
		{"MoneyWord", `cost > cheap`, 7, `invalid amount "cheap" for cost; use US dollars, e.g. 0.01 or $0.01`},
		{"MoneyString", `cost > "1"`, 7, `expected an amount in US dollars for cost (e.g. 0.01), found string "1"`},
		{"TimeBad", `start > yesterday`, 8, `invalid time "yesterday" for start; use RFC 3339, e.g. 2026-06-03T17:00:00Z`},
		{"TraceIDBad", `trace.id = abc`, 11, `invalid trace id "abc"; want 32 hex characters, not all zeros`},
		{"ContainsOnMoney", `cost contains "x"`, 5, `operator contains is not valid for cost (money); use =, !=, <, >, <=, >=`},
		{"EqOnText", `input = "x"`, 6, `operator = is not valid for input (text); use contains only`},
		{"GlobOnEnum", `status ~ "e*"`, 7, `operator ~ is not valid for status (enum); use =, !=, in, not in`},
		{"InOnDuration", `duration in (1s)`, 9, `operator in is not valid for duration (duration); use =, !=, <, >, <=, >=`},
		{"LessOnString", `tenant < x`, 7, `operator < is not valid for tenant (string); use =, !=, ~, !~, in, not in, contains`},
		{"EmptyContains", `input contains ""`, 15, `contains needs a non-empty value`},
		{"AttrOrderNeedsNumber", `attr.x > abc`, 9, `operator > needs a number, found "abc"`},
		{"AttrOrderString", `attr.x > "1"`, 9, `operator > needs a number, found string "1"`},
		{"AttrNumberRange", `attr.x = 1e400`, 9, `number "1e400" is out of range`},
		{"InWithoutList", `tenant in "t1"`, 10, `expected "(" after in, found string "t1"`},
		{"InEmptyList", `tenant in ()`, 11, `expected a value after "(", found ")"`},
		{"InTrailingComma", `tenant in (a,)`, 13, `expected a value after "(", found ")"`},
		{"InUnclosed", `tenant in (a b)`, 13, `expected "," or ")" in the list, found "b"`},
		{"InBadElement", `status in (ok, maybe)`, 15, `invalid value "maybe" for status; valid: ok, error, unset`},
		{"ListForEq", `tenant = (a)`, 9, `expected a value after "=", found "("`},
		{"UnterminatedString", `tenant = "abc`, 9, `unterminated string`},
		{"UnterminatedEscape", `tenant = "abc\`, 9, `unterminated string`},
		{"UnknownEscape", `tenant = "a\qb"`, 11, `unknown escape \q in string; use \" \' \\ \n \r \t or \uXXXX`},
		{"ShortUnicodeEscape", `tenant = "\u12"`, 10, `invalid escape: \u needs 4 hex digits`},
		{"NulEscape", `tenant = "\u0000"`, 10, `invalid escape \u0000 (NUL and surrogates are not allowed)`},
		{"SurrogateEscape", `tenant = "\ud800"`, 10, `invalid escape \ud800 (NUL and surrogates are not allowed)`},
		{"RawNulInString", "tenant = \"a\x00\"", 11, `control character U+0000 in string; use an escape such as \n`},
		{"RawNul", "tenant = a\x00", 10, `unexpected character U+0000`},
		{"InvalidUTF8", "tenant = \xff", 9, `invalid UTF-8`},
		{"InvalidUTF8InString", "tenant = \"\xff\"", 10, `invalid UTF-8`},
		{"Semicolon", `status = error; drop table spans`, 14, `unexpected character ";"`},
		{"SQLComment", `status = error -- x`, 15, `expected and, or, or end of input, found "--"`},
		{"BlockComment", `status = error /* x */`, 15, `expected and, or, or end of input, found "/*"`},
		{"Backtick", "tenant = `x`", 9, "unexpected character \"`\""},
		{"UnicodeSpace", "tenant\u00a0= x", 6, `unexpected character U+00A0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := query.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.in, e)
			}
			if e != nil {
				t.Errorf("Parse(%q) returned %v with the error", tt.in, e)
			}
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) error %T, want *query.Error", tt.in, err)
			}
			if qe.Pos != tt.pos || qe.Msg != tt.msg {
				t.Errorf("Parse(%q) error at %d %q,\nwant at %d %q", tt.in, qe.Pos, qe.Msg, tt.pos, tt.msg)
			}
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("errors.Is(%v, loupe.ErrInvalid) = false", err)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	_, err := query.Parse(`status = error and duration >`)
	want := `filter: position 29: expected a value after ">", found end of input`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %s", err, want)
	}
}

func TestLimits(t *testing.T) {
	repeat := func(s string, n int, sep string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = s
		}
		return strings.Join(parts, sep)
	}
	tests := []struct {
		name string
		in   string
		pos  int    // -1: must parse
		msg  string // error message
	}{
		{"LengthAtLimit", `tenant = "` + strings.Repeat("x", query.MaxLength-11) + `"`, -1, ""},
		{"LengthOverLimit", `tenant = "` + strings.Repeat("x", query.MaxLength-10) + `"`, query.MaxLength, "filter is 4097 bytes, longer than the limit of 4096"},
		{"ParensAtLimit", strings.Repeat("(", query.MaxDepth) + "status = ok" + strings.Repeat(")", query.MaxDepth), -1, ""},
		{"ParensOverLimit", strings.Repeat("(", query.MaxDepth+1) + "status = ok" + strings.Repeat(")", query.MaxDepth+1), query.MaxDepth, "nesting deeper than 32 levels"},
		{"NotAtLimit", strings.Repeat("not ", query.MaxDepth) + "status = ok", -1, ""},
		{"NotOverLimit", strings.Repeat("not ", query.MaxDepth+1) + "status = ok", 4 * query.MaxDepth, "nesting deeper than 32 levels"},
		{"DeepParensNoOverflow", strings.Repeat("(", 4000), 32, "nesting deeper than 32 levels"},
		{"LongChainIsNotDeep", repeat("a.b = 1", 300, " and "), -1, ""},
		{"ListAtLimit", "input_tokens in (" + repeat("1", query.MaxList, ",") + ")", -1, ""},
		{"ListOverLimit", "input_tokens in (" + repeat("1", query.MaxList+1, ",") + ")", 17 + 2*query.MaxList, "list longer than 1000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := query.Parse(tt.in)
			if tt.pos < 0 {
				if err != nil {
					t.Fatalf("Parse error: %v", err)
				}
				checkRoundTrip(t, e)
				return
			}
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse error = %v, want *query.Error", err)
			}
			if qe.Pos != tt.pos || qe.Msg != tt.msg {
				t.Errorf("Parse error at %d %q, want at %d %q", qe.Pos, qe.Msg, tt.pos, tt.msg)
			}
		})
	}
}

// TestInjection feeds SQL and string-escaping tricks: each must either be
// an error or a single comparison whose value is exactly the text between
// the quotes, never anything that reaches a field name or operator.
func TestInjection(t *testing.T) {
	tests := []struct {
		in   string
		want string // the value; "" means an error is expected
	}{
		{`tenant = "x' OR '1'='1"`, `x' OR '1'='1`},
		{`tenant = 'x" OR "1"="1'`, `x" OR "1"="1`},
		{`tenant = "x\" or tenant = \"y"`, `x" or tenant = "y`},
		{`tenant = "'; DROP TABLE spans; --"`, `'; DROP TABLE spans; --`},
		{`tenant = "a\\"`, `a\`},
		{`tenant = "/* comment */"`, `/* comment */`},
		{`tenant = "%_*?"`, `%_*?`},
		{`tenant = "\u202etxt.exe"`, "\u202etxt.exe"},
		{"tenant = \"é\u0301\"", "é\u0301"},
		{`tenant = "\u00e9"`, "é"},
		{`tenant = x' OR '1'='1`, ""},
		{`tenant = x; DROP TABLE spans`, ""},
		{`tenant = x -- comment`, ""},
		{`tenant = "x" --`, ""},
		{`tenant = "x"; --`, ""},
		{`tenant = "x\"`, ""},
		{"tenant = \"x\x00y\"", ""},
		{`tenant = "x\u0000y"`, ""},
		{"tenant = x\x00", ""},
		{`tenant = x\`, ""},
		{`tenant = 'x`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := query.Parse(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tt.in, e)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			c, ok := e.(*query.Cmp)
			if !ok {
				t.Fatalf("Parse(%q) = %T, want a single *query.Cmp", tt.in, e)
			}
			if c.Field.Name != "tenant" || c.Op != query.OpEq || c.Value.Kind != query.StringValue || c.Value.Str != tt.want {
				t.Errorf("Parse(%q) = %s %s %q, want tenant = %q", tt.in, c.Field.Name, c.Op, c.Value.Str, tt.want)
			}
			checkRoundTrip(t, e)
		})
	}
	t.Run("QuotedKeyWithQuotes", func(t *testing.T) {
		e, err := query.Parse(`"x\" = 1 or \"y" = 1`)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := e.(*query.Cmp)
		if !ok || c.Field.Name != `x" = 1 or "y` || c.Field.Scope != query.AttrScope {
			t.Errorf("Parse = %v, want one attribute comparison", e)
		}
		checkRoundTrip(t, e)
	})
}

func TestFields(t *testing.T) {
	fs := query.Fields()
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Name] {
			t.Errorf("duplicate field %s", f.Name)
		}
		seen[f.Name] = true
		got, err := query.ParseField(f.Name)
		if err != nil || got != f || f.Name == "" || f.Scope == 0 || f.Type == 0 {
			t.Errorf("ParseField(%q) = %+v, %v; want %+v", f.Name, got, err, f)
		}
		if (f.Column == "") != (f.Scope == query.TextScope) {
			t.Errorf("field %s has column %q; only text fields have none", f.Name, f.Column)
		}
		if (f.Type == query.Enum) != (len(f.Values()) > 0) {
			t.Errorf("field %s (%s) has values %v", f.Name, f.Type, f.Values())
		}
	}
	if len(fs) != 43 {
		t.Errorf("len(Fields()) = %d, want 43", len(fs))
	}
	// Every column of the span JSON that names a first-class filterable
	// field is reachable (DESIGN.md §5).
	for _, col := range []string{"name", "kind", "status", "status_message", "error_type", "service", "environment",
		"deployment_id", "tenant", "route", "session_id", "user_id", "prompt_name", "prompt_version_id",
		"release_label", "provider", "request_model", "response_model", "input_tokens", "cache_read_tokens",
		"cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "finish_reason",
		"tool_name", "retrieval_index", "retrieval_count", "duration_ns", "start_time"} {
		found := false
		for _, f := range fs {
			found = found || (f.Scope == query.SpanScope && f.Column == col)
		}
		if !found {
			t.Errorf("no span field has column %s", col)
		}
	}
}

func TestParseField(t *testing.T) {
	tests := []struct {
		in   string
		want query.Field
		err  string
	}{
		{in: "env", want: query.Field{Name: "environment", Scope: query.SpanScope, Type: query.String, Column: "environment"}},
		{in: "tokens", want: query.Field{Name: "total_tokens", Scope: query.SpanScope, Type: query.Number, Column: "total_tokens"}},
		{in: "attr.locale", want: attr("locale")},
		{in: "gen_ai.system", want: attr("gen_ai.system")},
		{in: "locale", err: `filter: position 0: unknown field "locale"`},
		{in: "", err: `filter: position 0: invalid field name ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := query.ParseField(tt.in)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("ParseField(%q) error = %v, want prefix %s", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseField(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseField(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct{ in, glob, contains string }{
		{"gpt-4.1*", `gpt-4.1%`, `%gpt-4.1*%`},
		{"a?c", `a_c`, `%a?c%`},
		{`100%_\`, `100\%\_\\`, `%100\%\_\\%`},
	}
	for _, tt := range tests {
		if got := query.GlobLike(tt.in); got != tt.glob {
			t.Errorf("GlobLike(%q) = %q, want %q", tt.in, got, tt.glob)
		}
		if got := query.ContainsLike(tt.in); got != tt.contains {
			t.Errorf("ContainsLike(%q) = %q, want %q", tt.in, got, tt.contains)
		}
	}
}

func TestWalk(t *testing.T) {
	e, err := query.Parse(`(status = error or not kind = llm) and trace.cost > 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	query.Walk(e, func(x query.Expr) bool {
		if c, ok := x.(*query.Cmp); ok {
			got = append(got, c.Field.Name)
		}
		return true
	})
	if diff := cmp.Diff([]string{"status", "kind", "trace.cost"}, got); diff != "" {
		t.Errorf("Walk visited (-want +got):\n%s", diff)
	}
}
