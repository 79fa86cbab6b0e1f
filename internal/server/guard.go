package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/query"
	"github.com/prometheus/client_golang/prometheus"
)

// guard wraps the reader every handler (API and UI) reads through, so the
// access rules hold whichever handler asks:
//
//   - reads are confined to the caller's project, whatever project the
//     handler passes;
//   - callers without CanReadPayloads get traces without payloads, and
//     searches or stats filtering on payload text (input/output/payload
//     contains) are refused, since matches would reveal payload contents;
//   - every trace with payloads returned to a key (debugger or admin) is
//     recorded in the audit log before it is returned; if the record
//     cannot be written, the read fails (503) rather than go unaudited.
type guard struct {
	inner loupe.TraceReader
	log   *slog.Logger
	audit *auth.Audit // nil: payload reads are counted, not logged
	reads *prometheus.CounterVec
	now   func() time.Time
}

// guardedSearcher is a guard over a reader that can also search.
type guardedSearcher struct {
	*guard
	s Searcher
}

// newGuard wraps reader; a nil reader stays nil (the API answers 501).
func newGuard(log *slog.Logger, opts Options, reader loupe.TraceReader) loupe.TraceReader {
	if reader == nil {
		return nil
	}
	g := &guard{inner: reader, log: log, audit: opts.Audit, now: time.Now,
		reads: register(opts.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_audit_payload_reads_total",
			Help: "Traces returned with payloads to an API key (debugger or admin), as recorded in the audit log, by role.",
		}, []string{"role"}))}
	if s, ok := reader.(Searcher); ok {
		return &guardedSearcher{guard: g, s: s}
	}
	return g
}

// Trace returns the trace id of the caller's project (ErrNotFound for
// another project's, without saying it exists).
func (g *guard) Trace(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error) {
	p := principalOf(ctx)
	if project != p.Project {
		return nil, fmt.Errorf("trace %s: %w", id, loupe.ErrNotFound)
	}
	tr, err := g.inner.Trace(ctx, p.Project, id)
	if err != nil {
		return nil, err
	}
	if !p.CanReadPayloads() {
		return withoutPayloads(tr), nil
	}
	if p.KeyID != "" && hasPayloads(tr) {
		if err := g.record(ctx, p, tr); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// record appends the audit entry of a payload read.
func (g *guard) record(ctx context.Context, p auth.Principal, tr *loupe.Trace) error {
	g.reads.WithLabelValues(string(p.Role)).Inc()
	if g.audit == nil {
		return nil
	}
	ri := requestInfoFrom(ctx)
	e := auth.AuditEntry{Time: g.now().UTC(), KeyID: p.KeyID, Project: p.Project, Role: p.Role,
		TraceID: tr.TraceID.String(), Endpoint: ri.endpoint, Remote: ri.remote}
	if err := g.audit.Append(e); err != nil {
		g.log.Error("audit log write failed, payload read refused", "err", err, "key_id", p.KeyID, "trace_id", e.TraceID)
		return fmt.Errorf("%w: audit log: %v", errUnavailable, err)
	}
	return nil
}

// SearchTraces searches the caller's project.
func (g *guardedSearcher) SearchTraces(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error) {
	p := principalOf(ctx)
	if err := checkFilter(p, q.Filter); err != nil {
		return nil, err
	}
	q.Project = p.Project
	return g.s.SearchTraces(ctx, q)
}

// Stats aggregates over the caller's project.
func (g *guardedSearcher) Stats(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error) {
	p := principalOf(ctx)
	if err := checkFilter(p, q.Filter); err != nil {
		return nil, err
	}
	q.Project = p.Project
	return g.s.Stats(ctx, q)
}

// checkFilter refuses full-text conditions to callers who may not read
// payloads.
func checkFilter(p auth.Principal, e query.Expr) error {
	if p.CanReadPayloads() {
		return nil
	}
	var text string
	query.Walk(e, func(x query.Expr) bool {
		if c, ok := x.(*query.Cmp); ok && c.Field.Scope == query.TextScope && text == "" {
			text = c.Field.Name
		}
		return text == ""
	})
	if text != "" {
		return fmt.Errorf("%w: role %s may not search payload text (%s contains ...)", errForbidden, p.Role, text)
	}
	return nil
}

func hasPayloads(tr *loupe.Trace) bool {
	for i := range tr.Spans {
		if !tr.Spans[i].Payload.IsZero() {
			return true
		}
	}
	return false
}

// withoutPayloads returns a copy of tr with every payload dropped; tr
// itself is left alone (a store may share it).
func withoutPayloads(tr *loupe.Trace) *loupe.Trace {
	c := *tr
	c.Spans = make([]loupe.Span, len(tr.Spans))
	copy(c.Spans, tr.Spans)
	for i := range c.Spans {
		c.Spans[i].Payload = nil
	}
	return &c
}

// Counters reads the exact counters of the caller's project; a store
// without counters answers errNoReader (501).
func (g *guard) Counters(ctx context.Context, q query.CountersRequest) (*loupe.Counters, error) {
	c, ok := g.inner.(Counterer)
	if !ok {
		return nil, fmt.Errorf("%w: this store keeps no counters", errNoReader)
	}
	q.Project = principalOf(ctx).Project
	return c.Counters(ctx, q)
}

// Hold holds a trace of the caller's project; a store without holds
// answers errNoHolder (501).
func (g *guard) Hold(ctx context.Context, _ string, id loupe.TraceID, reason string) error {
	h, ok := g.inner.(Holder)
	if !ok {
		return errNoHolder
	}
	return h.Hold(ctx, principalOf(ctx).Project, id, reason)
}

// Release releases a hold on a trace of the caller's project.
func (g *guard) Release(ctx context.Context, _ string, id loupe.TraceID, reason string) error {
	h, ok := g.inner.(Holder)
	if !ok {
		return errNoHolder
	}
	return h.Release(ctx, principalOf(ctx).Project, id, reason)
}

// TraceSummary summarizes a trace of the caller's project (no payloads).
func (g *guard) TraceSummary(ctx context.Context, _ string, id loupe.TraceID) (*loupe.TraceSummary, error) {
	return traceSummary(ctx, g.inner, principalOf(ctx).Project, id)
}

// TraceOutline outlines a trace of the caller's project (no payloads).
func (g *guard) TraceOutline(ctx context.Context, _ string, id loupe.TraceID) ([]loupe.SpanOutline, error) {
	return traceOutline(ctx, g.inner, principalOf(ctx).Project, id)
}

// TraceSpan reads one span of the caller's project under the same rules as
// Trace: no payload for callers who may not read payloads, and an audit
// record before a payload goes to a key.
func (g *guard) TraceSpan(ctx context.Context, _ string, id loupe.TraceID, sid loupe.SpanID) (*loupe.Span, error) {
	p := principalOf(ctx)
	sp, err := traceSpan(ctx, g.inner, p.Project, id, sid)
	if err != nil {
		return nil, err
	}
	if sp.Payload.IsZero() {
		return sp, nil
	}
	if !p.CanReadPayloads() {
		c := *sp
		c.Payload = nil
		return &c, nil
	}
	if p.KeyID != "" {
		if err := g.record(ctx, p, &loupe.Trace{Project: p.Project, TraceID: id}); err != nil {
			return nil, err
		}
	}
	return sp, nil
}
