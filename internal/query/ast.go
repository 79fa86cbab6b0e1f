package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed filter expression: *And, *Or, *Not or *Cmp. The set is
// closed, so a type switch over those four is exhaustive.
type Expr interface {
	// Pos returns the byte offset in the source where the expression starts.
	Pos() int
	// String returns the canonical form: Parse(e.String()) yields an equal
	// expression (positions aside), and printing it again gives the same
	// text.
	String() string
	expr()
}

// And matches when both L and R match.
type And struct {
	L, R Expr
}

// Or matches when L or R matches.
type Or struct {
	L, R Expr
}

// Not matches when X does not match.
type Not struct {
	X Expr
	P int // offset of the "not" keyword; of the field for "field not contains value"
}

// Cmp compares a field with a value.
type Cmp struct {
	Field Field
	Op    Op
	// Value is a List for OpIn and OpNotIn, a scalar otherwise. Its kind
	// suits Field.Type: StringValue for String, Enum (lowercase), ID
	// (lowercase hex) and Text; NumberValue for Number and Money (US
	// dollars); DurationValue; TimeValue (UTC). For attributes (Type Any)
	// the literal decides: a quoted string is a StringValue, a bare number
	// a NumberValue, bare true/false a BoolValue, any other bare word a
	// StringValue; the operators ~, !~ and contains always get a
	// StringValue, and <, >, <=, >= always a NumberValue.
	Value Value
	P     int // offset of the field
}

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	OpEq    Op = "="
	OpNe    Op = "!="
	OpLt    Op = "<"
	OpGt    Op = ">"
	OpLe    Op = "<="
	OpGe    Op = ">="
	OpIn    Op = "in"
	OpNotIn Op = "not in"
	// OpMatch is a glob match over the whole value: * matches any run of
	// characters, ? exactly one character; there is no escape. See
	// GlobLike.
	OpMatch    Op = "~"
	OpNotMatch Op = "!~"
	// OpContains is a case-insensitive substring match; on Text fields it
	// searches the payload text (full-text).
	OpContains Op = "contains"
)

// ValueKind is the kind of a Value.
type ValueKind uint8

// Value kinds.
const (
	StringValue ValueKind = iota + 1
	NumberValue
	BoolValue
	DurationValue
	TimeValue
	ListValue
)

// Value is a literal of a filter. Only the field matching Kind is set.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
	Dur  time.Duration
	Time time.Time // UTC
	List []Value   // scalars; non-empty
	P    int       // offset of the literal (of "(" for a list)
}

func (*And) expr() {}
func (*Or) expr()  {}
func (*Not) expr() {}
func (*Cmp) expr() {}

// Pos implements Expr.
func (e *And) Pos() int { return e.L.Pos() }

// Pos implements Expr.
func (e *Or) Pos() int { return e.L.Pos() }

// Pos implements Expr.
func (e *Not) Pos() int { return e.P }

// Pos implements Expr.
func (e *Cmp) Pos() int { return e.P }

// Operator precedence, loosest first.
const (
	precOr = iota + 1
	precAnd
	precNot
)

func prec(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	}
	return precNot + 1
}

// String implements Expr.
func (e *And) String() string { var b strings.Builder; e.write(&b); return b.String() }

// String implements Expr.
func (e *Or) String() string { var b strings.Builder; e.write(&b); return b.String() }

// String implements Expr.
func (e *Not) String() string { var b strings.Builder; e.write(&b); return b.String() }

// String implements Expr.
func (e *Cmp) String() string { var b strings.Builder; e.write(&b); return b.String() }

// writeExpr writes e, in parentheses when it binds looser than min.
// Binary operators are left-associative, so a right operand of the same
// precedence is given min one higher.
func writeExpr(b *strings.Builder, e Expr, min int) {
	paren := prec(e) < min
	if paren {
		b.WriteByte('(')
	}
	switch e := e.(type) {
	case *And:
		e.write(b)
	case *Or:
		e.write(b)
	case *Not:
		e.write(b)
	case *Cmp:
		e.write(b)
	}
	if paren {
		b.WriteByte(')')
	}
}

func (e *And) write(b *strings.Builder) {
	writeExpr(b, e.L, precAnd)
	b.WriteString(" and ")
	writeExpr(b, e.R, precAnd+1)
}

func (e *Or) write(b *strings.Builder) {
	writeExpr(b, e.L, precOr)
	b.WriteString(" or ")
	writeExpr(b, e.R, precOr+1)
}

func (e *Not) write(b *strings.Builder) {
	b.WriteString("not ")
	writeExpr(b, e.X, precNot)
}

func (e *Cmp) write(b *strings.Builder) {
	b.WriteString(e.Field.String())
	b.WriteByte(' ')
	b.WriteString(string(e.Op))
	b.WriteByte(' ')
	e.Value.write(b, e.Field.Type == Enum)
}

// String returns the value as a filter literal: strings quoted, lists in
// parentheses.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b, false)
	return b.String()
}

// write writes v; bare writes strings unquoted (enum values, which are
// always plain lowercase words).
func (v Value) write(b *strings.Builder, bare bool) {
	switch v.Kind {
	case StringValue:
		if bare {
			b.WriteString(v.Str)
		} else {
			b.WriteString(quote(v.Str))
		}
	case NumberValue:
		b.WriteString(formatNum(v.Num))
	case BoolValue:
		b.WriteString(strconv.FormatBool(v.Bool))
	case DurationValue:
		b.WriteString(v.Dur.String())
	case TimeValue:
		b.WriteString(quote(v.Time.Format(time.RFC3339Nano)))
	case ListValue:
		b.WriteByte('(')
		for i, x := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			x.write(b, bare)
		}
		b.WriteByte(')')
	default:
		b.WriteString("<invalid>")
	}
}

// formatNum prints integers without exponent and other numbers in the
// shortest form that parses back to the same float64.
func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// quote returns s as a double-quoted filter string literal. Only the
// escapes the lexer knows are used; other characters are written as is.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				const hex = "0123456789abcdef"
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4&0xf])
				b.WriteByte(hex[r&0xf])
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Walk calls fn for e and, while fn returns true, for each of its
// subexpressions, depth first, left to right. A nil e is not visited.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *And:
		Walk(e.L, fn)
		Walk(e.R, fn)
	case *Or:
		Walk(e.L, fn)
		Walk(e.R, fn)
	case *Not:
		Walk(e.X, fn)
	}
}
