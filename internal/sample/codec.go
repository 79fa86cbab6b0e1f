package sample

import (
	"errors"
	"fmt"
	"sync"
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

// appendRecord appends the record of spans and events, in the binary
// format (codec_bin.go), to dst. decodeRecord of the result gives back
// arrived's Unix nanoseconds and spans and events deep-equal (times in UTC).
func appendRecord(dst []byte, arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
	b, err := encodeBinary(dst, arrived, spans, events)
	if err != nil {
		return nil, fmt.Errorf("encode pending batch: %w", err)
	}
	return b, nil
}

// maxPooledRecord is the largest buffer recordBufs keeps for reuse; a
// standard-workload request (10 traces) encodes to about 190 KB.
const maxPooledRecord = 4 << 20

// recordBufs recycles the buffers records are encoded into, so a submit
// neither allocates its record nor grows it by copies. The zero value is
// ready to use.
type recordBufs struct {
	pool sync.Pool // of *[]byte
}

// encode returns the record of spans and events in a buffer that the
// caller hands back to release once nothing reads it any more.
func (p *recordBufs) encode(arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
	var dst []byte
	if b, ok := p.pool.Get().(*[]byte); ok {
		dst = (*b)[:0]
	}
	return appendRecord(dst, arrived, spans, events)
}

// release makes body, a result of encode, available to later encodes.
func (p *recordBufs) release(body []byte) {
	if body == nil || cap(body) > maxPooledRecord {
		return
	}
	p.pool.Put(&body)
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
