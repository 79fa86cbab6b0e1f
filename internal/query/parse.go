package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

// Limits of a filter. Beyond them Parse returns an error, so no input can
// exhaust the stack or the backend's placeholder budget.
const (
	// MaxLength is the longest filter in bytes.
	MaxLength = 4096
	// MaxDepth is the deepest nesting of parentheses and "not".
	MaxDepth = 32
	// MaxList is the most values in one in (...) list.
	MaxList = 1000
)

// Error is a filter syntax or type error. It wraps loupe.ErrInvalid.
type Error struct {
	Pos int    // byte offset in the filter
	Msg string // what was expected and what was found
}

// Error returns "filter: position N: msg".
func (e *Error) Error() string {
	return "filter: position " + strconv.Itoa(e.Pos) + ": " + e.Msg
}

// Unwrap returns loupe.ErrInvalid, so errors.Is(err, loupe.ErrInvalid).
func (e *Error) Unwrap() error { return loupe.ErrInvalid }

// Parse parses a filter (see the package documentation for the grammar).
// An empty or all-space filter yields a nil Expr and no error: it matches
// everything. Errors are *Error.
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		return nil, &Error{Pos: MaxLength, Msg: fmt.Sprintf("filter is %d bytes, longer than the limit of %d", len(src), MaxLength)}
	}
	toks, lerr := lex(src)
	if lerr != nil {
		return nil, lerr
	}
	p := parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tEOF:
		return e, nil
	case tRParen:
		return nil, &Error{Pos: t.pos, Msg: `unexpected ")" without a matching "("`}
	default:
		return nil, &Error{Pos: t.pos, Msg: "expected and, or, or end of input, found " + t.describe()}
	}
}

type parser struct {
	toks  []token // ends with tEOF
	i     int     // next token
	depth int     // current nesting of parentheses and not
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// enter records one more level of nesting at t.
func (p *parser) enter(t token) *Error {
	p.depth++
	if p.depth > MaxDepth {
		return &Error{Pos: t.pos, Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth)}
	}
	return nil
}

// or = and { "or" and }
func (p *parser) or() (Expr, *Error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Or{L: l, R: r}
	}
	return l, nil
}

// and = unary { "and" unary }
func (p *parser) and() (Expr, *Error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("and") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &And{L: l, R: r}
	}
	return l, nil
}

// unary = "not" unary | "(" or ")" | cmp
func (p *parser) unary() (Expr, *Error) {
	t := p.peek()
	switch {
	case t.keyword("not"):
		if err := p.enter(t); err != nil {
			return nil, err
		}
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Not{X: x, P: t.pos}, nil
	case t.kind == tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &Error{Pos: c.pos, Msg: fmt.Sprintf(`expected ")" to close "(" at position %d, found %s`, t.pos, c.describe())}
		}
		p.depth--
		return x, nil
	}
	return p.cmp()
}

// cmp = field op value
func (p *parser) cmp() (Expr, *Error) {
	ft := p.next()
	var f Field
	switch {
	case ft.kind == tWord && !ft.isKeyword():
		var msg string
		if f, msg = resolveField(ft.text); msg != "" {
			return nil, &Error{Pos: ft.pos, Msg: msg}
		}
	case ft.kind == tString:
		if ft.text == "" {
			return nil, &Error{Pos: ft.pos, Msg: "empty attribute key"}
		}
		f = Field{Name: ft.text, Scope: AttrScope, Type: Any}
	default:
		return nil, &Error{Pos: ft.pos, Msg: "expected a field name, found " + ft.describe()}
	}

	ot := p.next()
	var op Op
	negate := false // "not contains"
	switch {
	case ot.kind == tOp:
		op = Op(ot.text)
	case ot.keyword("in"):
		op = OpIn
	case ot.keyword("contains"):
		op = OpContains
	case ot.keyword("not"):
		switch t := p.next(); {
		case t.keyword("in"):
			op = OpNotIn
		case t.keyword("contains"):
			op, negate = OpContains, true
		default:
			return nil, &Error{Pos: t.pos, Msg: `expected in or contains after "not", found ` + t.describe()}
		}
	default:
		return nil, &Error{Pos: ot.pos, Msg: fmt.Sprintf("expected an operator after %s, found %s", quote(clip(f.String())), ot.describe())}
	}
	if ops := opsFor(f.Type); !slices.Contains(ops, op) {
		return nil, &Error{Pos: ot.pos, Msg: fmt.Sprintf("operator %s is not valid for %s (%s); use %s", op, f, f.Type, joinOps(ops))}
	}

	var v Value
	var err *Error
	if op == OpIn || op == OpNotIn {
		v, err = p.list(f, op)
	} else {
		v, err = p.scalar(f, op, ot)
	}
	if err != nil {
		return nil, err
	}
	c := &Cmp{Field: f, Op: op, Value: v, P: ft.pos}
	if negate {
		return &Not{X: c, P: ft.pos}, nil
	}
	return c, nil
}

