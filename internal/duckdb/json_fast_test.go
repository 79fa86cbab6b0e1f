package duckdb

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loupehq/loupe"
)

// appendStringRef is appendString as it was before skipPlain (the tests
// check that the bytes stay the same). It appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendStringRef(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain bytes at a time: most payload text needs no escape.
		for i+8 <= len(s) && plain8Ref(load8Ref(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// load8Ref returns s[i:i+8] as a little-endian word.
func load8Ref(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plain8Ref reports whether all 8 bytes of x are ASCII that JSON takes as is:
// none is a control byte (< 0x20), '"', '\\' or non-ASCII (>= 0x80).
func plain8Ref(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := func(x uint64, n byte) uint64 { return (x - ones*uint64(n)) & ^x & highs } // some byte < n (bytes < 0x80)
	if x&highs != 0 {
		return false
	}
	return less(x, 0x20)|less(x^(ones*'"'), 1)|less(x^(ones*'\\'), 1) == 0
}

// stringCases are strings whose JSON appendString must write exactly as
// appendStringRef does: every escape at every position of an 8-byte word,
// non-ASCII and invalid UTF-8 at word boundaries, and lengths around 8.
func stringCases() []string {
	cases := []string{"", "plain", "\"\\\n\r\t\x00\x1f", "é€😀", "\xff\xfe", "\u2028<>&", "\x7f\x20\x21\x5b\x5d",
		"0123456789abcdef\"0123456789abcde\\0123456789abcd\x1f0123456789abcé0123456789ab\xff0123456789"}
	for _, c := range []string{"\"", "\\", "\n", "\x00", "\x1f", "\x7f", "\x80", "é", "\xc3", " "} {
		for pos := range 17 {
			cases = append(cases, strings.Repeat("a", pos)+c+strings.Repeat("b", 16-pos))
		}
	}
	for n := range 20 {
		cases = append(cases, strings.Repeat("x", n))
	}
	return cases
}

func TestAppendStringSameAsReference(t *testing.T) {
	for _, s := range stringCases() {
		if got, want := appendString([]byte("pre"), s), appendStringRef([]byte("pre"), s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	t.Run("workload", func(t *testing.T) {
		batches, _, _ := workloadPool(t, 3, 4)
		n := 0
		for _, b := range batches {
			for i := range b.Spans {
				forPayloadText(b.Spans[i].Payload, func(s string) {
					n++
					if got, want := appendString(nil, s), appendStringRef(nil, s); !bytes.Equal(got, want) {
						t.Errorf("appendString(%.60q) = %.80s, want %.80s", s, got, want)
					}
				})
			}
		}
		if n < 100 {
			t.Errorf("only %d payload texts: the workload should give hundreds", n)
		}
	})
}

// TestSkipPlain checks skipPlain against its definition byte by byte: every
// byte value at every position of a word, after plain bytes and before
// plain bytes or another stop (a borrow from a stop can flag the plain
// byte above it, which must not be taken for the first stop).
func TestSkipPlain(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' }
	stops := 0
	for c := range 256 {
		for pos := range 8 {
			for _, after := range []string{" ", "\x00", "a"} {
				s := strings.Repeat("a", pos) + string([]byte{byte(c)}) + after + strings.Repeat("a", 14-pos)
				want := 16
				if !plain(byte(c)) {
					want, stops = pos, stops+1
				} else if after == "\x00" {
					want = pos + 1
				}
				if got := skipPlain(s, 0); got != want {
					t.Errorf("skipPlain(%q, 0) = %d, want %d", s, got, want)
				}
			}
		}
	}
	if want := (256 - (0x80 - 0x20) + 2) * 8 * 3; stops != want { // 0x20..0x7f are plain but for '"' and '\\'
		t.Errorf("%d cases stop the skip, want %d", stops, want)
	}
	for _, tc := range []struct {
		s       string
		i, want int
	}{{"", 0, 0}, {"abc", 0, 0}, {"abcdefgh", 0, 8}, {"abcdefghi\"", 0, 8}, {"abcdefghijklmnop\"", 3, 11}, {"abcdefghijklm\"opqrstuvw", 3, 13}} {
		if got := skipPlain(tc.s, tc.i); got != tc.want {
			t.Errorf("skipPlain(%q, %d) = %d, want %d", tc.s, tc.i, got, tc.want)
		}
	}
}

// FuzzAppendStringSameAsReference checks that appendString writes the
// bytes appendStringRef writes, for any string.
func FuzzAppendStringSameAsReference(f *testing.F) {
	for _, s := range stringCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString(nil, s), appendStringRef(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkAppendStringWorkload writes the payload text of standard-
// workload requests as JSON strings with appendString and with the
// reference it replaced, in one binary; MB/s is bytes of text per second.
func BenchmarkAppendStringWorkload(b *testing.B) {
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
		fn   func([]byte, string) []byte
	}{{"fast", appendString}, {"ref", appendStringRef}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var dst []byte
			for b.Loop() {
				dst = dst[:0]
				for _, s := range texts {
					dst = bc.fn(dst, s)
				}
			}
		})
	}
}

// attrColsRef returns the resource and attributes columns of m as prepare
// wrote them before appendAttrs (keys sorted, then appendMapKeys of the
// resource.* run and of the rest; nil for none).
func attrColsRef(t *testing.T, m map[string]any) (res, attrs []byte) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(m))
	lo, _ := slices.BinarySearch(keys, resourcePrefix)
	hi := lo
	for hi < len(keys) && strings.HasPrefix(keys[hi], resourcePrefix) {
		hi++
	}
	var err error
	if hi > lo {
		if res, err = appendMapKeys(nil, m, keys[lo:hi]); err != nil {
			t.Fatal(err)
		}
	}
	if rest := append(keys[:lo:lo], keys[hi:]...); len(rest) > 0 {
		if attrs, err = appendMapKeys(nil, m, rest); err != nil {
			t.Fatal(err)
		}
	}
	return res, attrs
}

// TestPrepareAttrColumns checks the resource and attributes columns that
// prepare encodes against attrColsRef: workload spans, and maps with only
// resource keys, none, keys on both sides of the resource run and keys
// that sort right next to it.
func TestPrepareAttrColumns(t *testing.T) {
	batches, _, _ := workloadPool(t, 5, 2)
	spans := slices.Clone(batches[0].Spans)
	for i, m := range []map[string]any{
		{"resource.service.name": "a", "resource.host": "h"},
		{"a": int64(1), "z": 2.5, "b": []any{"x", true}},
		{"a": "1", "resource.x": "r", "resourcf": "after", "resource": "before", "resource.": "empty", "zz": map[string]any{"k": nil}},
		{"resource.only": "\"quoted\"\n"},
		{"resource.k": "v", "zeta": int64(-1), "s": "after the run only"},
	} {
		sp := testSpan(1, byte(100+i))
		sp.Project = loupe.DefaultProject
		sp.Attributes = m
		spans = append(spans, sp)
	}
	var pr preparer
	p, err := pr.prepare(loupe.Batch{Spans: spans})
	if err != nil {
		t.Fatal(err)
	}
	resources := 0
	for i := range spans {
		res, attrs := attrColsRef(t, spans[i].Attributes)
		if res != nil {
			resources++
		}
		if !bytes.Equal(p.cols[i].res, res) || !bytes.Equal(p.cols[i].attrs, attrs) {
			t.Errorf("span %d: resource %s, attributes %s; want %s, %s", i, p.cols[i].res, p.cols[i].attrs, res, attrs)
		}
	}
	if resources < 3 {
		t.Errorf("only %d spans with resource attributes: the cases need them", resources)
	}
}

// TestPreparePayloadRecords checks that the payload records prepare
// encodes (through jsonWriter.memo, which copies the JSON of a repeated
// long string) are the bytes appendPayload writes for each payload alone.
func TestPreparePayloadRecords(t *testing.T) {
	batches, _, _ := workloadPool(t, 6, 3)
	for bi, b := range batches {
		var pr preparer
		p, err := pr.prepare(b)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		k := 0
		for i := range b.Spans {
			sp := &b.Spans[i]
			if sp.Payload.IsZero() {
				continue
			}
			forPayloadText(sp.Payload, func(s string) {
				if len(s) >= memoMinBytes {
					seen[s]++
				}
			})
			want, err := appendPayload(nil, sp.Payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k >= len(p.records) {
				t.Fatalf("batch %d: %d records, want more", bi, len(p.records))
			}
			if got := p.records[k]; !bytes.Equal(got, want) {
				t.Errorf("batch %d span %d: record %.200s, want %.200s", bi, i, got, want)
			}
			k++
		}
		if k != len(p.records) {
			t.Errorf("batch %d: %d records, want %d", bi, len(p.records), k)
		}
		repeats := 0
		for _, n := range seen {
			repeats += n - 1
		}
		if repeats == 0 { // positive control: the memo's copies are exercised
			t.Errorf("batch %d: no long string repeats; the test needs some", bi)
		}
	}
}

func TestSortAttrs(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 12, 13, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var kvs []attr
			for i := range n {
				kvs = append(kvs, attr{k: fmt.Sprintf("k%d", (i*7919)%97), v: i})
			}
			want := slices.Sorted(func(yield func(string) bool) {
				for _, kv := range kvs {
					if !yield(kv.k) {
						return
					}
				}
			})
			sortAttrs(kvs)
			var got []string
			for _, kv := range kvs {
				got = append(got, kv.k)
				if kv.k != fmt.Sprintf("k%d", (kv.v.(int)*7919)%97) {
					t.Errorf("key %s lost its value %v", kv.k, kv.v)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("sorted keys %v, want %v", got, want)
			}
		})
	}
}
