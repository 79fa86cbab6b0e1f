package duckdb

import (
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// lowerASCII maps a byte to itself lowercased if it is an ASCII letter or
// digit, to 0 if it is another ASCII byte (a word separator) and to 0x80
// if it is not ASCII (a rune to decode). TestLowerASCII checks it.
const lowerASCII = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x00\x00\x00\x00\x00\x00" +
	"\x00\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f" +
	"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x00\x00\x00\x00\x00" +
	"\x00\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f" +
	"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x00\x00\x00\x00\x00" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80" +
	"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80"

// appendTokens appends the hashes of the words of s to dst (see the
// overview in fulltext.go). It computes what wordHasher and isStopword do,
// with the hasher's state in locals and ASCII classified by one table
// load, since it runs over every byte of payload text.
func (tokenizer) appendTokens(dst []uint64, s string) []uint64 {
	var (
		h, acc uint64
		k, n   uint // bytes in acc, bytes in the word
	)
	for i := 0; i < len(s); {
		c := lowerASCII[s[i]]
		if c-1 < utf8.RuneSelf-1 { // 1..0x7f: a letter or digit
			i++
			acc |= uint64(c) << (8 * k & 63)
			n++
			if k++; k == 8 {
				h = bits.RotateLeft64((h^acc)*hashK1, 29) * hashK2
				acc, k = 0, 0
			}
			continue
		}
		if c == 0 { // ASCII separator
			i++
			if n > 0 {
				dst = appendWord(dst, h, acc, n)
				h, acc, k, n = 0, 0, 0, 0
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if n > 0 {
				dst = appendWord(dst, h, acc, n)
				h, acc, k, n = 0, 0, 0, 0
			}
			continue
		}
		var buf [utf8.UTFMax]byte
		for _, c := range utf8.AppendRune(buf[:0], unicode.ToLower(r)) {
			acc |= uint64(c) << (8 * k & 63)
			n++
			if k++; k == 8 {
				h = bits.RotateLeft64((h^acc)*hashK1, 29) * hashK2
				acc, k = 0, 0
			}
		}
	}
	if n > 0 {
		dst = appendWord(dst, h, acc, n)
	}
	return dst
}

// appendWord appends the token of the word whose wordHasher state is h,
// acc and n, unless the word is too short, too long or a stopword.
func appendWord(dst []uint64, h, acc uint64, n uint) []uint64 {
	if n < minTokenLen || n > maxTokenLen || n <= 4 && isStopwordAcc(acc) {
		return dst
	}
	w := wordHasher{h: h, acc: acc, n: int(n)}
	return append(dst, w.sum())
}

// isStopwordAcc is isStopword of a word of at most 4 bytes packed little-
// endian into acc (as wordHasher packs it; its bytes are never 0, so the
// packing of different words differs).
func isStopwordAcc(acc uint64) bool {
	const (
		b1 = 1 << 8
		b2 = 1 << 16
		b3 = 1 << 24
	)
	switch acc {
	case 't' + 'h'*b1 + 'e'*b2, 'a' + 'n'*b1 + 'd'*b2, 'o' + 'f'*b1, 't' + 'o'*b1, 'i' + 'n'*b1,
		'i' + 's'*b1, 'i' + 't'*b1, 'o' + 'n'*b1, 'f' + 'o'*b1 + 'r'*b2, 'o' + 'r'*b1,
		'a' + 'n'*b1, 'b' + 'e'*b1, 'a' + 't'*b1, 'a' + 's'*b1, 'b' + 'y'*b1,
		'i' + 'f'*b1, 'n' + 'o'*b1, 'n' + 'o'*b1 + 't'*b2, 'w' + 'i'*b1 + 't'*b2 + 'h'*b3,
		't' + 'h'*b1 + 'i'*b2 + 's'*b3, 't' + 'h'*b1 + 'a'*b2 + 't'*b3, 'a' + 'r'*b1 + 'e'*b2,
		'w' + 'a'*b1 + 's'*b2, 'y' + 'o'*b1 + 'u'*b2, 'y' + 'o'*b1 + 'u'*b2 + 'r'*b3,
		'f' + 'r'*b1 + 'o'*b2 + 'm'*b3:
		return true
	}
	return false
}
