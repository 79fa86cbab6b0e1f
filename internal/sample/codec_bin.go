package sample

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/loupehq/loupe"
)

// The binary record format (formatBinary). Every record starts with a
// format byte: formatBinary, or '{' for a JSON record written by versions
// before it (decodeRecord reads both). After the format byte:
//
//	record   = varint(arrived unix ns) spans events
//	spans    = len(n) span*n            events = len(n) spanEvent*n
//
// with these primitives:
//
//	uvarint  unsigned LEB128 (encoding/binary.AppendUvarint)
//	varint   zigzag LEB128 (encoding/binary.AppendVarint)
//	float    8 bytes, IEEE 754 bits little endian (NaN payloads, ±Inf, -0 kept)
//	string   uvarint(byte length) bytes (any bytes: invalid UTF-8 is kept)
//	len(n)   uvarint 0 for a nil slice or map, else uvarint(n+1): nil and
//	         empty stay apart
//	time     varint(unix seconds) uvarint(nanoseconds 0..999999999), read
//	         back in UTC without a monotonic reading (the zero time
//	         round-trips)
//	traceID  16 bytes; spanID 8 bytes
//
// and these composites, fields in the order of their Go declaration:
//
//	span      = string(Project) traceID spanID spanID(Parent) string(Name)
//	            string(Kind) string(OTelKind) time(Start) time(End)
//	            string(Status) string(StatusMessage) string(ErrorType)
//	            string(Service) string(Environment) string(DeploymentID)
//	            string(Tenant) string(Route) string(SessionID) string(UserID)
//	            string(PromptName) string(PromptVersionID) string(ReleaseLabel)
//	            string(Provider) string(RequestModel) string(ResponseModel)
//	            params usage float(CostUSD) string(CostSource)
//	            string(FinishReason) string(ToolName) string(RetrievalIndex)
//	            varint(RetrievalCount) len(n) document*n map(Attributes)
//	            payload? string(Sample.Class) float(Sample.Weight)
//	            string(Sample.Rule) string(PayloadRemoved)
//	params    = uvarint(bit i set: pointer i not nil, in the order
//	            Temperature TopP TopK MaxTokens Seed FrequencyPenalty
//	            PresencePenalty Stream TimeoutMs) then the set ones' values
//	            (float, varint, or a byte 0/1 for Stream) in that order,
//	            len(n) string*n (StopSequences) string(ResponseFormat)
//	            string(ToolChoice)
//	usage     = varint(Input CacheRead CacheWrite Output Reasoning)
//	document  = string(ID) byte(0|1) [float(Score)] varint(Tokens)
//	payload?  = byte 0 (nil) | byte 1 payload
//	payload   = len(n) message*n (Input) len(n) message*n (Output)
//	            string(ToolArguments) string(ToolResult) string(Query)
//	            len(n) docText*n string(InputValue) string(OutputValue)
//	            len(n) event*n
//	message   = string(Role) string(Content) len(n) map*n (Parts)
//	            string(Name) len(n) toolCall*n string(ToolCallID)
//	            string(FinishReason)
//	toolCall  = string(ID) string(Name) string(Arguments)
//	docText   = string(ID) string(Content) string(Metadata)
//	event     = time string(Name) value(Body) map(Attributes)
//	spanEvent = string(Project) traceID spanID event
//	map       = len(n) (string(key) value)*n
//	value     = tag byte, then by tag:
//	            tagNil, tagFalse, tagTrue: nothing
//	            tagInt64: varint; tagFloat64: float; tagString: string
//	            tagList ([]any): len(n) value*n; tagMap (map[string]any): map
//	            tagJSON: string holding JSON, for a Go type outside these
//	            (never produced by internal/otlp); read back as the JSON
//	            records were (integers int64, other numbers float64)
//
// Every value the normalizer produces (string, bool, int64, float64, nil,
// []any, map[string]any) reads back with the same Go type and value,
// including nil versus empty slices and maps: decode(encode(x)) deep-equals
// x when x's times are UTC.

// formatBinary is the first byte of a binary record.
const formatBinary = 0x01

// Value tags.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt64
	tagFloat64
	tagString
	tagList
	tagMap
	tagJSON
)

