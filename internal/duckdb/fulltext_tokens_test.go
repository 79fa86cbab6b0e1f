package duckdb

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// appendTokensRef is the tokenizer as it was before its fast path
// (fulltext_tokens.go): a byte at a time through wordHasher, stopwords
// by isStopword. The tests check appendTokens against it.
func appendTokensRef(dst []uint64, s string) []uint64 {
	var w wordHasher
	flush := func() {
		if w.n >= minTokenLen && w.n <= maxTokenLen {
			stop := false
			if w.n <= 4 {
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], w.acc)
				stop = isStopword(string(b[:w.n]))
			}
			if !stop {
				dst = append(dst, w.sum())
			}
		}
		w = wordHasher{}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				if w.n > 0 {
					flush()
				}
				continue
			}
			w.add(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if w.n > 0 {
				flush()
			}
			continue
		}
		var buf [utf8.UTFMax]byte
		for _, c := range utf8.AppendRune(buf[:0], unicode.ToLower(r)) {
			w.add(c)
		}
	}
	if w.n > 0 {
		flush()
	}
	return dst
}

func TestLowerASCII(t *testing.T) {
	for c := range 256 {
		want := byte(0)
		switch {
		case c >= utf8.RuneSelf:
			want = 0x80
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			want = byte(c)
		case 'A' <= c && c <= 'Z':
			want = byte(c) + 'a' - 'A'
		}
		if got := lowerASCII[c]; got != want {
			t.Errorf("lowerASCII[%#x] = %#x, want %#x", c, got, want)
		}
	}
}

func TestIsStopwordAcc(t *testing.T) {
	stop := strings.Fields("the and of to in is it on for or an be at as by if no not with this that are was you your from")
	words := append(stop, "th", "he", "ad", "ofs", "fro", "yours", "wit", "thi", "ok", "x1", "a1", "nota", "form", "rom")
	for _, w := range words {
		t.Run(w, func(t *testing.T) {
			var b [8]byte
			copy(b[:], w)
			acc := binary.LittleEndian.Uint64(b[:])
			if got, want := len(w) <= 4 && isStopwordAcc(acc), isStopword(w); got != want {
				t.Errorf("isStopwordAcc(%q) = %v, want %v", w, got, want)
			}
		})
	}
	n := 0
	for _, w := range stop {
		if isStopword(w) {
			n++
		}
	}
	if n != len(stop) { // positive control: the list above is isStopword's
		t.Errorf("%d of %d listed stopwords are isStopword's", n, len(stop))
	}
}

// tokenCases are texts whose tokens appendTokens must compute as
// appendTokensRef does: word boundaries, case, non-ASCII letters and
// digits, invalid UTF-8, stopwords and the length limits (words across
// the 8-byte chunks of the hasher).
func tokenCases() []string {
	return []string{
		"", "a", "ab", "Where is my REFUND?", "a the of x1 ok", "with within WITH The tHe",
		"Müller straße ÉTÉ İstanbul ǅemal Σίσυφος ΣΊΣΥΦΟΣ", "order PA-0012345, total 12.50",
		"日本語のテキスト 和 漢字", "\xff\xfe bad\xc3 utf8\x80x", "tab\there\nnewline\r\x00nul",
		strings.Repeat("x", 63), strings.Repeat("y", 64), strings.Repeat("z", 65), strings.Repeat("é", 40),
		"abcdefg abcdefgh abcdefghi abcdefghijklmnop abcdefghijklmnopq ÀBCDEFGé12345678",
		"١٢٣ arabic-indic digits ½ ² ⅷ superscripts", "emoji 😀 between😀words", "a_b c-d e.f g/h",
	}
}

func TestTokensSameAsReference(t *testing.T) {
	for _, s := range tokenCases() {
		t.Run(fmt.Sprintf("%.20q", s), func(t *testing.T) {
			if diff := cmp.Diff(appendTokensRef(nil, s), tokenizer{}.appendTokens(nil, s)); diff != "" {
				t.Errorf("appendTokens(%q) (-ref +got):\n%s", s, diff)
			}
		})
	}
	t.Run("workload", func(t *testing.T) {
		batches, _, _ := workloadPool(t, 3, 4)
		texts := 0
		each := func(s string) {
			texts++
			if diff := cmp.Diff(appendTokensRef(nil, s), tokenizer{}.appendTokens(nil, s)); diff != "" {
				t.Errorf("appendTokens(%.60q) (-ref +got):\n%s", s, diff)
			}
		}
		for _, b := range batches {
			for i := range b.Spans {
				forPayloadText(b.Spans[i].Payload, each)
			}
		}
		if texts < 100 {
			t.Errorf("only %d payload texts: the workload should give hundreds", texts)
		}
	})
}

// forPayloadText calls fn with the strings of p that the index reads.
func forPayloadText(p *loupe.Payload, fn func(string)) {
	if p == nil {
		return
	}
	for _, ms := range [][]loupe.Message{p.Input, p.Output} {
		for _, m := range ms {
			fn(m.Content)
			for _, tc := range m.ToolCalls {
				fn(tc.Arguments)
			}
		}
	}
	for _, s := range []string{p.InputValue, p.OutputValue, p.ToolArguments, p.ToolResult, p.Query} {
		fn(s)
	}
	for _, d := range p.Documents {
		fn(d.Content)
	}
}

// TestTokensReferenceDiffers is the positive control of the comparisons
// above: their cases tell apart a tokenizer that differs from the
// reference in one detail (it sees the text uppercased, which only runes
// whose lowercase does not round-trip through uppercase, as final sigma
// and title-case digraphs, reveal).
func TestTokensReferenceDiffers(t *testing.T) {
	caught := false
	for _, s := range tokenCases() {
		if !cmp.Equal(appendTokensRef(nil, s), appendTokensRef(nil, strings.ToUpper(s))) {
			caught = true
		}
	}
	if !caught {
		t.Errorf("no case tells a tokenizer that sees uppercased text from the reference")
	}
}

func FuzzAppendTokens(f *testing.F) {
	for _, s := range tokenCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if diff := cmp.Diff(appendTokensRef(nil, s), tokenizer{}.appendTokens(nil, s)); diff != "" {
			t.Errorf("appendTokens(%q) (-ref +got):\n%s", s, diff)
		}
	})
}

// BenchmarkTokenizeWorkload tokenizes the payload text of standard-workload
// requests with appendTokens and with the reference it replaced, so that
// both run in one binary; MB/s is bytes of text tokenized per second.
func BenchmarkTokenizeWorkload(b *testing.B) {
	batches, _, _ := workloadPool(b, 1, 8)
	var texts []string
	size := 0
	for _, bt := range batches {
		for i := range bt.Spans {
			forPayloadText(bt.Spans[i].Payload, func(s string) {
				texts = append(texts, s)
				size += len(s)
			})
		}
	}
	for _, bc := range []struct {
		name string
		fn   func([]uint64, string) []uint64
	}{{"fast", tokenizer{}.appendTokens}, {"ref", appendTokensRef}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var dst []uint64
			for b.Loop() {
				for _, s := range texts {
					dst = bc.fn(dst[:0], s)
				}
			}
		})
	}
}
