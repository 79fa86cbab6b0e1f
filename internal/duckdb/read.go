package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/segment"
)

// Queries of Trace. The two run in one transaction so that they see the
// same snapshot: a write commits spans and events together. Payloads are
// read from the segment log at the locations the span rows hold; they are
// durable before the rows commit, and immutable.
const (
	selectTraceSpans = `SELECT span_id, parent_span_id, name, kind, otel_kind, start_ns, end_ns,
	status, status_message, error_type, service, environment, deployment_id, tenant, route,
	session_id, user_id, prompt_name, prompt_version_id, release_label, provider, request_model,
	response_model, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
	reasoning_tokens, cost_usd, cost_source, finish_reason, tool_name, retrieval_index,
	retrieval_count, params, documents, attributes, payload_seg, payload_off, payload_idx, resource, resource_id,
	coalesce(sample_class, ''), coalesce(sample_weight, 1), coalesce(sample_rule, '')
FROM spans WHERE trace_hi = ? AND trace_lo = ? AND project = ? AND start_ns BETWEEN ? AND ?`

	// selectTraceBounds finds the time range of a trace's spans in its
	// summaries (about a twelfth of the span rows), so that the span query
	// reads only the row groups of that range (DuckDB's zone maps on
	// start_ns, which grows with arrival) instead of scanning every row for
	// a random trace id. Every Write appends the parts of the traces it
	// writes, so a trace without parts has no spans.
	selectTraceBounds = `SELECT min(start_ns), max(end_ns) FROM trace_parts
WHERE trace_hi = ? AND trace_lo = ? AND project = ?`

	// rowid breaks ties in arrival order.
	selectTraceEvents = `SELECT span_id, body FROM span_events
WHERE trace_hi = ? AND trace_lo = ? AND project = ? ORDER BY time_ns, rowid`
)

// Trace returns every span of the trace in project, ordered by start time
// then span id, with payloads decoded and separately-arrived events joined
// (see loupe.Span.AttachEvent). Events whose span is not stored are
// ignored. It returns an error wrapping loupe.ErrNotFound when the trace
// has no span, and loupe.ErrClosed after Close.
func (s *Store) Trace(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("read trace %s: %w", id, loupe.ErrClosed)
	}
	t, err := s.trace(ctx, project, id)
	if errors.Is(err, segment.ErrNoSegment) {
		// Retention removed a segment file after this read's snapshot was
		// taken (it repointed the rows first): a new snapshot sees where
		// the payloads are now, or that they were stripped.
		t, err = s.trace(ctx, project, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", id, err)
	}
	return t, nil
}

func (s *Store) trace(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error) {
	hi, lo := traceHalves(id)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // read-only: nothing to commit

	spans, refs, err := s.querySpans(ctx, tx, project, id, hi, lo)
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, loupe.ErrNotFound
	}
	index := make(map[int64]int, len(spans)) // span id -> first span with it
	for i := range spans {
		k := spanKey(spans[i].SpanID)
		if _, ok := index[k]; !ok {
			index[k] = i
		}
	}
	if err := s.readPayloads(spans, refs); err != nil {
		return nil, err
	}
	if err := queryEvents(ctx, tx, spans, index, project, hi, lo); err != nil {
		return nil, err
	}
	loupe.SortSpans(spans)
	return &loupe.Trace{Project: project, TraceID: id, Spans: spans}, nil
}

// spanRef is the payload location of spans[span].
type spanRef struct {
	span int
	ref  segment.Ref
}

func (s *Store) querySpans(ctx context.Context, tx *sql.Tx, project string, id loupe.TraceID, hi, lo int64) (spans []loupe.Span, refs []spanRef, err error) {
	var from, to sql.NullInt64
	if err := tx.QueryRowContext(ctx, selectTraceBounds, hi, lo, project).Scan(&from, &to); err != nil {
		return nil, nil, fmt.Errorf("query trace bounds: %w", err)
	}
	if !from.Valid {
		return nil, nil, nil
	}
	return s.scanSpans(ctx, tx, selectTraceSpans, project, id, hi, lo, project, from.Int64, to.Int64)
}

