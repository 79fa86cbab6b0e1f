package duckdb

import (
	"bytes"
	"errors"
	"testing"
)

func TestOpenPostings(t *testing.T) {
	enc, err := newPostingsEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := newPostingsDecoder()
	if err != nil {
		t.Fatal(err)
	}
	raw := append([]byte{ftsFormat}, bytes.Repeat([]byte{0, 1, 2, 3, 0, 0, 7}, 500)...)
	stored := compressPostings(enc, nil, raw)
	if len(stored) >= len(raw)/4 {
		t.Errorf("compressed %d bytes to %d, want under a quarter", len(raw), len(stored))
	}
	notRaw := compressPostings(enc, nil, []byte{9, 9, 9})
	tests := []struct {
		name    string
		blob    []byte
		want    []byte
		wantErr bool
	}{
		{"Compressed", stored, raw, false},
		{"Format1", raw, raw, false},
		{"Empty", nil, nil, true},
		{"UnknownFormat", []byte{7, 1, 2}, nil, true},
		{"CorruptFrame", []byte{ftsFormatZstd, 1, 2, 3}, nil, true},
		{"CompressedNotFormat1", notRaw, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := openPostings(dec, tt.blob, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("openPostings error = %v, want error %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("openPostings = %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
	if _, err := openPostings(dec, []byte{7}, nil); !errors.Is(err, errPostingsFormat) {
		t.Errorf("unknown format error = %v, want errPostingsFormat", err)
	}
}

func FuzzOpenPostings(f *testing.F) {
	enc, err := newPostingsEncoder()
	if err != nil {
		f.Fatal(err)
	}
	dec, err := newPostingsDecoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{ftsFormat, 0})
	f.Add(compressPostings(enc, nil, []byte{ftsFormat, 1, 2, 3}))
	f.Add([]byte{ftsFormatZstd, 0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, blob []byte) {
		raw, err := openPostings(dec, blob, nil)
		if err != nil {
			return
		}
		if len(raw) == 0 || raw[0] != ftsFormat {
			t.Fatalf("openPostings returned %d bytes not in format 1", len(raw))
		}
		// Whatever it returned, reading a word from it must not panic.
		postingsOf(raw, 42)
	})
}

// rawPostings returns the format-1 form of a stored postings row.
func rawPostings(tb testing.TB, blob []byte) []byte {
	tb.Helper()
	dec, err := newPostingsDecoder()
	if err != nil {
		tb.Fatal(err)
	}
	defer dec.Close()
	raw, err := openPostings(dec, blob, nil)
	if err != nil {
		tb.Fatalf("open postings row: %v", err)
	}
	return raw
}
