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

// decodeBinary decodes a record encodeBinary wrote (b[0] is formatBinary).
// It returns an error, never panics, on any input; it allocates at most a
// small multiple of len(b).
func decodeBinary(b []byte) (*record, error) {
	d := binDecoder{b: b, i: 1}
	r := &record{Arrived: d.varint()}
	if n, ok := d.length(minSpanBytes); ok {
		r.Spans = make([]loupe.Span, n)
		for i := range r.Spans {
			d.span(&r.Spans[i])
			if d.err != nil {
				break
			}
		}
	}
	if n, ok := d.length(minSpanEventBytes); ok {
		r.Events = make([]loupe.SpanEvent, n)
		for i := range r.Events {
			ev := &r.Events[i]
			ev.Project = d.str()
			d.bytes(ev.TraceID[:])
			d.bytes(ev.SpanID[:])
			d.event(&ev.Event)
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && d.i != len(d.b) {
		d.fail(fmt.Errorf("%d bytes after the record", len(d.b)-d.i))
	}
	if d.err != nil {
		return nil, fmt.Errorf("at byte %d: %w", d.errAt, d.err)
	}
	return r, nil
}

// binDecoder reads b from i. The first error sticks: every read after it
// returns a zero value, and lengths read as nil.
type binDecoder struct {
	b     []byte
	i     int
	err   error
	errAt int // offset of the first error
}

func (d *binDecoder) fail(err error) {
	if d.err == nil {
		d.err, d.errAt = err, d.i
	}
	d.i = len(d.b) // stop every further read
}

func (d *binDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		if d.err == nil {
			d.fail(errors.New("bad uvarint"))
		}
		return 0
	}
	d.i += n
	return v
}

func (d *binDecoder) varint() int64 {
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		if d.err == nil {
			d.fail(errors.New("bad varint"))
		}
		return 0
	}
	d.i += n
	return v
}

func (d *binDecoder) byte() byte {
	if d.i >= len(d.b) {
		d.fail(errTruncated)
		return 0
	}
	c := d.b[d.i]
	d.i++
	return c
}

func (d *binDecoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("bad bool"))
	return false
}

func (d *binDecoder) float() float64 {
	if len(d.b)-d.i < 8 {
		d.fail(errTruncated)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.i:]))
	d.i += 8
	return v
}

func (d *binDecoder) bytes(dst []byte) {
	if len(d.b)-d.i < len(dst) {
		d.fail(errTruncated)
		return
	}
	d.i += copy(dst, d.b[d.i:])
}

func (d *binDecoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.i) {
		d.fail(errTruncated)
		return nil
	}
	s := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *binDecoder) str() string {
	s := d.raw()
	if len(s) == 0 {
		return ""
	}
	return string(s)
}

// length reads a len(n): ok is false for nil (or after an error). n is
// checked against the bytes left, at least minSize per element.
func (d *binDecoder) length(minSize int) (n int, ok bool) {
	v := d.uvarint()
	if v == 0 {
		return 0, false
	}
	v--
	if v > uint64((len(d.b)-d.i)/minSize) {
		d.fail(fmt.Errorf("length %d exceeds the record", v))
		return 0, false
	}
	return int(v), true
}

