// Package query parses loupe's filter language, the one grammar the JSON
// API (q=), the web UI and the CLI share (DESIGN.md §5):
//
//	prompt.version_id = "prv_2026_06_03_17" and status = error and duration > 2s
//	kind = tool and tool.name = "create_refund" and error.type = "INVALID_ARGUMENT"
//	tenant in ("t1", "t2") and model ~ "gpt-4.1*" and cost > 0.01
//	input contains "refund"
//	trace.status = degraded and trace.duration > 5s
//
// Parse turns a filter into a storage-neutral, type-checked syntax tree
// (Expr); backends compile it to SQL with placeholders. No part of a filter
// is ever meant to be spliced into SQL: field names resolve to a fixed
// table of columns (Field.Column), and attribute keys and values are data.
//
// # Grammar
//
//	filter = [ or ]
//	or     = and { "or" and }
//	and    = unary { "and" unary }
//	unary  = "not" unary | "(" or ")" | cmp
//	cmp    = field op value
//	       | field ( "in" | "not" "in" ) "(" value { "," value } ")"
//	       | field "not" "contains" value          (same as: not field contains value)
//	op     = "=" | "==" | "!=" | "<" | ">" | "<=" | ">=" | "~" | "!~" | "contains"
//
// Precedence, tightest first: not, and, or. Keywords (and, or, not, in,
// contains) are case-insensitive and cannot be bare values or field names;
// quote them.
//
// Fields are the known span fields (Fields, with aliases such as env,
// session, user, tokens, prompt.version, release, and the snake_case column
// names such as error_type), trace.* fields (trace-level), the text fields
// input, output and payload (full-text over payloads; only contains), and
// attribute keys:
//
//   - attr.KEY names the attribute KEY (attr.status is the attribute
//     "status", not the status field);
//   - an unknown dotted key such as http.route is an attribute key, except
//     under the namespaces of known fields (trace., error., deployment.,
//     session., user., prompt., tool., retrieval.), where an unknown name is
//     reported as a probable typo; use attr. to reach such attributes;
//   - a quoted field, "my key" = 1, is an attribute key taken verbatim;
//   - an unknown key without a dot is an error (a typo of a field, usually).
//
// Bare keys are a letter or _, then letters, digits and _ . - / : @.
//
// Values are quoted strings ("..." or '...', escapes \" \' \\ \n \r \t
// \uXXXX; NUL, even escaped, and raw control characters other than tab,
// newline and carriage return are rejected, as is invalid UTF-8), bare words
// (letters, digits and _ . - / : * ? $ + @), numbers (1, -2.5, 1e3),
// durations with a unit (300us, 150ms, 2s, 1.5m, 2h, 1h30m), amounts in US
// dollars (0.01 or $0.01), RFC 3339 times and true/false. What a literal
// means depends on the field's Type, checked at parse time: status = maybe,
// duration > "abc", cost contains "x" and input = "x" are errors that name
// the position and the valid choices. Enum values are case-insensitive.
//
// Operators: ~ and !~ are glob matches over the whole value (* any run,
// ? one character; see GlobLike); contains is a case-insensitive substring
// match (full-text over payloads for text fields). The field model matches
// request_model or response_model (see Field.Column). user.id is stored
// keyed-hashed (DESIGN.md §3), so whoever compiles a filter must hash
// user.id values the same way before comparing.
//
// # Semantics (implemented by the backends)
//
// A trace matches when some span satisfies the whole filter, evaluated on
// that one span: kind = tool and status = error finds traces with a failing
// tool span, not traces with a tool span and some other failing span.
// trace.* fields are properties of the span's trace, the same for all its
// spans, so trace.status = degraded and kind = tool finds degraded traces
// that have a tool span. Negations apply per span too: not status = error
// matches any trace with a span that did not fail; trace.status = ok finds
// traces without failures.
//
// # Limits
//
// A filter is at most MaxLength bytes, nests parentheses and not at most
// MaxDepth deep, and lists at most MaxList values; beyond that Parse
// returns an error. Errors are *Error (byte position and message) and wrap
// loupe.ErrInvalid.
package query
