package duckdb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Filters compile to one SQL boolean expression evaluated per span row,
// with `?` placeholders only. Identifiers come from the fixed tables below,
// keyed by query.Field.Column; attribute keys (as JSON pointers), values and
// patterns are bound as parameters, so no part of a filter changes the
// query's shape.
//
// Semantics (query.TraceSearch): a trace matches when some span of it
// satisfies the whole filter evaluated on that span, where trace.* fields
// are the trace's values, the same for all its spans. The compiled
// expression references span columns through the alias s and trace
// aggregates through the alias t (a per-trace row joined to each span), so
// and/or/not mixing both scopes are exact: not (trace.status = ok or kind =
// tool) is evaluated per span with the trace's status substituted. A filter
// with only trace.* fields holds for every span of a trace alike, so it
// selects the traces whose aggregates satisfy it.
//
// Comparisons are two-valued: an absent attribute compares false under
// every operator, including != and !~, and not (attr = x) matches spans
// without the attribute.

// spanColumn maps query.Field.Column of a span field to SQL over alias s.
// The names are a fixed list: nothing else can become an identifier.
func spanColumn(col string) (string, bool) {
	switch col {
	case "name", "kind", "status", "status_message", "error_type", "service", "environment",
		"deployment_id", "tenant", "route", "session_id", "user_id", "prompt_name",
		"prompt_version_id", "release_label", "provider", "request_model", "response_model",
		"finish_reason", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
		"reasoning_tokens", "total_tokens", "cost_usd", "tool_name", "retrieval_index",
		"retrieval_count", "duration_ns":
		return "s." + col, true
	case "start_time":
		return "s.start_ns", true
	}
	return "", false
}

// traceColumn maps query.Field.Column of a trace.* field to SQL over the
// per-trace aggregate row t (see traceAggSQL). trace_id is compiled apart.
func traceColumn(col string) (string, bool) {
	switch col {
	case "name", "status", "duration_ns", "cost_usd", "total_tokens", "span_count", "error_count":
		return "t." + col, true
	}
	return "", false
}

// textMatcher resolves a full-text comparison (input/output/payload
// contains) to SQL over s and its arguments.
type textMatcher func(c *query.Cmp) (string, []any, error)

// compiler turns a filter into SQL. usesTrace and usesSpan report whether
// the result references t and s.
type compiler struct {
	args      []any
	usesTrace bool
	usesSpan  bool
	nonText   bool // some comparison is not full-text
	text      textMatcher
}

// scopes says which aliases a compiled filter references, and whether
// every comparison in it is a full-text one.
type scopes struct{ trace, span, textOnly bool }

// compileFilterScopes is compileFilter, also reporting whether the
// expression references span columns (s): one that does not holds alike
// for every span of a trace.
func compileFilterScopes(e query.Expr, text textMatcher) (string, []any, scopes, error) {
	if e == nil {
		return "TRUE", nil, scopes{}, nil
	}
	c := &compiler{text: text}
	sql, err := c.expr(e)
	if err != nil {
		return "", nil, scopes{}, err
	}
	return sql, c.args, scopes{trace: c.usesTrace, span: c.usesSpan, textOnly: !c.nonText}, nil
}

// compileFilter compiles e (nil matches everything) into a boolean SQL
// expression over s (and t, when usesTrace) and its arguments.
func compileFilter(e query.Expr, text textMatcher) (sql string, args []any, usesTrace bool, err error) {
	if e == nil {
		return "TRUE", nil, false, nil
	}
	c := &compiler{text: text}
	sql, err = c.expr(e)
	if err != nil {
		return "", nil, false, err
	}
	return sql, c.args, c.usesTrace, nil
}

func (c *compiler) expr(e query.Expr) (string, error) {
	switch e := e.(type) {
	case *query.And:
		return c.binary(e.L, e.R, " AND ")
	case *query.Or:
		return c.binary(e.L, e.R, " OR ")
	case *query.Not:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		return "(NOT " + x + ")", nil
	case *query.Cmp:
		return c.cmp(e)
	}
	return "", fmt.Errorf("%w: unknown filter expression %T", loupe.ErrInvalid, e)
}

// falseSQL is the compiled form of a condition no span satisfies (a
// full-text lookup that matched nothing). It takes no arguments, and
// binary folds it: x AND FALSE is FALSE and x OR FALSE is x for every x,
// NULL included, so a filter that compiles to exactly falseSQL matches
// nothing and a search can skip it.
const falseSQL = "FALSE"