func (d *binDecoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec > 999_999_999 {
		d.fail(errors.New("bad nanoseconds"))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *binDecoder) span(s *loupe.Span) {
	s.Project = d.str()
	d.bytes(s.TraceID[:])
	d.bytes(s.SpanID[:])
	d.bytes(s.ParentSpanID[:])
	s.Name = d.str()
	s.Kind = loupe.Kind(d.str())
	s.OTelKind = d.str()
	s.Start = d.time()
	s.End = d.time()
	s.Status = loupe.Status(d.str())
	s.StatusMessage = d.str()
	s.ErrorType = d.str()
	s.Service = d.str()
	s.Environment = d.str()
	s.DeploymentID = d.str()
	s.Tenant = d.str()
	s.Route = d.str()
	s.SessionID = d.str()
	s.UserID = d.str()
	s.PromptName = d.str()
	s.PromptVersionID = d.str()
	s.ReleaseLabel = d.str()
	s.Provider = d.str()
	s.RequestModel = d.str()
	s.ResponseModel = d.str()
	d.params(&s.Params)
	u := &s.Usage
	u.Input = d.varint()
	u.CacheRead = d.varint()
	u.CacheWrite = d.varint()
	u.Output = d.varint()
	u.Reasoning = d.varint()
	s.CostUSD = d.float()
	s.CostSource = d.str()
	s.FinishReason = d.str()
	s.ToolName = d.str()
	s.RetrievalIndex = d.str()
	s.RetrievalCount = d.varint()
	if n, ok := d.length(minDocumentBytes); ok {
		s.Documents = make([]loupe.Document, n)
		for i := range s.Documents {
			doc := &s.Documents[i]
			doc.ID = d.str()
			if d.bool() {
				doc.Score = new(d.float())
			}
			doc.Tokens = d.varint()
		}
	}
	s.Attributes = d.attrs(0)
	if d.bool() {
		s.Payload = &loupe.Payload{}
		d.payload(s.Payload)
	}
	s.Sample.Class = loupe.SampleClass(d.str())
	s.Sample.Weight = d.float()
	s.Sample.Rule = d.str()
	s.PayloadRemoved = d.str()
}

func (d *binDecoder) params(p *loupe.Params) {
	bits := d.uvarint()
	if bits >= 1<<9 {
		d.fail(errors.New("bad params bits"))
		return
	}
	if bits != 0 {
		p.Temperature = d.optFloat(bits&pTemperature != 0)
		p.TopP = d.optFloat(bits&pTopP != 0)
		p.TopK = d.optFloat(bits&pTopK != 0)
		if bits&pMaxTokens != 0 {
			p.MaxTokens = new(d.varint())
		}
		if bits&pSeed != 0 {
			p.Seed = new(d.varint())
		}
		p.FrequencyPenalty = d.optFloat(bits&pFrequencyPenalty != 0)
		p.PresencePenalty = d.optFloat(bits&pPresencePenalty != 0)
		if bits&pStream != 0 {
			p.Stream = new(d.bool())
		}
		p.TimeoutMs = d.optFloat(bits&pTimeoutMs != 0)
	}
	if n, ok := d.length(1); ok {
		p.StopSequences = make([]string, n)
		for i := range p.StopSequences {
			p.StopSequences[i] = d.str()
		}
	}
	p.ResponseFormat = d.str()
	p.ToolChoice = d.str()
}

func (d *binDecoder) optFloat(set bool) *float64 {
	if !set {
		return nil
	}
	return new(d.float())
}

func (d *binDecoder) payload(p *loupe.Payload) {
	p.Input = d.messages()
	p.Output = d.messages()
	p.ToolArguments = d.str()
	p.ToolResult = d.str()
	p.Query = d.str()
	if n, ok := d.length(minDocTextBytes); ok {
		p.Documents = make([]loupe.DocumentText, n)
		for i := range p.Documents {
			doc := &p.Documents[i]
			doc.ID = d.str()
			doc.Content = d.str()
			doc.Metadata = d.str()
		}
	}
	p.InputValue = d.str()
	p.OutputValue = d.str()
	if n, ok := d.length(minEventBytes); ok {
		p.Events = make([]loupe.Event, n)
		for i := range p.Events {
			d.event(&p.Events[i])
		}
	}
}

func (d *binDecoder) messages() []loupe.Message {
	n, ok := d.length(minMessageBytes)
	if !ok {
		return nil
	}
	ms := make([]loupe.Message, n)
	for i := range ms {
		m := &ms[i]
		m.Role = d.str()
		m.Content = d.str()
		if n, ok := d.length(1); ok {
			m.Parts = make([]map[string]any, n)
			for j := range m.Parts {
				m.Parts[j] = d.attrs(0)
			}
		}
		m.Name = d.str()
		if n, ok := d.length(minToolCallBytes); ok {
			m.ToolCalls = make([]loupe.ToolCall, n)
			for j := range m.ToolCalls {
				c := &m.ToolCalls[j]
				c.ID = d.str()
				c.Name = d.str()
				c.Arguments = d.str()
			}
		}
		m.ToolCallID = d.str()
		m.FinishReason = d.str()
		if d.err != nil {
			break
		}
	}
	return ms
}

func (d *binDecoder) event(ev *loupe.Event) {
	ev.Time = d.time()
	ev.Name = d.str()
	ev.Body = d.value(0)
	ev.Attributes = d.attrs(0)
}

func (d *binDecoder) attrs(depth int) map[string]any {
	n, ok := d.length(minEntryBytes)
	if !ok {
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		k := d.str()
		v := d.value(depth)
		if d.err != nil {
			break
		}
		m[k] = v
	}
	if d.err == nil && len(m) != n {
		d.fail(errors.New("duplicate map key"))
	}
	return m
}

func (d *binDecoder) value(depth int) any {
	switch tag := d.byte(); tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt64:
		return d.varint()
	case tagFloat64:
		return d.float()
	case tagString:
		return d.str()
	case tagList:
		if depth >= maxValueDepth {
			d.fail(errors.New("values nested too deeply"))
			return nil
		}
		n, ok := d.length(1)
		if !ok {
			return []any(nil)
		}
		l := make([]any, n)
		for i := range l {
			l[i] = d.value(depth + 1)
			if d.err != nil {
				break
			}
		}
		return l
	case tagMap:
		if depth >= maxValueDepth {
			d.fail(errors.New("values nested too deeply"))
			return nil
		}
		return d.attrs(depth + 1)
	case tagJSON:
		j := d.raw()
		if d.err != nil {
			return nil
		}
		v, err := decodeJSONValue(j)
		if err != nil {
			d.fail(err)
			return nil
		}
		return v
	default:
		if d.err == nil {
			d.fail(fmt.Errorf("bad value tag %d", tag))
		}
		return nil
	}
}
