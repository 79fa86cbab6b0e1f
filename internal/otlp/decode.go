package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/loupehq/loupe"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Encoding is the wire encoding of an OTLP/HTTP body.
type Encoding int

// Encodings of OTLP/HTTP bodies (Content-Type application/x-protobuf and
// application/json).
const (
	Protobuf Encoding = iota
	JSON
)

// String returns the encoding's name.
func (e Encoding) String() string {
	switch e {
	case Protobuf:
		return "protobuf"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// DecodeTraces parses an uncompressed OTLP/HTTP traces body. Errors wrap
// loupe.ErrInvalid and name the problem.
//
// Protobuf bodies are decoded by hand (pbtrace.go) into the same messages
// proto.Unmarshal would produce, unknown fields discarded.
func DecodeTraces(body []byte, enc Encoding) (*coltracepb.ExportTraceServiceRequest, error) {
	if enc == Protobuf {
		return decodeTracesProtobuf(body)
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := unmarshal(body, enc, req); err != nil {
		return nil, err
	}
	if enc == JSON {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					s.TraceId = hexID(s.TraceId, 16)
					s.SpanId = hexID(s.SpanId, 8)
					s.ParentSpanId = hexID(s.ParentSpanId, 8)
					for _, l := range s.GetLinks() {
						l.TraceId = hexID(l.TraceId, 16)
						l.SpanId = hexID(l.SpanId, 8)
					}
				}
			}
		}
	}
	return req, nil
}

// DecodeLogs parses an uncompressed OTLP/HTTP logs body. Errors wrap
// loupe.ErrInvalid and name the problem.
func DecodeLogs(body []byte, enc Encoding) (*collogspb.ExportLogsServiceRequest, error) {
	req := &collogspb.ExportLogsServiceRequest{}
	if err := unmarshal(body, enc, req); err != nil {
		return nil, err
	}
	if enc == JSON {
		for _, rl := range req.GetResourceLogs() {
			for _, sl := range rl.GetScopeLogs() {
				for _, r := range sl.GetLogRecords() {
					r.TraceId = hexID(r.TraceId, 16)
					r.SpanId = hexID(r.SpanId, 8)
				}
			}
		}
	}
	return req, nil
}

func unmarshal(body []byte, enc Encoding, m proto.Message) error {
	// The OTLP spec requires receivers to ignore unknown fields.
	switch enc {
	case Protobuf:
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, m); err != nil {
			return fmt.Errorf("%w: protobuf: %v", loupe.ErrInvalid, trimProtoErr(err))
		}
	case JSON:
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, m); err != nil {
			return fmt.Errorf("%w: json: %v", loupe.ErrInvalid, trimProtoErr(err))
		}
	default:
		return fmt.Errorf("%w: unknown encoding %d", loupe.ErrInvalid, int(enc))
	}
	return nil
}

// trimProtoErr drops the "proto: " prefix the protobuf library puts on its
// messages; ours already says where the error comes from.
func trimProtoErr(err error) string {
	s := err.Error()
	for _, p := range []string{"proto: ", "proto:\u00a0"} {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

// hexID repairs an id decoded by protojson. OTLP/JSON carries trace and span
// ids as hex strings, not the base64 protojson assumes; hex digits are all
// base64 characters and 32 (16) of them decode to exactly 24 (12) bytes, so
// re-encoding those bytes as base64 recovers the hex text losslessly. Ids of
// any other size (for example a base64 id from a non-conforming exporter)
// are left alone for validation to judge.
func hexID(b []byte, size int) []byte {
	if len(b) != size*3/2 {
		return b
	}
	var buf [32]byte
	base64.StdEncoding.Encode(buf[:size*2], b)
	out := make([]byte, size)
	if _, err := hex.Decode(out, buf[:size*2]); err != nil {
		return b
	}
	return out
}
