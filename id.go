package loupe

import (
	"encoding/hex"
	"fmt"
)

// TraceID is a 16-byte W3C trace id. The zero value is invalid.
type TraceID [16]byte

// SpanID is an 8-byte W3C span id. The zero value means "none" (no parent).
type SpanID [8]byte

// ParseTraceID parses 32 hex characters.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if len(s) != 32 {
		return TraceID{}, fmt.Errorf("%w: trace id %q: want 32 hex characters", ErrInvalid, clip(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return TraceID{}, fmt.Errorf("%w: trace id %q: not hex", ErrInvalid, clip(s))
	}
	if id.IsZero() {
		return id, fmt.Errorf("%w: trace id is all zeros", ErrInvalid)
	}
	return id, nil
}

// ParseSpanID parses 16 hex characters.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 {
		return SpanID{}, fmt.Errorf("%w: span id %q: want 16 hex characters", ErrInvalid, clip(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return SpanID{}, fmt.Errorf("%w: span id %q: not hex", ErrInvalid, clip(s))
	}
	return id, nil
}

// String returns the id as 32 lowercase hex characters.
func (id TraceID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether the id is all zeros (invalid).
func (id TraceID) IsZero() bool { return id == TraceID{} }

// MarshalText encodes the id as hex.
func (id TraceID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex id.
func (id *TraceID) UnmarshalText(b []byte) error {
	v, err := ParseTraceID(string(b))
	*id = v
	return err
}

// String returns the id as 16 lowercase hex characters, or "" for the zero id.
func (id SpanID) String() string {
	if id.IsZero() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

// IsZero reports whether the id is all zeros ("no span").
func (id SpanID) IsZero() bool { return id == SpanID{} }

// MarshalText encodes the id as hex ("" for zero).
func (id SpanID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex id; "" is the zero id.
func (id *SpanID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = SpanID{}
		return nil
	}
	v, err := ParseSpanID(string(b))
	*id = v
	return err
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