// scanSpans runs query (selectTraceSpans, possibly narrowed) with args and
// scans the spans of trace id it returns, with their payload locations.
func (s *Store) scanSpans(ctx context.Context, tx *sql.Tx, query, project string, id loupe.TraceID, args ...any) (spans []loupe.Span, refs []spanRef, err error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("query spans: %w", err)
	}
	defer rows.Close()
	var stored []spanResource // spans whose resource is stored once
	for rows.Next() {
		var (
			sp                  loupe.Span
			sid, parent         int64
			start, end          int64
			kind, status        string
			params, docs, attrs sql.NullString
			res                 sql.NullString
			rid                 sql.NullInt64
			pseg, poff, pidx    sql.NullInt64
			u                   = &sp.Usage
			sclass, srule       string
			sweight             float64
		)
		err := rows.Scan(&sid, &parent, &sp.Name, &kind, &sp.OTelKind, &start, &end,
			&status, &sp.StatusMessage, &sp.ErrorType, &sp.Service, &sp.Environment,
			&sp.DeploymentID, &sp.Tenant, &sp.Route, &sp.SessionID, &sp.UserID,
			&sp.PromptName, &sp.PromptVersionID, &sp.ReleaseLabel, &sp.Provider,
			&sp.RequestModel, &sp.ResponseModel, &u.Input, &u.CacheRead, &u.CacheWrite,
			&u.Output, &u.Reasoning, &sp.CostUSD, &sp.CostSource, &sp.FinishReason,
			&sp.ToolName, &sp.RetrievalIndex, &sp.RetrievalCount, &params, &docs, &attrs,
			&pseg, &poff, &pidx, &res, &rid, &sclass, &sweight, &srule)
		if err != nil {
			return nil, nil, fmt.Errorf("scan span: %w", err)
		}
		sp.Project = project
		sp.TraceID = id
		sp.SpanID = spanIDOf(sid)
		sp.ParentSpanID = spanIDOf(parent)
		sp.Kind = loupe.Kind(kind)
		sp.Status = loupe.Status(status)
		sp.Start = time.Unix(0, start).UTC()
		sp.End = time.Unix(0, end).UTC()
		sp.Sample = sampleOf(sclass, srule, sweight)
		if params.Valid {
			if err := decodeJSON(params.String, &sp.Params); err != nil {
				return nil, nil, fmt.Errorf("decode params of span %s: %w", sp.SpanID, err)
			}
		}
		if docs.Valid {
			if err := decodeJSON(docs.String, &sp.Documents); err != nil {
				return nil, nil, fmt.Errorf("decode documents of span %s: %w", sp.SpanID, err)
			}
		}
		if attrs.Valid {
			if sp.Attributes, err = decodeAttributes(attrs.String); err != nil {
				return nil, nil, fmt.Errorf("decode attributes of span %s: %w", sp.SpanID, err)
			}
		}
		if res.Valid {
			if err := addResource(&sp, res.String); err != nil {
				return nil, nil, err
			}
		} else if rid.Valid {
			stored = append(stored, spanResource{len(spans), rid.Int64})
		}
		if pseg.Valid && pseg.Int64 == 0 {
			sp.PayloadRemoved = loupe.PayloadRemovedRetention
		} else if pseg.Valid && poff.Valid && pidx.Valid {
			refs = append(refs, spanRef{len(spans), segment.Ref{
				Segment: uint32(pseg.Int64), Offset: uint64(poff.Int64), Index: uint32(pidx.Int64)}})
		}
		spans = append(spans, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read spans: %w", err)
	}
	if err := s.addStoredResources(ctx, tx, project, spans, stored); err != nil {
		return nil, nil, err
	}
	return spans, refs, nil
}

// addResource decodes a resource's JSON into sp's attributes.
func addResource(sp *loupe.Span, json string) error {
	r, err := decodeAttributes(json)
	if err != nil {
		return fmt.Errorf("decode resource of span %s: %w", sp.SpanID, err)
	}
	if sp.Attributes == nil {
		sp.Attributes = r
	} else {
		maps.Copy(sp.Attributes, r)
	}
	return nil
}

// readPayloads reads and decodes the payloads at refs into their spans.
func (s *Store) readPayloads(spans []loupe.Span, refs []spanRef) error {
	if len(refs) == 0 {
		return nil
	}
	// A ref into a segment that no longer exists is a payload whose
	// segment retention deleted (normally the row is marked stripped
	// first; see retention.go): the span reads back without it.
	kept := refs[:0:0]
	gone := map[uint32]bool{}
	for _, r := range refs {
		g, ok := gone[r.ref.Segment]
		if !ok {
			g = !s.seg.Has(r.ref.Segment)
			gone[r.ref.Segment] = g
		}
		if g {
			spans[r.span].PayloadRemoved = loupe.PayloadRemovedRetention
			continue
		}
		kept = append(kept, r)
	}
	refs = kept
	if len(refs) == 0 {
		return nil
	}
	locs := make([]segment.Ref, len(refs))
	for i := range refs {
		locs[i] = refs[i].ref
	}
	bodies, err := s.seg.Read(locs)
	if err != nil {
		return fmt.Errorf("read payloads: %w", err)
	}
	for i, body := range bodies {
		sp := &spans[refs[i].span]
		if sp.Payload, err = decodePayload(body); err != nil {
			return fmt.Errorf("decode payload of span %s: %w", sp.SpanID, err)
		}
	}
	return nil
}

func queryEvents(ctx context.Context, tx *sql.Tx, spans []loupe.Span, index map[int64]int, project string, hi, lo int64) error {
	rows, err := tx.QueryContext(ctx, selectTraceEvents, hi, lo, project)
	if err != nil {
		return fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sid  int64
			body string
		)
		if err := rows.Scan(&sid, &body); err != nil {
			return fmt.Errorf("scan event: %w", err)
		}
		i, ok := index[sid]
		if !ok {
			continue // the span never arrived
		}
		var e loupe.Event
		if err := decodeEvent(body, &e); err != nil {
			return fmt.Errorf("decode event of span %s: %w", spans[i].SpanID, err)
		}
		spans[i].AttachEvent(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}
