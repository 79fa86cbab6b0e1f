package sample

import (
	"errors"
	"fmt"
	"time"

	"github.com/loupehq/loupe"
)

// record is the body of one pending-log record: an acknowledged batch and
// when it arrived.
type record struct {
	// Arrived is the arrival time in Unix nanoseconds; the grace and
	// timeout clocks of a replayed trace run from it.
	Arrived int64             `json:"t"`
	Spans   []loupe.Span      `json:"s,omitempty"`
	Events  []loupe.SpanEvent `json:"e,omitempty"`
}

// encodeRecord encodes spans and events in the binary record format
// (codec_bin.go). decodeRecord(encodeRecord(t, s, e)) gives back t's Unix
// nanoseconds and s and e deep-equal (times in UTC).
func encodeRecord(arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
	b, err := encodeBinary(nil, arrived, spans, events)
	if err != nil {
		return nil, fmt.Errorf("encode pending batch: %w", err)
	}
	return b, nil
}

// decodeRecord decodes a record of either format: binary (the current
// one) or JSON (written before it, still read so that a log survives an
// upgrade).
func decodeRecord(body []byte) (*record, error) {
	var (
		r   *record
		err error
	)
	switch {
	case len(body) == 0:
		err = errors.New("empty record")
	case body[0] == formatBinary:
		r, err = decodeBinary(body)
	case body[0] == '{':
		r, err = decodeJSONRecord(body)
	default:
		err = fmt.Errorf("unknown record format 0x%02x", body[0])
	}
	if err != nil {
		return nil, fmt.Errorf("decode pending batch: %w", err)
	}
	return r, nil
}
