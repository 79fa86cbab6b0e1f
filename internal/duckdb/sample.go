package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/loupehq/loupe"
)

// Tail-sampling side of the store (migrations/0005_sampling.sql): the
// sampling verdict on every span row and trace part, the sampler's
// decisions and the exact pre-sampling counters, all written in the same
// transaction as the spans of the batch.

// checkSampling validates the sampling parts of batches: the spans' sample
// classes and weights, the decisions and the counts. It returns an error
// wrapping loupe.ErrInvalid naming the first bad one.
func checkSampling(batches []loupe.Batch) error {
	for i := range batches {
		b := &batches[i]
		for j := range b.Spans {
			sp := &b.Spans[j]
			if err := checkSample(sp.Sample); err != nil {
				return fmt.Errorf("span %s: %w", sp.SpanID, err)
			}
		}
		for j := range b.Decisions {
			d := &b.Decisions[j]
			if d.TraceID.IsZero() {
				return fmt.Errorf("%w: decision with an empty trace id", loupe.ErrInvalid)
			}
			if d.Sample.Class == loupe.SampleAll {
				return fmt.Errorf("%w: decision on trace %s has no class", loupe.ErrInvalid, d.TraceID)
			}
			if err := checkSample(d.Sample); err != nil {
				return fmt.Errorf("decision on trace %s: %w", d.TraceID, err)
			}
		}
		for j := range b.Counts {
			c := &b.Counts[j]
			if c.Minute.IsZero() {
				return fmt.Errorf("%w: count without a minute", loupe.ErrInvalid)
			}
			if c.Requests < 0 || c.Errors < 0 || c.InputTokens < 0 || c.CacheReadTokens < 0 ||
				c.CacheWriteTokens < 0 || c.OutputTokens < 0 || c.ReasoningTokens < 0 {
				return fmt.Errorf("%w: count of minute %s is negative", loupe.ErrInvalid, c.Minute.UTC().Format(time.RFC3339))
			}
			if math.IsNaN(c.CostUSD) || math.IsInf(c.CostUSD, 0) {
				return fmt.Errorf("%w: count of minute %s has cost %v", loupe.ErrInvalid, c.Minute.UTC().Format(time.RFC3339), c.CostUSD)
			}
		}
	}
	return nil
}

// checkSample validates a verdict's class and weight.
func checkSample(s loupe.Sample) error {
	switch s.Class {
	case loupe.SampleAll, loupe.SampleFull, loupe.SampleMetadata, loupe.SampleDropped:
	default:
		return fmt.Errorf("%w: unknown sample class %q", loupe.ErrInvalid, s.Class)
	}
	if math.IsNaN(s.Weight) || math.IsInf(s.Weight, 0) || s.Weight < 0 || (s.Weight > 0 && s.Weight < 1) {
		return fmt.Errorf("%w: sample weight %v is not 0 or at least 1", loupe.ErrInvalid, s.Weight)
	}
	return nil
}

// applySampleClasses returns batches as the store keeps them: without the
// spans of dropped traces (loupe.SampleDropped: nothing but the decision
// and counts is kept, so a late span of a dropped trace is not stored) and
// without the payloads of metadata-only spans (a metadata-only trace stores
// no payload bytes, whatever its producer sent). It copies only the span
// slices it changes: the caller's batches are never modified.
func applySampleClasses(batches []loupe.Batch) []loupe.Batch {
	var out []loupe.Batch
	for i := range batches {
		spans := batches[i].Spans
		change := false
		for j := range spans {
			c := spans[j].Sample.Class
			if c == loupe.SampleDropped || (c == loupe.SampleMetadata && spans[j].Payload != nil) {
				change = true
				break
			}
		}
		if !change {
			continue
		}
		if out == nil {
			out = append([]loupe.Batch(nil), batches...)
		}
		kept := make([]loupe.Span, 0, len(spans))
		for _, sp := range spans {
			switch sp.Sample.Class {
			case loupe.SampleDropped:
				continue
			case loupe.SampleMetadata:
				sp.Payload = nil
			}
			kept = append(kept, sp)
		}
		out[i].Spans = kept
	}
	if out == nil {
		return batches
	}
	return out
}

// sampleWeight is the weight stored for s: 1 when unset.
func sampleWeight(s loupe.Sample) float64 {
	if s.Weight == 0 {
		return 1
	}
	return s.Weight
}