// maxValueDepth bounds the nesting of values (lists and maps): deeper
// values are refused when encoding, and a corrupt record cannot exhaust the
// stack when decoding. OTLP values that protobuf decoding accepts (its
// recursion limit is 10,000 messages, two per level) stay below it.
const maxValueDepth = 10000

// Minimum encoded sizes, which bound how many elements a length can claim
// given the bytes left (so a corrupt length cannot make decoding allocate
// more than a small multiple of the record).
const (
	minSpanBytes      = 24 + 32 + 2*2 + 5 + 5 + 1 + 8 + 4 + 1 + 3 + 1 // strings, ids, times, params, usage, cost, ... sample, removed
	minSpanEventBytes = 1 + 24 + 2 + 1 + 1 + 1
	minMessageBytes   = 7
	minToolCallBytes  = 3
	minDocumentBytes  = 3
	minDocTextBytes   = 3
	minEventBytes     = 2 + 1 + 1 + 1
	minEntryBytes     = 2 // an empty key and a one-byte value
)

var errTruncated = errors.New("truncated")

// encodeBinary appends the binary record of (arrived, spans, events) to dst.
func encodeBinary(dst []byte, arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
	e := binEncoder{b: dst}
	e.b = append(e.b, formatBinary)
	e.b = binary.AppendVarint(e.b, arrived.UnixNano())
	e.length(len(spans), spans == nil)
	for i := range spans {
		e.span(&spans[i])
	}
	e.length(len(events), events == nil)
	for i := range events {
		ev := &events[i]
		e.str(ev.Project)
		e.b = append(e.b, ev.TraceID[:]...)
		e.b = append(e.b, ev.SpanID[:]...)
		e.event(&ev.Event)
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

type binEncoder struct {
	b   []byte
	err error
}

func (e *binEncoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *binEncoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *binEncoder) float(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *binEncoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *binEncoder) length(n int, isNil bool) {
	if isNil {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(n)+1)
}

func (e *binEncoder) time(t time.Time) {
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.b = binary.AppendUvarint(e.b, uint64(t.Nanosecond()))
}

func (e *binEncoder) span(s *loupe.Span) {
	e.str(s.Project)
	e.b = append(e.b, s.TraceID[:]...)
	e.b = append(e.b, s.SpanID[:]...)
	e.b = append(e.b, s.ParentSpanID[:]...)
	e.str(s.Name)
	e.str(string(s.Kind))
	e.str(s.OTelKind)
	e.time(s.Start)
	e.time(s.End)
	e.str(string(s.Status))
	e.str(s.StatusMessage)
	e.str(s.ErrorType)
	e.str(s.Service)
	e.str(s.Environment)
	e.str(s.DeploymentID)
	e.str(s.Tenant)
	e.str(s.Route)
	e.str(s.SessionID)
	e.str(s.UserID)
	e.str(s.PromptName)
	e.str(s.PromptVersionID)
	e.str(s.ReleaseLabel)
	e.str(s.Provider)
	e.str(s.RequestModel)
	e.str(s.ResponseModel)
	e.params(&s.Params)
	u := &s.Usage
	e.varint(u.Input)
	e.varint(u.CacheRead)
	e.varint(u.CacheWrite)
	e.varint(u.Output)
	e.varint(u.Reasoning)
	e.float(s.CostUSD)
	e.str(s.CostSource)
	e.str(s.FinishReason)
	e.str(s.ToolName)
	e.str(s.RetrievalIndex)
	e.varint(s.RetrievalCount)
	e.length(len(s.Documents), s.Documents == nil)
	for i := range s.Documents {
		d := &s.Documents[i]
		e.str(d.ID)
		if d.Score == nil {
			e.b = append(e.b, 0)
		} else {
			e.b = append(e.b, 1)
			e.float(*d.Score)
		}
		e.varint(d.Tokens)
	}
	e.attrs(s.Attributes, 0)
	if s.Payload == nil {
		e.b = append(e.b, 0)
	} else {
		e.b = append(e.b, 1)
		e.payload(s.Payload)
	}
	e.str(string(s.Sample.Class))
	e.float(s.Sample.Weight)
	e.str(s.Sample.Rule)
	e.str(s.PayloadRemoved)
}

// Params presence bits.
const (
	pTemperature = 1 << iota
	pTopP
	pTopK
	pMaxTokens
	pSeed
	pFrequencyPenalty
	pPresencePenalty
	pStream
	pTimeoutMs
)

func (e *binEncoder) params(p *loupe.Params) {
	var bits uint64
	for i, set := range [...]bool{p.Temperature != nil, p.TopP != nil, p.TopK != nil, p.MaxTokens != nil, p.Seed != nil,
		p.FrequencyPenalty != nil, p.PresencePenalty != nil, p.Stream != nil, p.TimeoutMs != nil} {
		if set {
			bits |= 1 << i
		}
	}
	e.uvarint(bits)
	if bits != 0 {
		e.optFloat(p.Temperature)
		e.optFloat(p.TopP)
		e.optFloat(p.TopK)
		if p.MaxTokens != nil {
			e.varint(*p.MaxTokens)
		}
		if p.Seed != nil {
			e.varint(*p.Seed)
		}
		e.optFloat(p.FrequencyPenalty)
		e.optFloat(p.PresencePenalty)
		if p.Stream != nil {
			e.b = append(e.b, boolByte(*p.Stream))
		}
		e.optFloat(p.TimeoutMs)
	}
	e.length(len(p.StopSequences), p.StopSequences == nil)
	for _, s := range p.StopSequences {
		e.str(s)
	}
	e.str(p.ResponseFormat)
	e.str(p.ToolChoice)
}

func (e *binEncoder) optFloat(f *float64) {
	if f != nil {
		e.float(*f)
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (e *binEncoder) payload(p *loupe.Payload) {
	e.messages(p.Input)
	e.messages(p.Output)
	e.str(p.ToolArguments)
	e.str(p.ToolResult)
	e.str(p.Query)
	e.length(len(p.Documents), p.Documents == nil)
	for i := range p.Documents {
		d := &p.Documents[i]
		e.str(d.ID)
		e.str(d.Content)
		e.str(d.Metadata)
	}
	e.str(p.InputValue)
	e.str(p.OutputValue)
	e.length(len(p.Events), p.Events == nil)
	for i := range p.Events {
		e.event(&p.Events[i])
	}
}

func (e *binEncoder) messages(ms []loupe.Message) {
	e.length(len(ms), ms == nil)
	for i := range ms {
		m := &ms[i]
		e.str(m.Role)
		e.str(m.Content)
		e.length(len(m.Parts), m.Parts == nil)
		for _, part := range m.Parts {
			e.attrs(part, 0)
		}
		e.str(m.Name)
		e.length(len(m.ToolCalls), m.ToolCalls == nil)
		for j := range m.ToolCalls {
			c := &m.ToolCalls[j]
			e.str(c.ID)
			e.str(c.Name)
			e.str(c.Arguments)
		}
		e.str(m.ToolCallID)
		e.str(m.FinishReason)
	}
}

func (e *binEncoder) event(ev *loupe.Event) {
	e.time(ev.Time)
	e.str(ev.Name)
	e.value(ev.Body, 0)
	e.attrs(ev.Attributes, 0)
}

func (e *binEncoder) attrs(m map[string]any, depth int) {
	e.length(len(m), m == nil)
	for k, v := range m {
		e.str(k)
		e.value(v, depth)
	}
}

func (e *binEncoder) value(v any, depth int) {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, tagNil)
	case string:
		e.b = append(e.b, tagString)
		e.str(v)
	case int64:
		e.b = append(e.b, tagInt64)
		e.varint(v)
	case float64:
		e.b = append(e.b, tagFloat64)
		e.float(v)
	case bool:
		e.b = append(e.b, tagFalse+boolByte(v))
	case []any:
		if depth >= maxValueDepth {
			e.fail(errors.New("values nested too deeply"))
			return
		}
		e.b = append(e.b, tagList)
		e.length(len(v), v == nil)
		for _, x := range v {
			e.value(x, depth+1)
		}
	case map[string]any:
		if depth >= maxValueDepth {
			e.fail(errors.New("values nested too deeply"))
			return
		}
		e.b = append(e.b, tagMap)
		e.attrs(v, depth+1)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			e.fail(fmt.Errorf("value of type %T: %w", v, err))
			return
		}
		e.b = append(e.b, tagJSON)
		e.b = binary.AppendUvarint(e.b, uint64(len(j)))
		e.b = append(e.b, j...)
	}
}

func (e *binEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}