// list = "(" value { "," value } ")"
func (p *parser) list(f Field, op Op) (Value, *Error) {
	lp := p.next()
	if lp.kind != tLParen {
		return Value{}, &Error{Pos: lp.pos, Msg: fmt.Sprintf(`expected "(" after %s, found %s`, op, lp.describe())}
	}
	var vs []Value
	for {
		t := p.peek()
		if len(vs) == MaxList {
			return Value{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("list longer than %d values", MaxList)}
		}
		v, err := p.scalar(f, OpEq, lp)
		if err != nil {
			return Value{}, err
		}
		vs = append(vs, v)
		switch t := p.next(); t.kind {
		case tComma:
		case tRParen:
			return Value{Kind: ListValue, List: vs, P: lp.pos}, nil
		default:
			return Value{}, &Error{Pos: t.pos, Msg: `expected "," or ")" in the list, found ` + t.describe()}
		}
	}
}

// scalar reads one literal for field f under operator op; after is the
// token before it, for error messages.
func (p *parser) scalar(f Field, op Op, after token) (Value, *Error) {
	t := p.peek()
	if (t.kind != tWord && t.kind != tString) || t.isKeyword() {
		return Value{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("expected a value after %s, found %s", quote(after.text), t.describe())}
	}
	p.next()
	v, msg := convert(f, op, t)
	if msg != "" {
		return Value{}, &Error{Pos: t.pos, Msg: msg}
	}
	v.P = t.pos
	return v, nil
}

