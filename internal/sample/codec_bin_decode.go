package sample

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/loupehq/loupe"
)

// The decoder of the binary record format (codec_bin.go documents it).

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
