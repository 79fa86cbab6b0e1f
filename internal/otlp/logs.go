package otlp

import (
	"encoding/hex"
	"fmt"

	"github.com/loupehq/loupe"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// Logs turns log records that carry a trace id and span id into
// loupe.SpanEvent, joined to their span on read. Records without span
// context are rejected (counted, reason "log record has no trace/span id").
// Deprecated GenAI message events (gen_ai.user.message, ..., gen_ai.choice)
// get the canonical message body of loupe.Span.AttachEvent.
func (n *Normalizer) Logs(project string, req *collogspb.ExportLogsServiceRequest, dst []loupe.SpanEvent) ([]loupe.SpanEvent, Rejection) {
	if project == "" {
		project = loupe.DefaultProject
	}
	rej := rejector{what: "log record"}
	ordinal := 0
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			for _, r := range sl.GetLogRecords() {
				i := ordinal
				ordinal++
				label, reason := n.checkLog(r, i)
				if reason != "" {
					rej.add(label, reason)
					continue
				}
				dst = append(dst, n.logEvent(project, r))
			}
		}
	}
	return dst, rej.result()
}

func (n *Normalizer) checkLog(r *logspb.LogRecord, i int) (label, reason string) {
	tid, sid := r.GetTraceId(), r.GetSpanId()
	label = fmt.Sprintf("log record #%d", i)
	if len(tid) == 16 && len(sid) == 8 {
		label = "log record " + hex.EncodeToString(tid[:8]) + "/" + hex.EncodeToString(sid)
	}
	switch {
	case len(tid) == 0 || len(sid) == 0 || isZero(tid) || isZero(sid):
		return label, "log record has no trace/span id"
	case len(tid) != 16:
		return label, fmt.Sprintf("trace id must be 16 bytes, got %d", len(tid))
	case len(sid) != 8:
		return label, fmt.Sprintf("span id must be 8 bytes, got %d", len(sid))
	case tooLong(r.GetBody(), n.maxAttr):
		return label, fmt.Sprintf("body longer than %d bytes", n.maxAttr)
	}
	for _, kv := range r.GetAttributes() {
		if tooLong(kv.GetValue(), n.maxAttr) {
			return label, fmt.Sprintf("attribute %s longer than %d bytes", kv.GetKey(), n.maxAttr)
		}
	}
	return label, ""
}

func (n *Normalizer) logEvent(project string, r *logspb.LogRecord) loupe.SpanEvent {
	se := loupe.SpanEvent{Project: project}
	copy(se.TraceID[:], r.GetTraceId())
	copy(se.SpanID[:], r.GetSpanId())
	e := &se.Event
	ts := r.GetTimeUnixNano()
	if ts == 0 {
		ts = r.GetObservedTimeUnixNano()
	}
	if ts != 0 {
		e.Time = unixNano(ts)
	}
	e.Name = r.GetEventName()
	if len(r.GetAttributes()) > 0 {
		e.Attributes = make(map[string]any, len(r.GetAttributes())+2)
		for _, kv := range r.GetAttributes() {
			if kv.GetKey() == "event.name" && e.Name == "" {
				e.Name, _ = scalarString(scalar(kv.GetValue()))
				continue
			}
			e.Attributes[kv.GetKey()] = anyValue(kv.GetValue())
		}
	}
	if e.Name == "" {
		e.Name = "log"
	}
	if st := r.GetSeverityText(); st != "" || r.GetSeverityNumber() != 0 {
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, 2)
		}
		if st != "" {
			e.Attributes["log.severity_text"] = st
		}
		if sn := int64(r.GetSeverityNumber()); sn != 0 {
			e.Attributes["log.severity_number"] = sn
		}
	}
	if len(e.Attributes) == 0 {
		e.Attributes = nil
	}
	if m := eventMessage(e.Name, structured(r.GetBody())); m != nil {
		e.Body = m
	} else if r.GetBody() != nil {
		e.Body = anyValue(r.GetBody())
	}
	return se
}
