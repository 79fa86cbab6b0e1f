package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota + 1
	tWord           // bare word: field names, keywords, numbers, durations, unquoted values
	tString         // quoted string; text holds the decoded value
	tOp             // = == != < > <= >= ~ !~
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	pos  int    // byte offset of the first character
	text string // word, operator, or decoded string
}

// describe names the token for "found ..." in error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tString:
		return "string " + quote(clip(t.text))
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tComma:
		return `","`
	}
	return quote(clip(t.text))
}

// keyword reports whether t is the bare keyword kw (case-insensitive).
func (t token) keyword(kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

// isKeyword reports whether t is any reserved keyword.
func (t token) isKeyword() bool {
	return t.keyword("and") || t.keyword("or") || t.keyword("not") || t.keyword("in") || t.keyword("contains")
}

func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// isWordRune reports whether r may appear in a bare word.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			strings.IndexByte("_.-/:*?$+@", byte(r)) >= 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isKey reports whether s is a valid bare field or attribute key: a letter
// or underscore, then letters, digits and _ . - / : @.
func isKey(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || strings.ContainsRune(".-/:@", r)):
		default:
			return false
		}
	}
	return true
}

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, *Error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, pos: i, text: "("})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, pos: i, text: ")"})
			i++
		case c == ',':
			toks = append(toks, token{kind: tComma, pos: i, text: ","})
			i++
		case c == '=' || c == '<' || c == '>' || c == '~' || c == '!':
			op, n := string(c), 1
			if i+1 < len(src) {
				switch two := src[i : i+2]; two {
				case "==", "!=", "<=", ">=", "!~":
					op, n = two, 2
				}
			}
			if op == "!" {
				return nil, &Error{Pos: i, Msg: `unexpected "!"; use != or !~, or not`}
			}
			if op == "==" {
				op = "="
			}
			toks = append(toks, token{kind: tOp, pos: i, text: op})
			i += n
		case c == '"' || c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, pos: i, text: s})
			i += n
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, &Error{Pos: i, Msg: "invalid UTF-8"}
			}
			if !isWordRune(r) {
				return nil, &Error{Pos: i, Msg: "unexpected character " + describeRune(r)}
			}
			j := i + size
			for j < len(src) {
				r, size := utf8.DecodeRuneInString(src[j:])
				if !isWordRune(r) {
					break
				}
				j += size
			}
			toks = append(toks, token{kind: tWord, pos: i, text: src[i:j]})
			i = j
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

func describeRune(r rune) string {
	if unicode.IsPrint(r) {
		return quote(string(r))
	}
	return fmt.Sprintf("U+%04X", r)
}

// lexString decodes the quoted string starting at src[start] and returns
// its value and length in bytes. Escapes: \" \' \\ \n \r \t \uXXXX.
// Control characters other than tab, newline and carriage return, NUL
// (even escaped) and invalid UTF-8 are errors.
func lexString(src string, start int) (string, int, *Error) {
	q := src[start]
	var b strings.Builder
	for i := start + 1; i < len(src); {
		c := src[i]
		switch {
		case c == q:
			return b.String(), i + 1 - start, nil
		case c == '\\':
			if i+1 >= len(src) {
				return "", 0, &Error{Pos: start, Msg: "unterminated string"}
			}
			switch e := src[i+1]; e {
			case '"', '\'', '\\':
				b.WriteByte(e)
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				r, ok := rune(0), i+6 <= len(src)
				for k := i + 2; ok && k < i+6; k++ {
					d := unhex(src[k])
					ok = d >= 0
					r = r<<4 | rune(d)
				}
				if !ok {
					return "", 0, &Error{Pos: i, Msg: `invalid escape: \u needs 4 hex digits`}
				}
				if r == 0 || (0xd800 <= r && r < 0xe000) {
					return "", 0, &Error{Pos: i, Msg: "invalid escape " + src[i:i+6] + " (NUL and surrogates are not allowed)"}
				}
				b.WriteRune(r)
				i += 6
			default:
				r, _ := utf8.DecodeRuneInString(src[i+1:])
				return "", 0, &Error{Pos: i, Msg: `unknown escape \` + describeEscape(r) + ` in string; use \" \' \\ \n \r \t or \uXXXX`}
			}
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return "", 0, &Error{Pos: i, Msg: "control character " + describeRune(rune(c)) + ` in string; use an escape such as \n`}
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return "", 0, &Error{Pos: i, Msg: "invalid UTF-8"}
			}
			b.WriteString(src[i : i+size])
			i += size
		}
	}
	return "", 0, &Error{Pos: start, Msg: "unterminated string"}
}

func describeEscape(r rune) string {
	if unicode.IsPrint(r) && r != utf8.RuneError {
		return string(r)
	}
	return "(" + describeRune(r) + ")"
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