func (c *compiler) binary(l, r query.Expr, op string) (string, error) {
	mark := len(c.args)
	ls, err := c.expr(l)
	if err != nil {
		return "", err
	}
	rs, err := c.expr(r)
	if err != nil {
		return "", err
	}
	switch {
	case op == " AND " && (ls == falseSQL || rs == falseSQL):
		c.args = c.args[:mark] // the dropped side's
		return falseSQL, nil
	case op == " OR " && ls == falseSQL:
		return rs, nil
	case op == " OR " && rs == falseSQL:
		return ls, nil
	}
	return "(" + ls + op + rs + ")", nil
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// negative reports whether op is the negation of a positive operator, and
// that operator.
func negative(op query.Op) (query.Op, bool) {
	switch op {
	case query.OpNe:
		return query.OpEq, true
	case query.OpNotMatch:
		return query.OpMatch, true
	case query.OpNotIn:
		return query.OpIn, true
	}
	return op, false
}

func (c *compiler) cmp(e *query.Cmp) (string, error) {
	f := e.Field
	if f.Scope != query.TextScope {
		c.nonText = true
	}
	switch f.Scope {
	case query.TextScope:
		c.usesSpan = true
		if e.Op != query.OpContains || c.text == nil {
			return "", posErr(e.P, "full-text fields support only contains")
		}
		sql, args, err := c.text(e)
		if err != nil {
			return "", err
		}
		c.args = append(c.args, args...)
		return sql, nil
	case query.AttrScope:
		c.usesSpan = true
		return c.attr(e)
	case query.TraceScope:
		c.usesTrace = true
		if f.Column == "trace_id" {
			return c.traceID(e)
		}
		col, ok := traceColumn(f.Column)
		if !ok {
			return "", posErr(e.P, "field "+f.Name+" cannot be searched")
		}
		return c.column(e, col)
	case query.SpanScope:
		c.usesSpan = true
		if f.Column == "model" {
			// model matches request_model or response_model; the negative
			// operators mean neither does.
			pos, neg := negative(e.Op)
			p := *e
			p.Op = pos
			a, err := c.column(&p, "s.request_model")
			if err != nil {
				return "", err
			}
			b, err := c.column(&p, "s.response_model")
			if err != nil {
				return "", err
			}
			sql := "(" + a + " OR " + b + ")"
			if neg {
				sql = "(NOT " + sql + ")"
			}
			return sql, nil
		}
		col, ok := spanColumn(f.Column)
		if !ok {
			return "", posErr(e.P, "field "+f.Name+" cannot be searched")
		}
		return c.column(e, col)
	}
	return "", posErr(e.P, "field "+f.Name+" cannot be searched")
}

// scalar returns the SQL argument for a literal compared with field f.
func scalar(f query.Field, v query.Value) (any, error) {
	switch v.Kind {
	case query.StringValue:
		return v.Str, nil
	case query.NumberValue:
		return v.Num, nil
	case query.DurationValue:
		return v.Dur.Nanoseconds(), nil
	case query.TimeValue:
		return v.Time.UnixNano(), nil
	case query.BoolValue:
		return strconv.FormatBool(v.Bool), nil
	}
	return nil, posErr(v.P, "unexpected value for field "+f.Name)
}

// column compiles a comparison of a non-nullable column.
func (c *compiler) column(e *query.Cmp, col string) (string, error) {
	switch e.Op {
	case query.OpEq, query.OpNe, query.OpLt, query.OpGt, query.OpLe, query.OpGe:
		v, err := scalar(e.Field, e.Value)
		if err != nil {
			return "", err
		}
		op := string(e.Op)
		if e.Op == query.OpNe {
			op = "<>"
		}
		return "(" + col + " " + op + " " + c.arg(v) + ")", nil
	case query.OpIn, query.OpNotIn:
		var b strings.Builder
		b.WriteString("(" + col)
		if e.Op == query.OpNotIn {
			b.WriteString(" NOT")
		}
		b.WriteString(" IN (")
		for i, x := range e.Value.List {
			v, err := scalar(e.Field, x)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.arg(v))
		}
		b.WriteString("))")
		return b.String(), nil
	case query.OpMatch:
		return "(" + col + " LIKE " + c.arg(query.GlobLike(e.Value.Str)) + ` ESCAPE '\')`, nil
	case query.OpNotMatch:
		return "(" + col + " NOT LIKE " + c.arg(query.GlobLike(e.Value.Str)) + ` ESCAPE '\')`, nil
	case query.OpContains:
		return "(" + col + " ILIKE " + c.arg(query.ContainsLike(e.Value.Str)) + ` ESCAPE '\')`, nil
	}
	return "", posErr(e.P, "operator "+string(e.Op)+" does not apply to "+e.Field.Name)
}