// convert turns a word or string token into a value of field f's type.
func convert(f Field, op Op, t token) (Value, string) {
	word := t.kind == tWord
	switch f.Type {
	case String, Text:
		if op == OpContains && t.text == "" {
			return Value{}, "contains needs a non-empty value"
		}
		return Value{Kind: StringValue, Str: t.text}, ""
	case Enum:
		s := strings.ToLower(t.text)
		vs := f.Values()
		if !slices.Contains(vs, s) {
			return Value{}, fmt.Sprintf("invalid value %s for %s; valid: %s", quote(clip(t.text)), f, strings.Join(vs, ", "))
		}
		return Value{Kind: StringValue, Str: s}, ""
	case Number:
		if !word {
			return Value{}, fmt.Sprintf("expected a number for %s, found %s", f, t.describe())
		}
		n, msg := parseNum(t.text)
		if msg != "" {
			return Value{}, msg + " for " + f.String()
		}
		return Value{Kind: NumberValue, Num: n}, ""
	case Money:
		if !word {
			return Value{}, fmt.Sprintf("expected an amount in US dollars for %s (e.g. 0.01), found %s", f, t.describe())
		}
		n, msg := parseNum(strings.TrimPrefix(t.text, "$"))
		if msg != "" {
			return Value{}, fmt.Sprintf("invalid amount %s for %s; use US dollars, e.g. 0.01 or $0.01", quote(clip(t.text)), f)
		}
		return Value{Kind: NumberValue, Num: n}, ""
	case Duration:
		if !word {
			return Value{}, fmt.Sprintf("expected a duration for %s (e.g. 2s), found %s", f, t.describe())
		}
		if _, msg := parseNum(t.text); msg == "" {
			return Value{}, fmt.Sprintf("duration %s needs a unit: ns, us, ms, s, m or h (e.g. %ss)", quote(clip(t.text)), clip(t.text))
		}
		d, err := time.ParseDuration(t.text)
		if err != nil {
			return Value{}, fmt.Sprintf("invalid duration %s for %s; use a number with a unit: ns, us, ms, s, m or h (e.g. 150ms, 1.5m)", quote(clip(t.text)), f)
		}
		if d < 0 {
			return Value{}, fmt.Sprintf("negative duration %s", quote(clip(t.text)))
		}
		return Value{Kind: DurationValue, Dur: d}, ""
	case Time:
		tm, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return Value{}, fmt.Sprintf("invalid time %s for %s; use RFC 3339, e.g. 2026-06-03T17:00:00Z", quote(clip(t.text)), f)
		}
		return Value{Kind: TimeValue, Time: tm.UTC()}, ""
	case ID:
		id, err := loupe.ParseTraceID(t.text)
		if err != nil {
			return Value{}, fmt.Sprintf("invalid trace id %s; want 32 hex characters, not all zeros", quote(clip(t.text)))
		}
		return Value{Kind: StringValue, Str: id.String()}, ""
	case Any:
		switch op {
		case OpMatch, OpNotMatch, OpContains:
			if op == OpContains && t.text == "" {
				return Value{}, "contains needs a non-empty value"
			}
			return Value{Kind: StringValue, Str: t.text}, ""
		case OpLt, OpGt, OpLe, OpGe:
			if !word {
				return Value{}, fmt.Sprintf("operator %s needs a number, found %s", op, t.describe())
			}
			num, msg := parseNum(t.text)
			if msg != "" {
				return Value{}, fmt.Sprintf("operator %s needs a number, found %s", op, t.describe())
			}
			return Value{Kind: NumberValue, Num: num}, ""
		}
		if !word {
			return Value{Kind: StringValue, Str: t.text}, ""
		}
		switch t.text {
		case "true":
			return Value{Kind: BoolValue, Bool: true}, ""
		case "false":
			return Value{Kind: BoolValue, Bool: false}, ""
		}
		if n, msg := parseNum(t.text); msg == "" {
			return Value{Kind: NumberValue, Num: n}, ""
		} else if looksNumeric(t.text) {
			return Value{}, msg
		}
		return Value{Kind: StringValue, Str: t.text}, ""
	}
	return Value{}, "field " + f.String() + " has no value type"
}

// parseNum parses a decimal number: optional sign, digits with an optional
// fraction, optional exponent. No hex, underscores, inf or nan.
func parseNum(s string) (float64, string) {
	if !looksNumeric(s) {
		return 0, "invalid number " + quote(clip(s))
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, "number " + quote(clip(s)) + " is out of range"
	}
	return n, ""
}

// looksNumeric reports whether s has the syntax of a decimal number.
func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// opsFor returns the operators valid for a field type, in display order.
func opsFor(t Type) []Op {
	switch t {
	case String:
		return []Op{OpEq, OpNe, OpMatch, OpNotMatch, OpIn, OpNotIn, OpContains}
	case Enum, ID:
		return []Op{OpEq, OpNe, OpIn, OpNotIn}
	case Number:
		return []Op{OpEq, OpNe, OpLt, OpGt, OpLe, OpGe, OpIn, OpNotIn}
	case Money, Duration, Time:
		return []Op{OpEq, OpNe, OpLt, OpGt, OpLe, OpGe}
	case Text:
		return []Op{OpContains}
	case Any:
		return []Op{OpEq, OpNe, OpLt, OpGt, OpLe, OpGe, OpMatch, OpNotMatch, OpIn, OpNotIn, OpContains}
	}
	return nil
}

func joinOps(ops []Op) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	if len(s) == 1 {
		return s[0] + " only"
	}
	return strings.Join(s, ", ")
}