// sampleOf rebuilds a span's Sample from its columns: sampling off reads
// back as the zero Sample.
func sampleOf(class, rule string, weight float64) loupe.Sample {
	if class == "" && rule == "" && weight == 1 {
		return loupe.Sample{}
	}
	return loupe.Sample{Class: loupe.SampleClass(class), Weight: weight, Rule: rule}
}

// appendSampling appends the decisions and counts of batches on conn
// (inside the write transaction, like appendSearchRows).
func appendSampling(conn driver.Conn, batches []loupe.Batch) error {
	nd, nc := 0, 0
	for i := range batches {
		nd += len(batches[i].Decisions)
		nc += len(batches[i].Counts)
	}
	if nd > 0 {
		err := appendRows(conn, "sample_decisions", func(a *duckdb.Appender) error {
			for i := range batches {
				for _, d := range batches[i].Decisions {
					hi, lo := traceHalves(d.TraceID)
					if err := a.AppendRow(text(d.Project), hi, lo, string(d.Sample.Class),
						text(d.Sample.Rule), sampleWeight(d.Sample), unixNanos(d.Decided)); err != nil {
						return fmt.Errorf("append decision on trace %s: %w", d.TraceID, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if nc > 0 {
		return appendRows(conn, "counters", func(a *duckdb.Appender) error {
			for i := range batches {
				for _, c := range batches[i].Counts {
					err := a.AppendRow(text(c.Project), c.Minute.Truncate(time.Minute).UnixNano(),
						text(c.PromptVersionID), text(c.Model), text(c.Tenant), text(c.Route), text(c.Environment),
						c.Requests, c.Errors, c.InputTokens, c.CacheReadTokens, c.CacheWriteTokens,
						c.OutputTokens, c.ReasoningTokens, c.CostUSD)
					if err != nil {
						return fmt.Errorf("append count: %w", err)
					}
				}
			}
			return nil
		})
	}
	return nil
}

// appendRows runs fill with an appender on table and flushes it; on error
// the appended rows are discarded.
func appendRows(conn driver.Conn, table string, fill func(*duckdb.Appender) error) (err error) {
	a, err := duckdb.NewAppenderFromConn(conn, "", table)
	if err != nil {
		return fmt.Errorf("create %s appender: %w", table, err)
	}
	defer func() {
		if err != nil {
			a.Clear()
		}
		if cerr := a.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("flush %s: %w", table, cerr)
		}
	}()
	return fill(a)
}

// decisionsChunk bounds the trace ids of one lookup query.
const decisionsChunk = 1000

// Decisions returns the recorded sampling decisions on the traces ids of
// project, by trace id; traces without a decision are absent from the map.
// When a trace was decided more than once (a sampler that crashed between
// writing and forgetting), the earliest decision is returned. It returns
// loupe.ErrClosed after Close.
func (s *Store) Decisions(ctx context.Context, project string, ids []loupe.TraceID) (map[loupe.TraceID]loupe.Decision, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("read decisions: %w", loupe.ErrClosed)
	}
	out := make(map[loupe.TraceID]loupe.Decision)
	for len(ids) > 0 {
		n := min(len(ids), decisionsChunk)
		if err := s.decisions(ctx, project, ids[:n], out); err != nil {
			return nil, fmt.Errorf("read decisions: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

func (s *Store) decisions(ctx context.Context, project string, ids []loupe.TraceID, out map[loupe.TraceID]loupe.Decision) error {
	want := make(map[[2]int64]loupe.TraceID, len(ids))
	args := make([]any, 0, len(ids)+1)
	args = append(args, project)
	for _, id := range ids {
		hi, lo := traceHalves(id)
		if _, ok := want[[2]int64{hi, lo}]; !ok {
			args = append(args, hi)
		}
		want[[2]int64{hi, lo}] = id
	}
	q := `SELECT trace_hi, trace_lo, class, rule, weight, decided_ns FROM sample_decisions
WHERE project = ? AND trace_hi IN (?` + strings.Repeat(", ?", len(args)-2) + `) ORDER BY decided_ns, rowid`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			hi, lo, decided int64
			class, rule     string
			weight          float64
		)
		if err := rows.Scan(&hi, &lo, &class, &rule, &weight, &decided); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		id, ok := want[[2]int64{hi, lo}]
		if !ok {
			continue // another trace sharing the high half
		}
		if _, done := out[id]; done {
			continue
		}
		d := loupe.Decision{Project: project, TraceID: id,
			Sample: loupe.Sample{Class: loupe.SampleClass(class), Weight: weight, Rule: rule}}
		if decided != 0 {
			d.Decided = time.Unix(0, decided).UTC()
		}
		out[id] = d
	}
	return rows.Err()
}