// traceID compiles trace.id comparisons to the two id columns.
func (c *compiler) traceID(e *query.Cmp) (string, error) {
	one := func(v query.Value) (string, error) {
		id, err := loupe.ParseTraceID(v.Str)
		if err != nil {
			return "", posErr(v.P, "expected a trace id (32 hex characters)")
		}
		hi, lo := traceHalves(id)
		return "(t.trace_hi = " + c.arg(hi) + " AND t.trace_lo = " + c.arg(lo) + ")", nil
	}
	pos, neg := negative(e.Op)
	var sql string
	switch pos {
	case query.OpEq:
		s, err := one(e.Value)
		if err != nil {
			return "", err
		}
		sql = s
	case query.OpIn:
		parts := make([]string, 0, len(e.Value.List))
		for _, v := range e.Value.List {
			s, err := one(v)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		sql = "(" + strings.Join(parts, " OR ") + ")"
	default:
		return "", posErr(e.P, "operator "+string(e.Op)+" does not apply to trace.id")
	}
	if neg {
		sql = "(NOT " + sql + ")"
	}
	return sql, nil
}

// jsonPointer returns the RFC 6901 pointer of a top-level key, which
// DuckDB's JSON functions accept as a path: no key can escape it.
func jsonPointer(key string) string {
	key = strings.ReplaceAll(key, "~", "~0")
	key = strings.ReplaceAll(key, "/", "~1")
	return "/" + key
}

// attrColumn returns the JSON column that holds attribute key: resource
// attributes are stored apart (see write.go and resources.go).
func attrColumn(key string) string {
	if strings.HasPrefix(key, resourcePrefix) {
		return resourceSQL
	}
	return "s.attributes"
}

// attr compiles a comparison of an attribute. The literal's kind decides
// the comparison: numbers compare numerically (attributes that are not
// numbers never match), booleans and strings compare the value's text.
func (c *compiler) attr(e *query.Cmp) (string, error) {
	ptr := jsonPointer(e.Field.Name)
	col := attrColumn(e.Field.Name)
	text := func() string { return "json_extract_string(" + col + ", " + c.arg(ptr) + ")" }
	num := func() string { return "TRY_CAST(json_extract_string(" + col + ", " + c.arg(ptr) + ") AS DOUBLE)" }
	one := func(op string, v query.Value) (string, error) {
		switch v.Kind {
		case query.NumberValue:
			return num() + " " + op + " " + c.arg(v.Num), nil
		case query.BoolValue:
			return text() + " " + op + " " + c.arg(strconv.FormatBool(v.Bool)), nil
		case query.StringValue:
			return text() + " " + op + " " + c.arg(v.Str), nil
		}
		return "", posErr(v.P, "unexpected value for attribute "+e.Field.Name)
	}
	pos, neg := negative(e.Op)
	var sql, present string
	var err error
	if neg {
		present = text() + " IS NOT NULL" // its argument comes first
	}
	switch pos {
	case query.OpEq:
		sql, err = one("=", e.Value)
	case query.OpLt, query.OpGt, query.OpLe, query.OpGe:
		sql, err = one(string(pos), e.Value)
	case query.OpIn:
		parts := make([]string, 0, len(e.Value.List))
		for _, v := range e.Value.List {
			s, err := one("=", v)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		sql = strings.Join(parts, " OR ")
	case query.OpMatch:
		sql = text() + " LIKE " + c.arg(query.GlobLike(e.Value.Str)) + ` ESCAPE '\'`
	case query.OpContains:
		sql = text() + " ILIKE " + c.arg(query.ContainsLike(e.Value.Str)) + ` ESCAPE '\'`
	default:
		return "", posErr(e.P, "operator "+string(e.Op)+" does not apply to attributes")
	}
	if err != nil {
		return "", err
	}
	// Absent attributes (NULL) compare false, and stay false under NOT only
	// through the negative operators: != means present and different.
	sql = "COALESCE(" + sql + ", FALSE)"
	if neg {
		sql = "(" + present + " AND NOT " + sql + ")"
	}
	return sql, nil
}

// posErr returns a *query.Error (wrapping loupe.ErrInvalid) at pos.
func posErr(pos int, msg string) error { return &query.Error{Pos: pos, Msg: msg} }
